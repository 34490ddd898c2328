"""``make demo``: generate the synthetic dealer group, start the API sandbox and the local
notification receivers, then run the pipeline exactly as ``make run`` does
(:func:`dealerfunnel.cli.run_pipeline`) and print what the receivers caught.
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from dealerfunnel.cli import run_pipeline
from dealerfunnel.settings import ConfigError, landing_dir


def print_captured(webhook, smtp) -> None:
    """What the demo's local webhook and SMTP receivers caught, one line per message."""
    print(
        f"\nNotifications captured: {len(webhook.requests)} webhook calls, "
        f"{len(smtp.messages)} e-mails"
    )
    for request in webhook.requests:
        body = request.body if isinstance(request.body, dict) else {}
        markdown = body.get("markdown") or {}
        text = body.get("title") or (
            body.get("text") or markdown.get("content") or markdown.get("text") or ""
        )
        _, channel, recipient, *_ = [*request.path.split("/"), "", ""]
        print(
            f"  {channel:9} {recipient:16} {str(text).splitlines()[0].lstrip('# ') if text else ''}"
        )
    for mail in smtp.messages:
        print(f"  {'email':9} {','.join(mail.recipients):16} {mail.subject}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dealerfunnel_demo")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument(
        "--verbose", action="store_true", help="show Airflow/dbt/GX logs instead of a log file"
    )
    args = parser.parse_args(argv)
    captured: list = []

    def generate_group(url: str) -> None:
        from dealerfunnel_demo.synth import generate

        started = time.monotonic()
        landing = landing_dir()
        if not isinstance(landing, Path):
            raise ConfigError("LANDING_DIR: make demo generates into a local folder, not a URL")
        manifest = generate(landing, seed=args.seed, n_leads=args.leads)
        print(
            f"synthetic dealer group: {manifest['totals']} into {landing} "
            f"({time.monotonic() - started:.1f}s)",
            flush=True,
        )

    def start_services(stack: ExitStack) -> dict[str, str]:
        from dealerfunnel_demo.receivers import local_receivers
        from dealerfunnel_demo.sandbox import DataSpec, World, build_sandbox, run_sandbox

        # the notification Connections point at local receivers, the connectors' at the sandbox
        captured.extend(stack.enter_context(local_receivers()))
        sandbox = stack.enter_context(run_sandbox(build_sandbox(World(DataSpec(seed=args.seed)))))
        print(f"  API sandbox: {sandbox.base_url}", flush=True)
        return sandbox.airflow_env()

    return run_pipeline(
        "demo",
        verbose=args.verbose,
        prepare=generate_group,
        environment=start_services,
        after=lambda: print_captured(*captured),
    )


if __name__ == "__main__":
    sys.exit(main())

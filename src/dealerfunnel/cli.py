"""Command line: ``python -m dealerfunnel.cli {run,check-warehouse,stop-warehouse}``.

``run`` runs every DAG through Airflow itself (``dag.test()`` on a migrated metadata DB under
``<data_dir>/airflow``) over whatever ``$LANDING_DIR`` holds and the APIs whose Airflow
Connections are configured, then prints the funnel, the open alerts and the report paths.
``make demo`` (``python -m dealerfunnel_demo``, outside this package) wraps :func:`run_pipeline`
with generated data, the API sandbox and local notification receivers.

The warehouse is ``WAREHOUSE_URL`` when set, else an embedded PostgreSQL (see
``dealerfunnel.warehouse.embedded``). An unreachable warehouse exits with status 2 and one line
naming host and database, password masked.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from dealerfunnel.settings import (
    ConfigError,
    dags_dir,
    data_dir,
    plugins_dir,
    reports_dir,
)
from dealerfunnel.warehouse.connection import (
    WarehouseUnreachable,
    airflow_connection_json,
    check_reachable,
    mask_url,
)

DAG_ORDER = (
    "dealer_exports_extract",
    "extract_ad_platforms",
    "funnel_transform",
    "funnel_alerts",
)
# Airflow Connections of the API connectors; `run` skips the API DAG when none is configured.
API_CONNECTIONS = ("META_ADS", "GOOGLE_ADS", "SALESFORCE", "HUBSPOT", "EVENTBRITE")


class DagRunFailed(RuntimeError):
    pass


def airflow_environment(url: str) -> dict[str, str]:
    """Environment for an in-process Airflow: local metadata DB, our DAGs and the Connection."""
    home = data_dir() / "airflow"
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_dir()),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins_dir()),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW_CONN_WAREHOUSE": airflow_connection_json(url),
        "DEALERFUNNEL_RETRY_DELAY_SECONDS": "2",
    }


@contextmanager
def output_to_log(log_path: Path | None) -> Iterator[TextIO]:
    """Send everything written to fd 1 and 2 (Airflow, dbt and GX logs) to ``log_path``.

    Yields a stream to the original terminal for progress lines. ``None`` captures nothing.
    """
    if log_path is None:
        yield sys.stdout
        return
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    console = os.fdopen(os.dup(saved_out), "w", buffering=1)
    with log_path.open("ab") as log_file:
        os.dup2(log_file.fileno(), 1)
        os.dup2(log_file.fileno(), 2)
        try:
            yield console
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
            console.close()


def run_dags(
    url: str, dag_ids: tuple[str, ...] = DAG_ORDER, *, console: TextIO | None = None
) -> dict[str, str]:
    """Run the DAGs in order with ``dag.test()``; raise :class:`DagRunFailed` on a failed run."""
    console = console or sys.stdout
    env = airflow_environment(url)
    for key, value in env.items():
        if key in ("AIRFLOW_HOME", "AIRFLOW_CONN_WAREHOUSE"):
            os.environ[key] = value
        else:
            os.environ.setdefault(key, value)
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)

    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils import db

    db.initdb()
    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        raise DagRunFailed(f"DAG import errors: {bag.import_errors}")
    states: dict[str, str] = {}
    for dag_id in dag_ids:
        started = time.monotonic()
        dag_run = bag.get_dag(dag_id).test()
        state = str(dag_run.state)
        states[dag_id] = state
        print(f"  {dag_id}: {state} in {time.monotonic() - started:.1f}s", file=console)
        if state != "success":
            failed = [ti.task_id for ti in dag_run.get_task_instances() if ti.state == "failed"]
            raise DagRunFailed(f"DAG {dag_id} ended {state}; failed tasks: {failed}")
    return states


def print_summary(url: str) -> None:
    from dealerfunnel.alerts.episodes import format_alert, open_alerts
    from dealerfunnel.reporting import format_funnel, last_weeks_funnel

    print("\nFunnel per dealer, last four weekly cohorts (all channels):\n")
    print(format_funnel(last_weeks_funnel(url)))
    alerts = open_alerts(url)
    print(f"\nOpen alerts: {len(alerts)}")
    for alert in alerts:
        print("  " + format_alert(alert))
    print("\nReports:")
    gx_docs = data_dir() / "gx" / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    dbt_docs = data_dir() / "dbt" / "docs" / "index.html"
    for label, path in (("GX Data Docs", gx_docs), ("dbt docs", dbt_docs)):
        print(f"  {label}: {path}{'' if path.exists() else '  (missing)'}")


def run_pipeline(
    command: str,
    *,
    verbose: bool = False,
    prepare: Callable[[str], None] | None = None,
    environment: Callable[[ExitStack], dict[str, str]] | None = None,
    after: Callable[[], None] | None = None,
) -> int:
    """Resolve and check the warehouse, run the DAGs, print the summary; return an exit code.

    ``prepare(url)`` runs once the warehouse is ready (the demo generates its data there);
    ``environment(stack)`` may start services on ``stack`` and returns the environment that
    points Airflow Connections at them (then every DAG runs); ``after()`` prints extra lines.
    An unreachable warehouse or a bad setting exits 2 with one line; a failed DAG exits 1.
    """
    try:
        from dealerfunnel.warehouse import ensure_schema, resolve_warehouse_url

        url = resolve_warehouse_url()
        check_reachable(url)
        print(f"warehouse: {mask_url(url)}", flush=True)
        if command == "check-warehouse":
            return 0
        ensure_schema(url)
        if prepare is not None:
            prepare(url)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        log_path = None if verbose else data_dir() / "logs" / f"{command}-{stamp}.log"
        print("running DAGs through Airflow (dag.test):", flush=True)
        if log_path:
            print(f"  task logs: {log_path}", flush=True)
        with ExitStack() as stack:
            dag_ids = DAG_ORDER
            if environment is not None:
                os.environ.update(environment(stack))
            elif not any(os.environ.get(f"AIRFLOW_CONN_{c}") for c in API_CONNECTIONS):
                print("  no API Connections configured: extract_ad_platforms skipped", flush=True)
                dag_ids = tuple(d for d in DAG_ORDER if d != "extract_ad_platforms")
            with output_to_log(log_path) as console:
                run_dags(url, dag_ids, console=console)
            reports_dir().mkdir(parents=True, exist_ok=True)
            print_summary(url)
            if after is not None:
                after()
    except WarehouseUnreachable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except DagRunFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dealerfunnel")
    parser.add_argument("command", choices=["run", "check-warehouse", "stop-warehouse"])
    parser.add_argument(
        "--verbose", action="store_true", help="show Airflow/dbt/GX logs instead of a log file"
    )
    args = parser.parse_args(argv)
    if args.command == "stop-warehouse":
        from dealerfunnel.warehouse.embedded import stop_embedded

        stop_embedded()
        return 0
    return run_pipeline(args.command, verbose=args.verbose)


if __name__ == "__main__":
    sys.exit(main())

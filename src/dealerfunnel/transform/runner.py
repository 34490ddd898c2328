"""Run the dbt CLI of this virtual environment against the warehouse.

dbt runs in a subprocess: it keeps global state and is not safe to run twice in one process.
The connection reaches dbt through ``DBT_PG_*`` environment variables read by
``dbt_project/profiles.yml``, and the PII hash key's HMAC pads through ``PGOPTIONS``; neither
is ever put on a command line, in SQL or in a log.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
from pathlib import Path

from dealerfunnel.access.pii import pii_key, session_options
from dealerfunnel.settings import data_dir, dbt_project_dir
from dealerfunnel.warehouse.connection import libpq_options, url_parts

log = logging.getLogger(__name__)

# Session settings of every dbt connection. JIT off: the models are large multi-CTE queries whose
# estimated cost is far above jit_above_cost, so PostgreSQL compiles hundreds of functions per
# statement, which takes longer than it saves (at 200,000 leads, A/B on the same tables:
# int_sla_checks_evaluated 10.7 s -> 7.8 s, fct_leads 4.1 s -> 2.4 s; BENCHMARKS.md).
# (work_mem is left to the server: 256MB instead of the default 4MB kept the sorts and hashes in
# memory but made the whole build 7 s slower at 200,000 leads, in both orders of an A/B;
# BENCHMARKS.md. A -c in PGOPTIONS or the warehouse URL's options comes after these and wins.)
DBT_SESSION_OPTIONS = "-c jit=off"


class DbtFailed(RuntimeError):
    """A dbt command exited non-zero; the message holds the tail of its output."""


def dbt_env(url: str) -> dict[str, str]:
    parts = url_parts(url)
    env = dict(os.environ)
    env.update(
        DBT_PG_HOST=parts["host"],
        DBT_PG_PORT=parts["port"],
        DBT_PG_USER=parts["user"],
        DBT_PG_PASSWORD=parts["password"],
        DBT_PG_DBNAME=parts["dbname"],
        DBT_PROFILES_DIR=str(dbt_project_dir()),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    # the PII hash key reaches dbt's sessions as settings, never as SQL text (access.pii); the
    # URL's own options (its session role: dbt works as the transformer) go the same way
    # (the defaults first: a later -c of the same setting, in PGOPTIONS or the URL, wins)
    options = [
        DBT_SESSION_OPTIONS,
        env.get("PGOPTIONS", ""),
        libpq_options(url),
        session_options(pii_key()),
    ]
    env["PGOPTIONS"] = " ".join(o for o in options if o)
    return env


def dbt_executable() -> str:
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


def run_dbt(
    args: list[str],
    url: str,
    *,
    target_path: Path | None = None,
    vars_: dict | None = None,
) -> str:
    """Run ``dbt <args>`` in the project folder and return its output; raise :class:`DbtFailed`.

    ``target_path`` defaults to ``<data_dir>/dbt/target`` so artifacts stay out of the repo.
    """
    import json

    target = target_path or data_dir() / "dbt" / "target"
    command = [dbt_executable(), *args, "--target-path", str(target)]
    if vars_:
        command += ["--vars", json.dumps(vars_)]
    env = dbt_env(url)
    env["DBT_LOG_PATH"] = str(target.parent / "logs")
    log.info("running %s", " ".join(command))
    proc = subprocess.run(
        command,
        cwd=dbt_project_dir(),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    output = proc.stdout + proc.stderr
    for line in output.splitlines():
        log.info("dbt | %s", line)
    if proc.returncode != 0:
        tail = "\n".join(output.splitlines()[-40:])
        raise DbtFailed(f"dbt {' '.join(args)} failed (exit {proc.returncode}):\n{tail}")
    return output


def project_digest(folders: tuple[str, ...]) -> hashlib._Hash:
    """A SHA-256 (to go on updating) of dbt's version, ``dbt_project.yml`` and every file under
    the dbt project's ``folders``, each by its path and bytes, in a stable order."""
    from dbt.version import __version__ as dbt_version

    project = dbt_project_dir()
    digest = hashlib.sha256()
    digest.update(f"dbt {dbt_version}\n".encode())
    paths = [project / "dbt_project.yml"]
    for folder in folders:
        paths += sorted(p for p in (project / folder).rglob("*") if p.is_file())
    for path in paths:
        digest.update(path.relative_to(project).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest

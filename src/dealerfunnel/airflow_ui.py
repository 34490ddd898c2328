"""``make airflow``: the Airflow UI as the engineer's window onto the pipeline, locally.

Airflow's own ``airflow standalone`` starts the api-server (UI and REST API, with the report
view of ``plugins/dealerfunnel_reports.py``), the scheduler, the dag-processor and the
triggerer, with the LocalExecutor, on the CLI's Airflow environment (``<data_dir>/airflow``:
its metadata DB, so the runs of ``make demo`` / ``make run`` show there too; the project's
DAGs and plugins). The warehouse is ``WAREHOUSE_URL`` when set, else the embedded PostgreSQL,
handed to the tasks as the Airflow Connection ``warehouse``.

:func:`serve` waits until the UI answers and every component heartbeats, prints the URL and
the login (user ``admin``; its password is generated once into
``<data_dir>/airflow/passwords.json``, which Airflow's SimpleAuthManager reads), and stops
every component cleanly on Ctrl-C (or SIGTERM): SIGINT to ``airflow standalone``, which stops
its components, then whatever is left of its process group. The components' output goes to
``<data_dir>/logs/airflow-standalone.log``. The UI listens on 127.0.0.1 only. New DAGs start
paused (Airflow's default): nothing runs against the warehouse until someone unpauses a DAG.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TextIO

from dealerfunnel.settings import data_dir, reports_dir

DEFAULT_PORT = 8080
USER = "admin"
SIMPLE_AUTH_MANAGER = (
    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
)
READY_LINE = "Airflow is ready"
START_TIMEOUT_SECONDS = 300
STOP_TIMEOUT_SECONDS = 60


def _secret_file(path: Path, make: Callable[[], dict[str, str]]) -> dict[str, str]:
    """A small JSON file of secrets, created (mode 0600) the first time."""
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    value = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(value, out)
    return value


def admin_password(home: Path) -> str:
    """The ``admin`` password, generated once into ``<home>/passwords.json`` (the file
    SimpleAuthManager reads: ``{"admin": "..."}``)."""
    users = _secret_file(home / "passwords.json", lambda: {USER: secrets.token_urlsafe(12)})
    return users[USER]


def ui_environment(port: int, warehouse_url: str, home: Path) -> dict[str, str]:
    """What ``airflow standalone`` and its components need on top of the CLI's environment:
    the port, the execution API, one JWT and session secret for every component (kept in
    ``<home>/secrets.json``), the SimpleAuthManager user and the warehouse Connection."""
    from dealerfunnel.warehouse.connection import airflow_connection_json

    keys = _secret_file(
        home / "secrets.json",
        lambda: {"jwt_secret": secrets.token_hex(32), "secret_key": secrets.token_hex(32)},
    )
    base = f"http://127.0.0.1:{port}"
    bin_dir = str(Path(sys.executable).parent)
    return {
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": base,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__API_AUTH__JWT_SECRET": keys["jwt_secret"],
        "AIRFLOW__API__SECRET_KEY": keys["secret_key"],
        "AIRFLOW_CONN_WAREHOUSE": airflow_connection_json(warehouse_url),
        # standalone starts its components as `airflow ...`: ours, from this environment
        "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")]),
    }


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
            return response.status == 200
    except OSError:
        return False


def _tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def stop(proc: subprocess.Popen, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """SIGINT to ``airflow standalone`` (it stops its components), then SIGTERM and at last
    SIGKILL to whatever of its process group is still running."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 0.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
    proc.wait()


def serve(port: int = DEFAULT_PORT, *, out: TextIO | None = None) -> int:
    """Start the Airflow components, print the URL and login, wait for Ctrl-C, stop them.

    Returns 0 after a clean stop, 1 when a component did not start, 2 when the warehouse is
    unreachable or a setting is wrong.
    """
    from dealerfunnel.cli import configure_airflow

    out = out or sys.stdout
    configure_airflow()
    from dealerfunnel.settings import ConfigError
    from dealerfunnel.warehouse.connection import (
        WarehouseUnreachable,
        check_reachable,
        mask_url,
        resolve_warehouse_url,
    )

    try:
        url = resolve_warehouse_url()
        check_reachable(url)
    except (WarehouseUnreachable, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    home = Path(os.environ["AIRFLOW_HOME"])
    password = admin_password(home)
    reports_dir().mkdir(parents=True, exist_ok=True)  # the report view serves this folder
    env = {**os.environ, **ui_environment(port, url, home)}
    log_path = data_dir() / "logs" / "airflow-standalone.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"warehouse: {mask_url(url)}", file=out, flush=True)
    components = "api-server, scheduler, dag-processor, triggerer"
    print(f"starting Airflow ({components}); log: {log_path}", file=out, flush=True)
    stopping: list[int] = []

    def request_stop(signum, _frame) -> None:
        stopping.append(signum)

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    with log_path.open("ab") as log:
        offset = log.tell()
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("airflow")), "standalone"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches this process, which stops it in order
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not stopping:
            if proc.poll() is not None:
                print(f"error: Airflow exited early:\n{_tail(log_path)}", file=sys.stderr)
                return 1
            started = READY_LINE in log_path.read_bytes()[offset:].decode(errors="replace")
            if started and _answers(f"{base}/api/v2/version"):
                break
            if time.monotonic() > deadline:
                print(f"error: Airflow did not start:\n{_tail(log_path)}", file=sys.stderr)
                return 1
            time.sleep(1)
        if not stopping:
            print(f"Airflow UI: {base}/", file=out)
            print(f"login: {USER} / {password}", file=out)
            print(f"report view: {base}/plugin/funnel-reports", file=out)
            print("DAGs start paused; Ctrl-C stops every component.", file=out, flush=True)
        while not stopping and proc.poll() is None:
            time.sleep(0.5)
        if proc.poll() is not None and not stopping:
            print(f"error: Airflow exited:\n{_tail(log_path)}", file=sys.stderr)
            return 1
    finally:
        print("stopping Airflow ...", file=out, flush=True)
        stop(proc)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("Airflow stopped.", file=out, flush=True)
    return 0

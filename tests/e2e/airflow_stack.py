"""Start a real Airflow 3 deployment as plain processes on loopback, for tests.

api-server (execution API for task runners), scheduler, dag-processor and a Celery worker
(broker: the machine's Redis), metadata DB on the test PostgreSQL server. Everything runs in
its own process group and is killed on exit; each service's output goes to a log file whose
tail is attached to failures.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from dealerfunnel_demo.databases import with_database

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {
    "api-server": ["api-server", "--port", "{port}", "--host", "127.0.0.1"],
    "scheduler": ["scheduler"],
    "dag-processor": ["dag-processor"],
    "worker": ["celery", "worker", "--concurrency", "2"],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    env: dict[str, str]
    home: Path
    metadata_url: str
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def airflow(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(Path(sys.executable).with_name("airflow")), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def logs(self, lines: int = 40) -> str:
        out = []
        for name in self.processes:
            path = self.home / f"{name}.log"
            tail = path.read_text(errors="replace").splitlines()[-lines:] if path.exists() else []
            out.append(f"--- {name} ---\n" + "\n".join(tail))
        return "\n".join(out)

    def dag_runs(self) -> list[tuple[str, str, str]]:
        with psycopg.connect(self.metadata_url) as conn:
            return conn.execute(
                "select dag_id, run_type, state from dag_run order by id"
            ).fetchall()


@contextmanager
def airflow_stack(server_url: str, extra_env: dict[str, str], tmp: Path) -> Iterator[Stack]:
    """Yield a running stack whose metadata DB is a fresh database on ``server_url``."""
    metadata_db = f"airflow_meta_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'create database "{metadata_db}"')
    metadata_url = with_database(server_url, metadata_db)
    sqlalchemy_url = "postgresql+psycopg2://" + metadata_url.partition("://")[2]
    port = free_port()
    home = tmp / "airflow_home"
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        AIRFLOW_HOME=str(home),
        PYTHONPATH=str(ROOT / "tools"),
        DEALERFUNNEL_HOME=str(ROOT),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{port}/execution/",
        AIRFLOW__API__PORT=str(port),
        AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_hex(16),
        AIRFLOW__API__SECRET_KEY=secrets.token_hex(16),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=sqlalchemy_url,
        AIRFLOW__CELERY__BROKER_URL=f"redis://127.0.0.1:6379/{1 + port % 14}",
        AIRFLOW__CELERY__RESULT_BACKEND="db+" + sqlalchemy_url,
        AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
        AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME="0.5",
        AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(home / "logs"),
        DEALERFUNNEL_RETRY_DELAY_SECONDS="2",
        **extra_env,
    )
    stack = Stack(env=env, home=home, metadata_url=metadata_url)
    try:
        migrated = stack.airflow("db", "migrate", timeout=300)
        if migrated.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed:\n{migrated.stderr[-3000:]}")
        for name, args in SERVICES.items():
            log = (home / f"{name}.log").open("wb")
            stack.processes[name] = subprocess.Popen(
                [str(Path(sys.executable).with_name("airflow"))]
                + [a.format(port=port) for a in args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_http(port, stack)
        yield stack
    finally:
        for proc in stack.processes.values():
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in stack.processes.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{metadata_db}" with (force)')


def _wait_http(port: int, stack: Stack, timeout: float = 120) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in stack.processes.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited early:\n{stack.logs()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/version", timeout=2):
                return
        except OSError:
            time.sleep(1)
    raise RuntimeError(f"api-server did not answer on port {port}:\n{stack.logs()}")


def cli_env(url: str, tmp: Path, landing: Path, **extra: str) -> dict[str, str]:
    """The environment of a ``python -m dealerfunnel.cli run`` subprocess: this one without any
    ``AIRFLOW*`` variable, the repository's code, the warehouse ``url``, a data folder under
    ``tmp``, the ``landing`` folder, and ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT / "tools")]),
        DEALERFUNNEL_HOME=str(ROOT),
        WAREHOUSE_URL=url,
        DEALERFUNNEL_DATA_DIR=str(tmp / "var"),
        LANDING_DIR=str(landing),
        **extra,
    )
    return env

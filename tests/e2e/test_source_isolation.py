"""End to end: one API source down does not hold back the rest of the data (issue #11), and
both forms of ``AIRFLOW_CONN_*`` (JSON, URI) are accepted by ``make run``.

The CLI runs in a subprocess (``python -m dealerfunnel.cli run``) over a small generated
landing folder, against a fresh database of the test server.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg
import pytest

from dealerfunnel_demo.databases import with_database
from dealerfunnel_demo.sandbox import DataSpec, World, build_sandbox, run_sandbox
from dealerfunnel_demo.synth import generate

from .test_pipeline import expected_weekly

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e

# Short budgets so the test is quick; the bound asserted is derived from them.
CONNECT_TIMEOUT = 2.0
TOTAL_SECONDS = 15.0
SENTINEL_PASSWORD = "hs/Secret+pw=@:%x9"


def _closed_port() -> int:
    """A TCP port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_cli(url: str, tmp: Path, landing: Path, extra_env: dict[str, str]):
    env = dict(os.environ)
    for key in [k for k in env if k.startswith("AIRFLOW")]:
        env.pop(key)
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT / "tools")]),
        DEALERFUNNEL_HOME=str(ROOT),
        WAREHOUSE_URL=url,
        DEALERFUNNEL_DATA_DIR=str(tmp / "var"),
        LANDING_DIR=str(landing),
        DEALERFUNNEL_HTTP_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT),
        DEALERFUNNEL_HTTP_TOTAL_SECONDS=str(TOTAL_SECONDS),
        **extra_env,
    )
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "dealerfunnel.cli", "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        cwd=ROOT,
    )
    return proc, time.monotonic() - started


@pytest.fixture
def database(server_url):
    dbname = f"dealerfunnel_iso_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'create database "{dbname}"')
    yield with_database(server_url, dbname)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{dbname}" with (force)')


def _logs(tmp: Path) -> str:
    return "\n".join(
        p.read_text(errors="replace") for p in (tmp / "var").rglob("*.log") if p.is_file()
    )


def test_one_api_down_fails_fast_and_the_dealer_files_reach_the_marts(tmp_path, database):
    landing = tmp_path / "landing"
    generate(landing, n_leads=300, start=date(2026, 8, 3), weeks=4)
    port = _closed_port()
    hubspot = {
        "conn_type": "http",
        "host": f"http://127.0.0.1:{port}",
        "password": SENTINEL_PASSWORD,
    }
    proc, wall = _run_cli(
        database, tmp_path, landing, {"AIRFLOW_CONN_HUBSPOT": json.dumps(hubspot)}
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-4000:]
    # one clear line on stderr naming the source and its connection, no secret
    error_lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, proc.stderr[-3000:]
    line = error_lines[0]
    assert "API source hubspot failed" in line and "connection 'hubspot'" in line, line
    assert f"127.0.0.1:{port}" in line and "SourceUnreachable" in line, line
    print(f"\nfailure line: {line}")
    for text in (out, _logs(tmp_path)):
        assert SENTINEL_PASSWORD not in text and quote(SENTINEL_PASSWORD, safe="") not in text
    # the rest of the cycle ran: the marts were built from the dealer files
    assert "funnel_transform: success" in proc.stdout, out[-4000:]
    assert "funnel_alerts: success" in proc.stdout, out[-4000:]
    expected_leads = sum(p for p, _, _ in expected_weekly(landing).values())
    with psycopg.connect(database) as conn:
        fct_leads = conn.execute("select count(*) from marts.fct_leads").fetchone()[0]
        failures = conn.execute(
            "select object, dealer_code, extract(epoch from finished_at - started_at),"
            " started_at, finished_at, detail from ops.load_batches"
            " where source = 'hubspot' and status = 'failed' order by started_at"
        ).fetchall()
        other_failures = conn.execute(
            "select count(*) from ops.load_batches where status = 'failed' and source <> 'hubspot'"
        ).fetchone()[0]
        outage_alerts = conn.execute(
            "select dealer_code, subject, status from ops.alerts"
            " where rule = 'source_silent' and status = 'open'"
        ).fetchall()
        freshness = conn.execute(
            "select source, bool_or(is_outage) from marts.mart_source_freshness group by 1"
        ).fetchall()
    assert fct_leads == expected_leads > 0
    assert other_failures == 0  # unconfigured APIs are not extracted, so they cannot fail
    # every hubspot work item is recorded as failed, with its error class and no secret
    assert failures, "no failure recorded"
    for _, _, _, _, _, detail in failures:
        assert detail["error_class"] == "SourceUnreachable" and detail["conn_id"] == "hubspot"
        assert SENTINEL_PASSWORD not in json.dumps(detail)
    longest = max(float(seconds) for _, _, seconds, *_ in failures)
    span = (failures[-1][4] - failures[0][3]).total_seconds()
    print(
        f"\noutage run: {wall:.0f}s wall; hubspot: {len(failures)} failed task attempts, "
        f"longest {longest:.1f}s, first start to last failure {span:.1f}s "
        f"(budget {TOTAL_SECONDS:g}s per call); marts.fct_leads = {fct_leads} dealer-file leads"
    )
    assert longest < 3 * TOTAL_SECONDS
    # the outage is alerted per dealer of the configured source, and only for it
    assert outage_alerts and all(s == "source=hubspot" for _, s, _ in outage_alerts)
    # the freshness mart knows only the sources that delivered or were extracted: the dealer
    # files (fresh) and the configured, unreachable hubspot (outage); no unconfigured API
    assert dict(freshness) == {"dealer_export": False, "hubspot": True}, freshness


def _uri(conn: dict) -> str:
    """The URI form of a sandbox Connection: its base URL (with a path) as ``extra.base_url``."""
    base = conn["host"]
    netloc = base.split("://", 1)[1].split("/", 1)[0]
    extra = {"base_url": base, **(conn.get("extra") or {})}
    password = f":{quote(conn['password'], safe='')}" if conn.get("password") else ""
    user = "sandbox" if password else ""
    auth = f"{user}{password}@" if user else ""
    return f"http://{auth}{netloc}/?{urlencode(extra)}"


# The JSON form is what every sandbox-backed test and `make demo` use (sandbox.airflow_env());
# one whole pipeline run checks the URI form, the other documented way to configure an API.
@pytest.mark.parametrize("form", ["uri"])
def test_airflow_conn_forms_are_accepted(tmp_path, database, form):
    landing = tmp_path / "landing"
    generate(landing, n_leads=300, start=date(2026, 8, 3), weeks=4)
    world = World(DataSpec(start=date(2026, 8, 3), weeks=4, leads_per_week=2.0))
    with run_sandbox(build_sandbox(world)) as sandbox:
        conn = sandbox.connections()["salesforce"]
        value = json.dumps(conn) if form == "json" else _uri(conn)
        proc, wall = _run_cli(database, tmp_path, landing, {"AIRFLOW_CONN_SALESFORCE": value})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "extract_ad_platforms: success" in proc.stdout, out[-4000:]
    with psycopg.connect(database) as conn_:
        sf_leads = conn_.execute("select count(*) from raw.salesforce__leads").fetchone()[0]
        other_api = conn_.execute(
            "select count(*) from ops.load_batches where source in"
            " ('meta', 'google_ads', 'hubspot', 'eventbrite')"
        ).fetchone()[0]
        marts = conn_.execute("select count(*) from marts.fct_leads").fetchone()[0]
    print(f"\n{form}: {wall:.0f}s, raw.salesforce__leads={sf_leads}, marts.fct_leads={marts}")
    assert sf_leads > 0 and marts > 0 and other_api == 0

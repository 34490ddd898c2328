"""End to end: one API source down does not hold back the rest of the data (issue #11), and
both forms of ``AIRFLOW_CONN_*`` (JSON, URI) are accepted by ``make run``.

The CLI runs in a subprocess (``python -m dealerfunnel.cli run``) over a small generated
landing folder, against a fresh database of the test server.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from datetime import date
from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg
import pytest
from psycopg import sql

from dealerfunnel.warehouse.connection import parse_warehouse_url
from dealerfunnel_demo.databases import with_database
from dealerfunnel_demo.sandbox import DataSpec, World, build_sandbox, run_sandbox
from dealerfunnel_demo.synth import generate

from .airflow_stack import cli_env
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
    env = cli_env(
        url,
        tmp,
        landing,
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


# Sentinel secrets: one per secret of every Connection. Each holds an alphanumeric core, so
# any raw, URL-encoded or JSON-escaped copy (or a fragment, like the tail of a password cut at
# an unescaped "@") contains the core; base64 copies are searched for the core's base64 at the
# three byte alignments it can take inside a longer value.
_RUN = uuid.uuid4().hex[:12]


def _sentinel(name: str, tail: str = "/+=@:%x9") -> tuple[str, str]:
    core = f"SNTL{name.replace('_', '')}{_RUN}"
    return core, f"{core}{tail}"


def _base64_fragments(core: str) -> set[str]:
    fragments = set()
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * shift + core.encode()).decode()
            fragments.add(text[4 if shift else 0 : -4])  # the part only the core decides
    return fragments


def _sentinel_hits(sentinels: dict[str, str], tmp: Path, texts: dict[str, str], url: str):
    """Every place a sentinel (any encoding) shows: files under the data folder, the given
    texts, and every column (as text) of every table and view of the pipeline's database."""
    patterns = {}
    for name, core in sentinels.items():
        patterns[core] = name
        patterns.update({fragment: f"{name} (base64)" for fragment in _base64_fragments(core)})
    hits: list[tuple[str, str]] = []
    places = {"files": 0, "columns": 0, "values": 0}
    for path in sorted(p for p in (tmp / "var").rglob("*") if p.is_file()):
        data = path.read_bytes()
        places["files"] += 1
        hits += [(str(path), who) for pat, who in patterns.items() if pat.encode() in data]
    for where, text in texts.items():
        hits += [(where, who) for pat, who in patterns.items() if pat in text]
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            "select table_schema, table_name, column_name from information_schema.columns"
            " where table_schema not in ('pg_catalog', 'information_schema')"
            " order by 1, 2, ordinal_position"
        ).fetchall()
        for schema, table, column in columns:
            query = sql.SQL("select {}::text from {} where {} is not null").format(
                sql.Identifier(column), sql.Identifier(schema, table), sql.Identifier(column)
            )
            places["columns"] += 1
            for (value,) in conn.execute(query):
                places["values"] += 1
                found = [who for pat, who in patterns.items() if pat in value]
                hits += [(f"{schema}.{table}.{column}", who) for who in found]
    return hits, places


# The JSON form is what every sandbox-backed test and `make demo` use (sandbox.airflow_env());
# this whole pipeline run gives Salesforce in the URI form, the other documented way to
# configure an API, and the other sources in the JSON form. Every secret of every Connection
# (the five sources, the warehouse password, the PII hash key) is a sentinel; none may show in
# a log, an artifact (dbt target and docs, GX Data Docs, report pages, the Airflow metadata
# DB) or a table. The run also shows the tasks working as the loader and the transformer.
def test_every_api_form_runs_and_no_secret_leaks_anywhere(tmp_path, server_url):
    landing = tmp_path / "landing"
    generate(landing, n_leads=300, start=date(2026, 8, 3), weeks=4)
    names = {
        "meta_access_token": "meta",
        "google_developer_token": "gdev",
        "google_client_secret": "gsecret",
        "google_refresh_token": "grefresh",
        "salesforce_client_secret": "sfsecret",
        "salesforce_refresh_token": "sfrefresh",
        "hubspot_access_token": "hubspot",
        "eventbrite_token": "eventbrite",
    }
    credentials = dict(DataSpec().credentials)
    cores = {}
    for key, name in names.items():
        cores[name], credentials[key] = _sentinel(name)
    cores["warehouse"], wh_password = _sentinel("warehouse")
    cores["pii"], pii_key = _sentinel("pii", '/+=@:%"\\ü-0123456789')
    dbname = f"dealerfunnel_sntl_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'create database "{dbname}"')
    admin_url = with_database(server_url, dbname)
    parsed = parse_warehouse_url(admin_url)  # the test server trusts; the password still flows
    database = replace(parsed, password=wh_password).libpq()
    world = World(
        DataSpec(start=date(2026, 8, 3), weeks=4, leads_per_week=2.0, credentials=credentials)
    )
    try:
        with run_sandbox(build_sandbox(world)) as sandbox:
            env = sandbox.airflow_env()
            env["AIRFLOW_CONN_SALESFORCE"] = _uri(sandbox.connections()["salesforce"])
            env["AIRFLOW_CONN_PII_HASH_KEY"] = json.dumps(
                {"conn_type": "generic", "password": pii_key}
            )
            env["DEALERFUNNEL_PII_KEY"] = ""  # the key comes from its Connection only
            proc, wall = _run_cli(database, tmp_path, landing, env)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out[-4000:]
        assert "extract_ad_platforms: success" in proc.stdout, out[-4000:]
        with psycopg.connect(admin_url) as conn_:
            loaded = dict(
                conn_.execute(
                    "select source, sum(rows_loaded) from ops.load_batches"
                    " where status = 'loaded' group by 1"
                ).fetchall()
            )
            marts = conn_.execute("select count(*) from marts.fct_leads").fetchone()[0]
            loaded_by = conn_.execute("select distinct loaded_by from ops.load_batches").fetchall()
            checked_by = conn_.execute(
                "select distinct checked_by from ops.quality_runs"
                " where checkpoint in ('raw_gate', 'dbt_build', 'mart_gate')"
            ).fetchall()
            owners = conn_.execute(
                "select distinct tableowner from pg_tables where schemaname = 'marts'"
            ).fetchall()
            roles = conn_.execute(
                "select rolname from pg_roles where rolname like 'dealerfunnel\\_%' order by 1"
            ).fetchall()
        hits, places = _sentinel_hits(
            cores, tmp_path, {"stdout": proc.stdout, "stderr": proc.stderr}, admin_url
        )
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{dbname}" with (force)')
    print(
        f"\nall APIs (salesforce as URI): {wall:.0f}s, rows loaded per source {loaded},"
        f" marts.fct_leads={marts}; tasks worked as {loaded_by} (loads) and {checked_by} (gates)"
    )
    print(
        f"sentinels: {len(cores)} secrets searched in {places['files']} files, stdout/stderr,"
        f" {places['columns']} columns ({places['values']} values): {len(hits)} found {hits[:10]}"
    )
    assert {"meta", "google_ads", "salesforce", "hubspot", "eventbrite", "dealer_export"} <= {
        source for source, rows in loaded.items() if rows
    }, loaded
    assert marts > 0
    # least privilege in practice: loads as the loader, dbt and the gates as the transformer
    assert loaded_by == [("dealerfunnel_loader",)]
    assert checked_by == [("dealerfunnel_transformer",)]
    assert owners == [("dealerfunnel_transformer",)]
    assert [r[0] for r in roles] == [
        "dealerfunnel_dealer_reader",
        "dealerfunnel_hq_reader",
        "dealerfunnel_loader",
        "dealerfunnel_transformer",
    ]
    assert "How to connect a BI tool" in proc.stdout and "make roles HQ=" in proc.stdout
    assert places["files"] > 50 and places["values"] > 1000
    assert hits == []

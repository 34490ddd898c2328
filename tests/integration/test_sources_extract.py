"""Connectors against the API sandbox and a real PostgreSQL: paging, incremental runs, faults,
crash-resume, auth failure and schema drift. Nothing in the HTTP layer or the DB is mocked."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import test_sources_support as h

from dealerfunnel.sources import AuthFailed
from dealerfunnel.sources.loader import PHASES
from dealerfunnel_demo.sandbox import Faults, run_sandbox

pytestmark = pytest.mark.timeout(180)
TOOLS = Path(__file__).resolve().parents[2] / "tools"


@pytest.fixture
def sandbox():
    world = h.make_world()
    with run_sandbox(h.make_sandbox(world, Faults())) as running:
        yield running


def test_paging_lands_everything_and_counts_balance(sandbox, clean_warehouse):
    url = clean_warehouse
    for table in h.TABLES:
        results = h.extract_table(sandbox, url, table)
        assert sum(r.pages for r in results) > len(results)  # several pages per stream
        h.assert_matches_truth(sandbox, url, table)
    for _source, _obj, rows_in, loaded, quarantined in h.batch_totals(url):
        assert rows_in == loaded + quarantined
    # two lead forms per page, each with its own watermark
    marks = h.watermarks(url)
    assert len([k for k in marks if k[0] == "meta__leads"]) == 4
    assert all(m.get("run") is None for m in marks.values() if "run" in m)


def test_second_run_fetches_only_new_records_and_advances_watermarks(clean_warehouse):
    url = clean_warehouse
    world = h.make_world()
    world.set_now(world.end - timedelta(days=7))
    with run_sandbox(h.make_sandbox(world, Faults())) as running:
        for table in h.TABLES:
            h.extract_table(running, url, table)
        first = h.watermarks(url)
        before = {t: h.truth_rows(running, t) for t in h.TABLES}
        world.set_now(world.end)
        after = {t: h.truth_rows(running, t) for t in h.TABLES}

        for table in ("meta__leads", "google_ads__lead_form_submissions"):
            new = set(after[table]) - set(before[table])
            assert new
            results = h.extract_table(running, url, table)
            # every valid record fetched is a new one (the rest are drifted, quarantined)
            assert sum(r.rows_loaded for r in results) == len(new), table
            assert sum(r.inserted for r in results) == len(new)
            h.assert_matches_truth(running, url, table)

        for table in ("meta__insights", "google_ads__campaign_costs"):
            results = h.extract_table(running, url, table)
            # 3 campaigns x (3 days of lookback + the last day read + 6 new days)
            assert sum(r.rows_in for r in results) == len(results) * 3 * 10
            assert sum(r.updated for r in results) > 0  # provisional days were revised
            h.assert_matches_truth(running, url, table)

        second = h.watermarks(url)
        for key, mark in first.items():
            if key[0] in ("meta__leads",) or key[0] == "google_ads__lead_form_submissions":
                assert second[key]["since"] > mark["since"]
            else:
                assert second[key]["last_date"] > mark["last_date"]

        # a third run with nothing new changes nothing
        snapshot = {t: h.raw_rows(url, t) for t in h.TABLES}
        for table in h.TABLES:
            results = h.extract_table(running, url, table)
            assert sum(r.inserted + r.updated for r in results) == 0
            assert h.raw_rows(url, table) == snapshot[table]


def test_twenty_percent_faults_still_land_exactly_the_truth(clean_warehouse, capsys):
    url = clean_warehouse
    world = h.make_world()
    faults = Faults(
        rate=0.2,
        retry_after="1",
        slow_seconds=0.4,
        duplicate_rate=0.3,
        shuffle=True,
        seed=11,
    )
    sleeps = h.Sleeps()
    options = h.client_options(sleeps, read_timeout=0.2)
    data = h.settings()  # small pages and windows: many requests
    data["meta"]["options"].update(page_size=3, insights_chunk_days=2)
    data["google_ads"]["options"].update(cost_chunk_days=2)
    with run_sandbox(h.make_sandbox(world, faults)) as running:
        rows = 0
        for table in h.TABLES:
            h.extract_table(running, url, table, options=options, data=data)
            rows += h.assert_matches_truth(running, url, table)
        stats = running.sandbox.stats()
    assert stats["requests"] > 150
    assert stats["faults_total"] >= 0.15 * stats["requests"]
    assert set(stats["faults"]) >= {"rate_limit", "server_error", "truncate", "slow", "disconnect"}
    assert 1.0 in sleeps.delays  # Retry-After honoured
    assert stats["duplicates_served"] > 0
    with capsys.disabled():
        print(
            f"\n[fault test] requests={stats['requests']} faults={stats['faults_total']} "
            f"{stats['faults']} duplicates={stats['duplicates_served']} "
            f"shuffled_pages={stats['pages_shuffled']} rows_compared={rows}"
        )


def test_crash_at_every_phase_then_rerun_is_exactly_once(clean_warehouse, capsys):
    """In-process kill points: each of the 4 commit phases at pages 1, 2 and 3 (12 per table),
    each from an empty warehouse; the re-run must land exactly the truth."""
    url = clean_warehouse
    world = h.make_world()
    points = [(phase, page) for page in (1, 2, 3) for phase in PHASES]
    done = 0
    with run_sandbox(h.make_sandbox(world, Faults(duplicate_rate=0.2, seed=3))) as running:
        for table in ("meta__leads", "google_ads__campaign_costs"):
            truth = h.truth_rows(running, table)
            for phase, page in points:
                _reset(url, table)

                with h.kill_point(phase, page), pytest.raises(h.Crash):
                    h.extract_table(running, url, table)
                partial = h.raw_rows(url, table)
                # what is committed is part of the truth, and exactly what the watermark covers
                assert all(truth[k] == v for k, v in partial.items())
                results = h.extract_table(running, url, table)
                assert sum(r.inserted for r in results) == len(truth) - len(partial)
                h.assert_matches_truth(running, url, table)
                done += 1
            with capsys.disabled():
                print(f"\n[crash test] {table}: {len(points)} kill points, rows={len(truth)}")
    assert done == 24
    for _source, _obj, rows_in, loaded, quarantined in h.batch_totals(url):
        assert rows_in == loaded + quarantined


def _reset(url: str, table: str) -> None:
    with psycopg.connect(url) as db:
        db.execute(
            f"truncate raw.{table}, ops.watermarks, ops.quarantine, ops.load_batches cascade"
        )


SUBPROCESS = """
import json, os, sys
from dealerfunnel.sources import registry
from dealerfunnel.sources.config import SourceConnection
from dealerfunnel.sources.httpclient import RetryPolicy
item, url, conn, data = (json.loads(os.environ[k]) for k in ("ITEM", "URL", "CONN", "DATA"))
connection = SourceConnection(conn["conn_id"], conn["host"], conn.get("password"), None,
                              conn.get("extra") or {})
registry.extract(item, url, connection=connection, settings_data=data,
                 client_options={"policy": RetryPolicy(base_delay=0.001, max_delay=0.01)})
"""


def _blocked_on_lock(url: str, table: str) -> bool:
    """Whether some backend waits for a lock on ``raw.<table>`` (the child, mid-transaction)."""
    with psycopg.connect(url) as db:
        return db.execute(
            "select exists (select from pg_locks where not granted and relation = to_regclass(%s))",
            (f"raw.{table}",),
        ).fetchone()[0]


def _wait_for(condition, proc, what: str, timeout: float = 60) -> None:
    """Wait until ``condition()`` holds (an event the child causes), failing if the child
    exits first or nothing happens in ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"the child exited ({proc.returncode}) before {what}"
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.01)


def test_sigkill_at_random_points_then_rerun_is_exactly_once(clean_warehouse, capsys):
    """Out-of-process kill points: SIGKILL an extract (10 runs, each from an empty warehouse)
    at a point it is known to have reached, then re-run in-process and compare with the truth.
    No sleep decides where the kill lands: the sandbox holds the child's k-th API request and
    the test kills once that request has arrived ("http": pages 1..k-1 fully processed); or,
    holding an exclusive lock on the raw table, it releases the request and kills once the
    child waits for that lock inside its write transaction ("db": mid-commit of page k)."""
    url = clean_warehouse
    data = h.settings()
    data["meta"]["options"]["page_size"] = 3
    world = h.make_world()
    rng = random.Random(5)
    kill_points = []
    rows = 0
    with run_sandbox(h.make_sandbox(world, Faults(duplicate_rate=0.2, seed=9))) as running:
        sandbox = running.sandbox
        table = "meta__leads"
        item = h.registry.plan(table, data)[0]
        conn = running.connections()["meta_ads"] | {"conn_id": "meta_ads"}
        env = dict(
            os.environ,
            PYTHONPATH=str(TOOLS),
            ITEM=json.dumps(item),
            URL=json.dumps(url),
            CONN=json.dumps(conn),
            DATA=json.dumps(data),
        )
        truth = {
            k: v
            for k, v in h.truth_rows(running, table).items()
            if k[0] == item["account"]["page_id"]
        }
        for run in range(10):
            _reset(url, table)
            after = rng.randint(1, 14)
            where = ("http", "db")[run % 2]
            sandbox.hold(sandbox.requests + after)
            proc = subprocess.Popen([sys.executable, "-c", SUBPROCESS], env=env)
            try:
                _wait_for(sandbox.held.is_set, proc, f"API request {after}")
                if where == "db":
                    with psycopg.connect(url) as locker:
                        locker.execute("set lock_timeout = '30s'")
                        locker.execute(f"lock table raw.{table} in access exclusive mode")
                        sandbox.release()
                        _wait_for(lambda: _blocked_on_lock(url, table), proc, "a lock wait")
                        os.kill(proc.pid, signal.SIGKILL)
                        proc.wait()
                else:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait()
            finally:
                sandbox.release()
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            assert proc.returncode == -signal.SIGKILL
            partial = len(h.raw_rows(url, table))
            kill_points.append((where, after, partial))
            results = h.registry.extract(
                item,
                url,
                connection=h.connection(running, "meta"),
                settings_data=data,
                client_options=h.client_options(),
            )
            assert h.raw_rows(url, table) == truth
            assert sum(r.inserted for r in results) == len(truth) - partial
            rows += len(truth)
    assert len({p[2] for p in kill_points}) >= 4  # kills landed at different progress
    assert {p[0] for p in kill_points} == {"http", "db"}
    with capsys.disabled():
        print(
            f"\n[sigkill test] 10 SIGKILLs (where, request held, raw rows committed then):"
            f" {kill_points}; rows compared={rows}"
        )


def test_auth_failure_fails_fast_naming_the_connection_and_commits_nothing(
    sandbox, clean_warehouse, monkeypatch
):
    url = clean_warehouse
    conn = sandbox.connections()["meta_ads"] | {"password": "expired-token-value"}
    monkeypatch.setenv("AIRFLOW_CONN_META_ADS", json.dumps(conn))
    bad_google = sandbox.connections()["google_ads"]
    bad_google["extra"]["refresh_token"] = "revoked-refresh-token"
    monkeypatch.setenv("AIRFLOW_CONN_GOOGLE_ADS", json.dumps(bad_google))
    from dealerfunnel.sources import registry

    for table, secret in (
        ("meta__leads", "expired-token-value"),
        ("google_ads__campaign_costs", "revoked-refresh-token"),
    ):
        item = registry.plan(table, h.SETTINGS)[0]
        before = sandbox.sandbox.requests
        with pytest.raises(AuthFailed) as info:
            registry.extract(item, url, settings_data=h.SETTINGS, client_options=h.client_options())
        assert sandbox.sandbox.requests - before <= 2  # no retries
        message = str(info.value)
        source = table.split("__")[0]
        assert repr(h.CONN_IDS[source]) in message
        assert secret not in message
    with psycopg.connect(url) as db:
        for table in h.TABLES:
            assert db.execute(f"select count(*) from raw.{table}").fetchone()[0] == 0
        assert db.execute("select count(*) from ops.watermarks").fetchone()[0] == 0
        # nothing loaded; each failed work item is recorded (the outage record), no secret
        assert (
            db.execute(
                "select count(*) from ops.load_batches where status <> 'failed'"
                " or not detail ? 'error_class' or rows_in <> 0"
            ).fetchone()[0]
            == 0
        )
        details = [d for (d,) in db.execute("select detail from ops.load_batches")]
        assert details and all(d["error_class"] == "AuthFailed" for d in details)
        assert all(secret not in str(d) for d in details)


def test_expired_google_token_is_refreshed_once(sandbox, clean_warehouse):
    url = clean_warehouse
    api = sandbox.sandbox.api("google_ads")
    # request 1: token endpoint (ok); request 2: searchStream answers 401 UNAUTHENTICATED
    sandbox.sandbox.faults.script = [None, "auth"]
    item = h.registry.plan("google_ads__lead_form_submissions", h.SETTINGS)[0]
    h.registry.extract(
        item,
        url,
        connection=h.connection(sandbox, "google_ads"),
        settings_data=h.SETTINGS,
        client_options=h.client_options(),
    )
    assert api.tokens_issued == 2
    account = item["account"]["customer_id"]
    truth = running_truth = h.truth_rows(sandbox, "google_ads__lead_form_submissions")
    landed = h.raw_rows(url, "google_ads__lead_form_submissions")
    assert landed == {k: v for k, v in running_truth.items() if k[0] == account}
    assert truth


def test_schema_drift_new_field_kept_missing_field_quarantined(clean_warehouse):
    url = clean_warehouse
    world = h.make_world(new_field_share=0.1, missing_field_share=0.05)
    with run_sandbox(h.make_sandbox(world)) as sandbox:
        _check_drift(sandbox, url)


def _check_drift(sandbox, url: str) -> None:
    for table, new_field in (
        ("meta__leads", "lead_quality_tier"),
        ("google_ads__lead_form_submissions", "leadSource"),
    ):
        h.extract_table(sandbox, url, table)
        h.assert_matches_truth(sandbox, url, table)
        rows = h.raw_rows(url, table)
        with_new = [p for p in rows.values() if new_field in json.dumps(p)]
        assert with_new, f"{table}: no record kept the new field {new_field}"
        source, obj = table.split("__")
        with psycopg.connect(url) as db:
            reasons = [
                r
                for (r,) in db.execute(
                    "select reason from ops.quarantine where source = %s and object = %s",
                    (source, obj),
                )
            ]
        assert reasons and all(r.startswith("missing required field") for r in reasons)
        assert len(reasons) == len(h.broken_rows(sandbox, table))

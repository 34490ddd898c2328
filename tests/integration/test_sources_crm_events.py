"""CRM and event connectors (Salesforce, HubSpot, Eventbrite) against the API sandbox and a real
PostgreSQL: paging, incremental runs, 20% faults, kill points, auth failure, schema drift.
Nothing in the HTTP layer or the DB is mocked."""

from __future__ import annotations

import json
from datetime import timedelta

import psycopg
import pytest
import test_sources_support as h

from dealerfunnel.sources import AuthFailed
from dealerfunnel.sources.loader import PHASES
from dealerfunnel_demo.sandbox import Faults, run_sandbox

pytestmark = pytest.mark.timeout(120)
SOURCES = sorted(h.CRM_TABLES)
SNAPSHOTS = {"hubspot__owners", "hubspot__pipelines"}  # small lists, re-read every run
# per source: (table with drift, new field, required field removed, table for kill points)
DRIFT = {
    "salesforce": ("salesforce__leads", "Lead_Score__c", "SystemModstamp", "salesforce__leads"),
    "hubspot": ("hubspot__contacts", "url", "lastmodifieddate", "hubspot__contacts"),
    "eventbrite": ("eventbrite__attendees", "survey_responses", "changed", "eventbrite__attendees"),
}


def _bad_connection(running, source: str) -> tuple[dict, str]:
    """The source's Airflow connection with a revoked secret, and that secret."""
    conn = running.connections()[h.CONN_IDS[source]]
    if source == "salesforce":
        conn["extra"]["refresh_token"] = "revoked-sf-refresh-token"
        return conn, "revoked-sf-refresh-token"
    conn["password"] = "expired-token-value"
    return conn, "expired-token-value"


def _page_size(data: dict, source: str, size: int) -> None:
    """Ask for ``size`` records per page where the API takes a page size (Eventbrite does not:
    its connector has no such option, and :func:`_small_pages` shrinks the sandbox's pages)."""
    if source != "eventbrite":
        data[source]["options"]["page_size"] = size


def _small_pages(running, size: int) -> None:
    """Eventbrite has no page-size parameter: the sandbox serves smaller pages instead."""
    running.sandbox.api("eventbrite").page_size = size


def _extract_source(running, url: str, source: str, **kw) -> dict[str, list]:
    return {t: h.extract_table(running, url, t, **kw) for t in h.CRM_TABLES[source]}


def _totals(url: str, source: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select object, sum(rows_in), sum(rows_loaded), sum(rows_quarantined) "
            "from ops.load_batches where source = %s group by 1",
            (source,),
        ).fetchall()


@pytest.mark.parametrize("source", SOURCES)
def test_paging_lands_everything(source, clean_warehouse, capsys):
    url = clean_warehouse
    world = h.make_world()
    with run_sandbox(h.make_sandbox(world)) as running:
        results = _extract_source(running, url, source)
        rows = 0
        for table, per_table in results.items():
            rows += h.assert_matches_truth(running, url, table)
            assert per_table, table
        main = h.CRM_TABLES[source][0]
        assert sum(r.pages for r in results[main]) > len(results[main])  # several pages
        requests = running.sandbox.requests
    for _obj, rows_in, loaded, quarantined in _totals(url, source):
        assert rows_in == loaded + quarantined
    with capsys.disabled():
        print(f"\n[paging {source}] requests={requests} rows_compared={rows}")


@pytest.mark.parametrize("source", SOURCES)
def test_second_run_fetches_only_new_and_changed_records(source, clean_warehouse):
    url = clean_warehouse
    world = h.make_world()
    world.set_now(world.end - timedelta(days=7))
    tables = h.CRM_TABLES[source]
    with run_sandbox(h.make_sandbox(world)) as running:
        _extract_source(running, url, source)
        first = {k: v for k, v in h.watermarks(url).items() if k[0] in tables}
        before = {t: h.truth_rows(running, t) for t in tables}
        world.set_now(world.end)
        changed_total = 0
        for table in tables:
            after = h.truth_rows(running, table)
            changed = {k for k, v in after.items() if before[table].get(k) != v}
            results = h.extract_table(running, url, table)
            # only new or changed records were fetched (drifted ones go to quarantine);
            # snapshot objects are re-read whole, the merge changes nothing of them
            if table not in SNAPSHOTS:
                assert sum(r.rows_loaded for r in results) == len(changed), table
            assert sum(r.inserted + r.updated for r in results) == len(changed), table
            h.assert_matches_truth(running, url, table)
            changed_total += len(changed)
        assert changed_total > 0
        second = h.watermarks(url)
        assert any(second[k] != v for k, v in first.items())
        for key, mark in first.items():
            if mark.get("since") is not None:  # None: the first run found nothing
                assert second[key]["since"] >= mark["since"], key
        snapshot = {t: h.raw_rows(url, t) for t in tables}
        for table in tables:
            results = h.extract_table(running, url, table)
            assert sum(r.inserted + r.updated for r in results) == 0
            if table not in SNAPSHOTS:
                assert sum(r.rows_loaded for r in results) == 0, table
            assert h.raw_rows(url, table) == snapshot[table]


@pytest.mark.parametrize("source", SOURCES)
def test_twenty_percent_faults_still_land_exactly_the_truth(source, clean_warehouse, capsys):
    url = clean_warehouse
    world = h.make_world(leads_per_week=24)
    faults = Faults(rate=0.2, slow_seconds=0.4, duplicate_rate=0.3, shuffle=True, seed=11)
    sleeps = h.Sleeps()
    options = h.client_options(sleeps, read_timeout=0.2)
    data = h.settings()
    _page_size(data, source, 3)  # many requests
    with run_sandbox(h.make_sandbox(world, faults)) as running:
        _small_pages(running, 2)
        rows = 0
        for table in h.CRM_TABLES[source]:
            h.extract_table(running, url, table, options=options, data=data)
            rows += h.assert_matches_truth(running, url, table)
        stats = running.sandbox.stats()
    assert stats["requests"] > 50
    assert stats["faults_total"] >= 0.12 * stats["requests"]
    assert {"rate_limit", "server_error", "truncate"} <= set(stats["faults"])
    assert 1.0 in sleeps.delays  # Retry-After honoured
    with capsys.disabled():
        print(
            f"\n[fault test {source}] requests={stats['requests']} faults={stats['faults_total']}"
            f" {stats['faults']} duplicates={stats['duplicates_served']} rows_compared={rows}"
        )


@pytest.mark.parametrize("source", SOURCES)
def test_kill_points_then_rerun_is_exactly_once(source, clean_warehouse, capsys):
    """The 4 commit phases at pages 1, 2 and 3: 12 kill points, each from an empty warehouse."""
    url = clean_warehouse
    table = DRIFT[source][3]
    world = h.make_world()
    points = [(phase, page) for page in (1, 2, 3) for phase in PHASES]
    data = h.settings()
    _page_size(data, source, 3)
    with run_sandbox(h.make_sandbox(world, Faults(duplicate_rate=0.2, seed=3))) as running:
        _small_pages(running, 3)
        truth = h.truth_rows(running, table)
        for phase, page in points:
            with psycopg.connect(url) as db:
                db.execute(
                    f"truncate raw.{table}, ops.watermarks, ops.quarantine, "
                    "ops.load_batches cascade"
                )

            with h.kill_point(phase, page), pytest.raises(h.Crash):
                h.extract_table(running, url, table, data=data)
            partial = h.raw_rows(url, table)
            assert all(truth[k] == v for k, v in partial.items())
            results = h.extract_table(running, url, table, data=data)
            assert sum(r.inserted for r in results) == len(truth) - len(partial)
            h.assert_matches_truth(running, url, table)
    with capsys.disabled():
        print(f"\n[crash test {source}] {table}: {len(points)} kill points, rows={len(truth)}")


@pytest.mark.parametrize("source", SOURCES)
def test_auth_failure_fails_fast_and_commits_nothing(source, clean_warehouse, monkeypatch):
    url = clean_warehouse
    world = h.make_world()
    with run_sandbox(h.make_sandbox(world)) as running:
        conn, secret = _bad_connection(running, source)
        conn_id = h.CONN_IDS[source]
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
        from dealerfunnel.sources import registry

        for table in h.CRM_TABLES[source]:
            item = registry.plan(table, h.SETTINGS)[0]
            before = running.sandbox.requests
            with pytest.raises(AuthFailed) as info:
                registry.extract(
                    item, url, settings_data=h.SETTINGS, client_options=h.client_options()
                )
            assert running.sandbox.requests - before <= 2  # no retries
            assert repr(conn_id) in str(info.value)
            assert secret not in str(info.value)
    with psycopg.connect(url) as db:
        for table in h.CRM_TABLES[source]:
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


@pytest.mark.parametrize("source", SOURCES)
def test_schema_drift_new_field_kept_missing_field_quarantined(source, clean_warehouse):
    url = clean_warehouse
    table, new_field, required, _ = DRIFT[source]
    world = h.make_world(new_field_share=0.1, missing_field_share=0.05)
    with run_sandbox(h.make_sandbox(world)) as running:
        h.extract_table(running, url, table)
        h.assert_matches_truth(running, url, table)
        rows = h.raw_rows(url, table)
        assert any(new_field in p for p in rows.values()), f"{table}: {new_field} not kept"
        _source, obj = table.split("__")
        with psycopg.connect(url) as db:
            reasons = [
                r
                for (r,) in db.execute(
                    "select reason from ops.quarantine where source = %s and object = %s",
                    (source, obj),
                )
            ]
        assert reasons and all(r == f"missing required field {required!r}" for r in reasons)
        assert len(reasons) == len(h.broken_rows(running, table))


def test_salesforce_invalid_session_is_refreshed_once(clean_warehouse):
    url = clean_warehouse
    world = h.make_world()
    with run_sandbox(h.make_sandbox(world)) as running:
        api = running.sandbox.api("salesforce")
        # request 1: token (ok); request 2: the query answers 401 INVALID_SESSION_ID
        running.sandbox.faults.script = [None, "auth"]
        item = h.registry.plan("salesforce__users", h.SETTINGS)[0]
        results = h.registry.extract(
            item,
            url,
            connection=h.connection(running, "salesforce"),
            settings_data=h.SETTINGS,
            client_options=h.client_options(),
        )
        assert api.tokens_issued == 2
        assert sum(r.rows_loaded for r in results) == 4
        # a session that stays invalid fails after that one refresh, naming the connection
        running.sandbox.faults.script = [None, "auth", None, "auth"]
        with pytest.raises(AuthFailed, match=r"'salesforce'.*INVALID_SESSION_ID"):
            h.registry.extract(
                h.registry.plan("salesforce__leads", h.SETTINGS)[0],
                url,
                connection=h.connection(running, "salesforce"),
                settings_data=h.SETTINGS,
                client_options=h.client_options(),
            )

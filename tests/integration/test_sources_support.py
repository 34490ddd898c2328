"""Helpers shared by the connector integration tests (sandbox + real PostgreSQL); no tests."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import psycopg

from dealerfunnel.sources import loader, registry
from dealerfunnel.sources.config import SourceConnection
from dealerfunnel.sources.httpclient import RetryPolicy
from dealerfunnel_demo.sandbox import DataSpec, Faults, World, build_sandbox

TABLES = (
    "meta__leads",
    "meta__insights",
    "google_ads__lead_form_submissions",
    "google_ads__campaign_costs",
)
CONN_IDS = {
    "meta": "meta_ads",
    "google_ads": "google_ads",
    "salesforce": "salesforce",
    "hubspot": "hubspot",
    "eventbrite": "eventbrite",
}
# The CRM and event sources (tests/integration/test_sources_crm_events.py).
CRM_TABLES = {
    "salesforce": (
        "salesforce__leads",
        "salesforce__opportunities",
        "salesforce__lead_history",
        "salesforce__opportunity_history",
        "salesforce__tasks",
        "salesforce__events",
        "salesforce__users",
    ),
    "hubspot": (
        "hubspot__contacts",
        "hubspot__deals",
        "hubspot__owners",
        "hubspot__pipelines",
        "hubspot__calls",
        "hubspot__meetings",
        "hubspot__emails",
        "hubspot__notes",
        "hubspot__feedback_submissions",
    ),
    "eventbrite": ("eventbrite__attendees",),
}
HUBSPOT_SEARCH_CAP = 20  # small, so that every run restarts its search window

# Two dealers, small pages (many pages per run), four weeks of data.
SETTINGS: dict[str, Any] = {
    "meta": {
        "conn_id": "meta_ads",
        "api_version": "v23.0",
        "options": {
            "page_size": 10,
            "start_date": "2026-05-04",
            "insights_lookback_days": 3,
            "insights_chunk_days": 7,
        },
        "dealers": {
            "SH001": {"ad_account_id": "act_100000000001", "page_id": "200000000001"},
            "GZ001": {"ad_account_id": "act_100000000004", "page_id": "200000000004"},
        },
    },
    "google_ads": {
        "conn_id": "google_ads",
        "api_version": "v22",
        "options": {"start_date": "2026-05-04", "cost_lookback_days": 3, "cost_chunk_days": 7},
        "dealers": {
            "SH001": {"customer_id": "1110000001"},
            "GZ001": {"customer_id": "1110000004"},
        },
    },
    "salesforce": {
        "conn_id": "salesforce",
        "api_version": "v60.0",
        "options": {"page_size": 10, "start_date": "2026-05-04"},
        "dealers": {
            "SH001": {"org_id": "00D5g000004DLRGEAA"},
            "GZ001": {"org_id": "00D5g000004DLRGEAA", "dealer_value": "GZ-001"},
        },
    },
    "hubspot": {
        "conn_id": "hubspot",
        "api_version": "v3",
        "options": {"page_size": 10, "start_date": "2026-05-04", "search_cap": 20},
        "dealers": {
            "SH001": {"portal_id": "4400001", "team_id": "101"},
            "GZ001": {"portal_id": "4400001", "team_id": "104", "dealer_value": "GZ-001"},
        },
    },
    "eventbrite": {
        "conn_id": "eventbrite",
        "api_version": "v3",
        "options": {"start_date": "2026-05-04"},
        "dealers": {
            "SH001": {"organization_id": "5500000001"},
            "GZ001": {"organization_id": "5500000004", "event_ids": ["804000000001"]},
        },
    },
}


def settings() -> dict[str, Any]:
    return copy.deepcopy(SETTINGS)


def make_world(*, weeks: int = 4, leads_per_week: float = 12, drift: bool = True, **kw) -> World:
    spec = DataSpec(weeks=weeks, leads_per_week=leads_per_week, drift=drift, **kw)
    return World(spec, sources=settings())


def make_sandbox(world: World, faults: Faults | None = None):
    """The sandbox with small searchStream batches (several batches per Google Ads query)."""
    sandbox = build_sandbox(world, faults or Faults(), batch_size=10)
    if "hubspot" in world.sources:
        sandbox.api("hubspot").search_cap = HUBSPOT_SEARCH_CAP
    if "eventbrite" in world.sources:
        sandbox.api("eventbrite").page_size = 10  # Eventbrite's is 50
    return sandbox


class Sleeps:
    """Injectable sleep: records the requested delays, sleeps at most 5 ms."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        time.sleep(min(seconds, 0.005))


def client_options(sleeps: Sleeps | None = None, **policy: Any) -> dict[str, Any]:
    values = {"base_delay": 0.001, "max_delay": 0.01, "read_timeout": 0.5, "max_attempts": 15}
    values.update(policy)
    return {"policy": RetryPolicy(**values), "sleep": sleeps or Sleeps()}


def connection(running, source: str) -> SourceConnection:
    conn_id = CONN_IDS[source]
    data = running.connections()[conn_id]
    return SourceConnection(
        conn_id, data["host"], data.get("password"), None, dict(data.get("extra") or {})
    )


class Crash(Exception):
    """A simulated crash at a kill point."""


@contextmanager
def kill_point(phase: str, page: int) -> Iterator[None]:
    """Raise :class:`Crash` at ``phase`` (one of ``loader.PHASES``) of the commit of page number
    ``page`` of a stream, by wrapping the loader's steps from the outside:

    - ``fetched``: the page is fetched, nothing of it is done (before ``_Lander.commit``);
    - ``merged``: records merged and quarantined, inside the open transaction, before the
      watermark is written (before ``_Lander._write_watermark``);
    - ``watermarked``: watermark and batch counters written, not committed (after
      ``_Lander._update_batch``);
    - ``committed``: the transaction is committed (after ``_Lander.commit``).
    """
    lander = loader._Lander
    commit, write_watermark, update_batch = (
        lander.commit,
        lander._write_watermark,
        lander._update_batch,
    )

    def at(point: str, number: int) -> None:
        if (point, number) == (phase, page):
            raise Crash(f"{phase}@{page}")

    def commit_page(self, page_):
        at("fetched", self.result.pages + 1)
        commit(self, page_)
        at("committed", self.result.pages)

    def write_watermark_of(self, cur, state, *, exists):
        at("merged", self.result.pages + 1)
        write_watermark(self, cur, state, exists=exists)

    def update_batch_of(self, cur, batch_id, state, totals):
        update_batch(self, cur, batch_id, state, totals)
        at("watermarked", totals["pages"])

    assert phase in loader.PHASES
    with (
        mock.patch.object(lander, "commit", commit_page),
        mock.patch.object(lander, "_write_watermark", write_watermark_of),
        mock.patch.object(lander, "_update_batch", update_batch_of),
    ):
        yield


def extract_table(running, url: str, table: str, *, options=None, data=None):
    source, _ = registry.split_table(table)
    results = []
    for item in registry.plan(table, data or SETTINGS):
        results += registry.extract(
            item,
            url,
            connection=connection(running, source),
            settings_data=data or SETTINGS,
            client_options=options or client_options(),
            now=lambda: running.world.now,
        )
    return results


def raw_rows(url: str, table: str) -> dict[tuple[str, str], Any]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(f"select account_id, record_id, payload from raw.{table}").fetchall()
    return {(account, record): payload for account, record, payload in rows}


def truth_rows(running, table: str) -> dict[tuple[str, str], Any]:
    truth = running.sandbox.truth()[table]
    return {(a, r): p for a, records in truth.items() for r, p in records.items()}


def quarantined(url: str, source: str, obj: str) -> list[Any]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select record from ops.quarantine where source = %s and object = %s",
            (source, obj),
        ).fetchall()
    return [r for (r,) in rows]


def broken_rows(running, table: str) -> list[Any]:
    broken = running.sandbox.broken().get(table, {})
    return [{"account_id": a, "record": r} for a, records in broken.items() for r in records]


def canonical(values) -> list[str]:
    return sorted(json.dumps(v, sort_keys=True, ensure_ascii=False) for v in values)


def assert_matches_truth(running, url: str, table: str) -> int:
    got, expected = raw_rows(url, table), truth_rows(running, table)
    missing = set(expected) - set(got)
    extra = set(got) - set(expected)
    different = [k for k in expected if k in got and got[k] != expected[k]]
    assert not missing and not extra and not different, (
        f"{table}: {len(missing)} missing, {len(extra)} extra, {len(different)} different"
    )
    source, _, obj = table.partition("__")
    assert canonical(quarantined(url, source, obj)) == canonical(broken_rows(running, table))
    return len(got)


def batch_totals(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            """
            select source, object, sum(rows_in), sum(rows_loaded), sum(rows_quarantined)
            from ops.load_batches where source in ('meta', 'google_ads')
            group by 1, 2 order by 1, 2
            """
        ).fetchall()


def watermarks(url: str) -> dict[tuple[str, str], dict]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("select source, account, watermark from ops.watermarks").fetchall()
    return {(s, a): json.loads(w) for s, a, w in rows}

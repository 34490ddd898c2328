"""Channel and lost-reason harmonisation (DESIGN.md §3, §5), through one real pipeline run.

The hand-made dealer export below is loaded into a fresh warehouse and run as the pipeline runs
it: ``dbt build`` into the candidate schema, the GX mart audit, publish, then the data-quality
alert rule. Every expected figure is worked out by hand here. The mapping of each single value is
unit-tested in dbt (test_source_values_map_to_canonical_channels_and_lost_reasons); this module
checks what reaches the marts and the report.

Two dealers, Asia/Shanghai; every lead created Mon 2026-03-02 10:00 (the week of 03-02).
SH001 leads (channel as exported -> canonical channel, seeds channels / channel_mapping):
  C1 "walk_in", C2 "walk-in", C3 " Walk In "   -> walk_in (one channel: key "walk in")
  C4 "partner referral"                        -> referral
  C5 "汽车之家"                                 -> autohome
  C6 "懂车帝"                                   -> dongchedi
  C7 "Billboard", C8 "billboard "              -> other, unmapped: 2 records of key "billboard"
  C9 ""                                        -> unknown (missing, not unmapped)
HZ001 lead: Z1 "Billboard"                     -> other, unmapped: 1 record
Lost events (03-05 10:00, lost_reason as exported -> canonical, seeds lost_reasons / mapping):
  C1 "价格太高" -> price; C4 "Alien Abduction", C5 "Alien Abduction", C6 "alien-abduction"
  -> other, unmapped: 3 events of key "alien abduction", most frequent spelling "Alien Abduction".
C2 is won on 03-06 (no reason).

mart_unmapped_source_values, three rows (report_line sorted as GX lists them):
  channel 'billboard' (dealer_export, HZ001): 1 record(s) as other
  channel 'billboard' (dealer_export, SH001): 2 record(s) as other
  lost_reason 'Alien Abduction' (dealer_export, SH001): 3 record(s) as other
(the dealer export's staging lower-cases and trims the channel, so both billboards read
"billboard"; lost reasons are only trimmed.)
"""

from __future__ import annotations

import json

import mart_fixtures as h
import psycopg
import pytest

from dealerfunnel.alerts.episodes import evaluate_rules
from dealerfunnel.alerts.rules import parse_rules
from dealerfunnel.notify.config import parse_notifications
from dealerfunnel.quality.tasks import (
    audit_candidate_marts,
    build_candidate_marts,
    publish_marts,
)
from dealerfunnel_demo.receivers import WebhookReceiver

pytestmark = pytest.mark.timeout(400)

CREATED = "2026-03-02T10:00:00+08:00"
SH001_CHANNELS = {
    "C1": "walk_in", "C2": "walk-in", "C3": " Walk In ", "C4": "partner referral",
    "C5": "汽车之家", "C6": "懂车帝", "C7": "Billboard", "C8": "billboard ", "C9": "",
}  # fmt: skip
LOST = {"C1": "价格太高", "C4": "Alien Abduction", "C5": "Alien Abduction", "C6": "alien-abduction"}
REPORT_LINES = [
    "channel 'billboard' (dealer_export, HZ001): 1 record(s) as other",
    "channel 'billboard' (dealer_export, SH001): 2 record(s) as other",
    "lost_reason 'Alien Abduction' (dealer_export, SH001): 3 record(s) as other",
]


def _leads(channels: dict[str, str]) -> list[dict]:
    return [
        {"lead_id": lead, "created_at": CREATED, "channel": ch} for lead, ch in channels.items()
    ]


def _load(conn: psycopg.Connection) -> None:
    h.insert_dealers(
        conn,
        [
            ("SH001", "Shanghai Motors", "East", "Aurora", "Asia/Shanghai", True),
            ("HZ001", "Hangzhou Motors", "East", "Aurora", "Asia/Shanghai", True),
        ],
    )
    events = [
        {"lead_id": lead, "stage": "lost", "occurred_at": "2026-03-05T10:00:00+08:00",
         "lost_reason": reason}
        for lead, reason in LOST.items()
    ] + [{"lead_id": "C2", "stage": "won", "occurred_at": "2026-03-06T10:00:00+08:00"}]  # fmt: skip
    h.insert_export_files(
        conn,
        [
            ("SH001", "leads", "leads_1.csv", "2026-05-01T00:00:00Z", _leads(SH001_CHANNELS)),
            ("SH001", "stage_events", "stage_events_1.csv", "2026-05-01T00:00:00Z", events),
            ("HZ001", "leads", "leads_1.csv", "2026-05-01T00:00:00Z", _leads({"Z1": "Billboard"})),
        ],
    )


@pytest.fixture(scope="module")
def run(warehouse_url, tmp_path_factory):
    """One pipeline run over the fixture: write, audit, publish (WAP); yields the URL."""
    h.reset_warehouse(warehouse_url)
    with psycopg.connect(warehouse_url) as conn:
        _load(conn)
    with h.module_data_dir(tmp_path_factory):
        build_candidate_marts(warehouse_url)
        audit = audit_candidate_marts(warehouse_url)
        publish_marts(warehouse_url)
    return warehouse_url, audit


def _fct(url: str) -> dict[str, dict]:
    rows = h.fetch_rows(
        url, "select source_lead_id, channel, lost_reason, lost_reason_text from marts.fct_leads"
    )
    return {r["source_lead_id"]: r for r in rows}


def test_channels_are_canonical_in_fct_leads(run):
    url, _ = run
    channels = {lead: row["channel"] for lead, row in _fct(url).items()}
    assert channels == {
        "C1": "walk_in", "C2": "walk_in", "C3": "walk_in", "C4": "referral", "C5": "autohome",
        "C6": "dongchedi", "C7": "other", "C8": "other", "C9": "unknown", "Z1": "other",
    }  # fmt: skip


def test_spellings_of_one_channel_are_one_funnel_row(run):
    url, _ = run
    rows = h.fetch_rows(
        url,
        "select channel, leads_potential, leads_won, leads_lost from marts.mart_funnel_conversion"
        " where dealer_code = 'SH001' and period_grain = 'week' and period_start = '2026-03-02'",
    )
    # walk_in: C1 (lost), C2 (won), C3; other: C7, C8; each other channel one lead
    funnel = {r["channel"]: (r["leads_potential"], r["leads_won"], r["leads_lost"]) for r in rows}
    assert funnel == {
        "walk_in": (3, 1, 1), "referral": (1, 0, 1), "autohome": (1, 0, 1),
        "dongchedi": (1, 0, 1), "other": (2, 0, 0), "unknown": (1, 0, 0),
    }  # fmt: skip


def test_lost_reasons_are_canonical_and_keep_the_text(run):
    url, _ = run
    lost = {
        lead: (row["lost_reason"], row["lost_reason_text"])
        for lead, row in _fct(url).items()
        if row["lost_reason_text"] is not None
    }
    assert lost == {
        "C1": ("price", "价格太高"),
        "C4": ("other", "Alien Abduction"),
        "C5": ("other", "Alien Abduction"),
        "C6": ("other", "alien-abduction"),
    }


def test_unmapped_values_are_counted(run):
    url, _ = run
    rows = h.fetch_rows(
        url,
        "select dealer_code, value_kind, source_system, source_value_key, source_value,"
        " mapped_to, record_count, report_line from marts.mart_unmapped_source_values"
        " order by report_line",
    )
    assert [
        (r["dealer_code"], r["value_kind"], r["source_value_key"], r["source_value"],
         r["mapped_to"], r["record_count"])
        for r in rows
    ] == [
        ("HZ001", "channel", "billboard", "billboard", "other", 1),
        ("SH001", "channel", "billboard", "billboard", "other", 2),
        ("SH001", "lost_reason", "alien abduction", "Alien Abduction", "other", 3),
    ]  # fmt: skip
    assert [r["report_line"] for r in rows] == REPORT_LINES


def test_every_mart_channel_is_canonical(run):
    url, _ = run
    canonical = {r["channel"] for r in h.fetch_rows(url, "select channel from seeds.channels")}
    marts = h.fetch_rows(
        url,
        "select table_name from information_schema.columns"
        " where table_schema = 'marts' and column_name = 'channel'",
    )
    tables = sorted(r["table_name"] for r in marts)
    assert {"fct_leads", "mart_funnel_conversion", "mart_channel_roi"} <= set(tables)
    for table in tables:
        seen = {r["channel"] for r in h.fetch_rows(url, f'select channel from marts."{table}"')}
        assert seen <= canonical, table


def test_unmapped_values_are_reported_once_per_run(run, monkeypatch):
    url, audit = run
    # the audit: ONE warning check, listing every unmapped value with its count
    unmapped = [w for w in audit["warnings"] if w["suite"] == "mart_unmapped_source_values"]
    assert [w["observed"] for w in unmapped] == ["; ".join(REPORT_LINES)]
    web = WebhookReceiver().start()
    try:
        monkeypatch.setenv(
            "AIRFLOW_CONN_DQ_HOOK", json.dumps({"conn_type": "http", "host": f"{web.url}/h"})
        )
        notifications = parse_notifications(
            {
                "retry": {"attempts": 1},
                "recipients": {"de": {"channels": [{"type": "webhook", "conn_id": "dq_hook"}]}},
                "routes": [{"match": {"rule_type": ["data_quality"]}, "recipients": ["de"]}],
            }
        )
        rules = parse_rules({"rules": [{"rule": "dq", "type": "data_quality"}]})
        for _ in range(2):  # evaluated twice in the run: still one message
            evaluate_rules(url, rules, types=("data_quality",), notifications=notifications)
        texts = [r.body["text"] for r in web.requests]
    finally:
        web.stop()
    # one message (the run's warning digest) and in it one line holding all three values
    assert len(texts) == 1
    lines = [line for line in texts[0].splitlines() if "billboard" in line.lower()]
    assert len(lines) == 1 and all(value in lines[0] for value in REPORT_LINES)
    with psycopg.connect(url) as conn:
        episodes = conn.execute(
            "select count(*) from ops.alerts where rule = 'dq' and detail::text ilike '%billboard%'"
        ).fetchone()[0]
    assert episodes == 1

"""The weekly digest against a real PostgreSQL and local receivers: each dealer's routed
recipients get one digest per dealer-week (ops.report_digests), re-runs send nothing again, a
failed delivery is retried on the next run, and nobody else is told.

The marts are written straight into the warehouse (as the alert tests do): the digest reads
published columns only, and every figure expected below is worked out from these rows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from email import message_from_bytes
from email.header import decode_header, make_header

import psycopg
import pytest
from alert_fixtures import local_receivers

from dealerfunnel.notify.config import parse_notifications
from dealerfunnel.notify.digest import deliver_weekly_digests

pytestmark = pytest.mark.timeout(300)

WEEK = date(2026, 10, 5)
MONDAY = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, 08:00 in Urumqi
THURSDAY = datetime(2026, 10, 15, 9, 0, tzinfo=UTC)
NEXT_MONDAY = datetime(2026, 10, 19, 2, 0, tzinfo=UTC)

DEALERS = [
    ("SH001", "Shanghai Pudong Motors", "East", "Aurora", "Asia/Shanghai", True),
    ("UR001", "Urumqi Xinshi Auto", "West", "Borealis", "Asia/Urumqi", True),
]
# dealer, week, potential, interested, needs_defined, decision, won, p2i mature, all mature
COHORTS = [
    ("SH001", WEEK, 20, 9, 4, 2, 1, True, False),
    ("SH001", date(2026, 9, 28), 7, 7, 7, 7, 7, True, True),  # an earlier week: not in the digest
]
# dealer, channel, week, won_in_period
ACTIVITY = [("SH001", "wechat", WEEK, 2), ("SH001", "web", WEEK, 1), ("UR001", "web", WEEK, 4)]
# dealer, consultant, week, assignments due/met, first contacts due/met, cadence due/on time
SLA = [
    ("SH001", "Li Na", WEEK, 4, 3, 3, 2, 5, 5),
    ("SH001", "Wang Li", WEEK, 2, 2, 1, 0, 0, 0),
    ("SH001", "Li Na", date(2026, 9, 28), 9, 9, 9, 9, 9, 9),
]

CONFIG = parse_notifications(
    {
        "retry": {"attempts": 2, "backoff_seconds": 0},
        "links": {"reports_base_url": "http://reports.example/reports/"},
        "recipients": {
            "hq": {"channels": [{"type": "webhook", "conn_id": "digest_hq"}]},
            "sh_manager": {"channels": [{"type": "webhook", "conn_id": "digest_sh001"}]},
            "ur_manager": {
                "channels": [
                    {"type": "email", "conn_id": "smtp_digest", "to": ["manager@ur.example"]}
                ]
            },
        },
        "routes": [
            {"recipients": ["hq"]},  # every alert, but no digest: it does not ask for them
            {
                "match": {"dealer": ["SH001"], "rule_type": ["threshold", "weekly_digest"]},
                "recipients": ["sh_manager"],
            },
            {
                "match": {"dealer": ["UR001"], "rule_type": ["weekly_digest"]},
                "recipients": ["ur_manager"],
            },
        ],
    }
)


def _write_marts(url: str) -> None:
    rate = lambda a, b: round(a / b, 4) if b else None  # noqa: E731 - as the dbt macro does
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema if not exists marts")
        conn.execute(
            """create table marts.dim_dealerships (dealer_code text, dealer_name text,
                   region text, brand text, timezone text, is_registered boolean)"""
        )
        conn.execute(
            """create table marts.mart_funnel_monitoring (dealer_code text, period_grain text,
                   period_start date, leads_potential int, leads_interested int,
                   leads_needs_defined int, leads_decision int, leads_won int,
                   rate_potential_to_interested numeric, rate_interested_to_needs_defined numeric,
                   rate_needs_defined_to_decision numeric, rate_decision_to_won numeric,
                   rate_lead_to_won numeric, is_period_complete boolean,
                   is_potential_to_interested_mature boolean, is_mature boolean)"""
        )
        conn.execute(
            """create table marts.mart_funnel_activity (dealer_code text, channel text,
                   period_grain text, period_start date, won_in_period int)"""
        )
        conn.execute(
            """create table marts.mart_sla_compliance (dealer_code text, consultant text,
                   week_start date, assignments_due int, assignments_met int,
                   first_contacts_due int, first_contacts_met int, cadence_followups_due int,
                   cadence_followups_on_time int)"""
        )
        with conn.cursor() as cur:
            cur.executemany("insert into marts.dim_dealerships values (%s,%s,%s,%s,%s,%s)", DEALERS)
            cur.executemany(
                "insert into marts.mart_funnel_monitoring values"
                " (%s,'week',%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,true,%s,%s)",
                [
                    (
                        d,
                        w,
                        p,
                        i,
                        n,
                        c,
                        won,
                        rate(i, p),
                        rate(n, i),
                        rate(c, n),
                        rate(won, c),
                        rate(won, p),
                        p2i,
                        mature,
                    )
                    for d, w, p, i, n, c, won, p2i, mature in COHORTS
                ],
            )
            cur.executemany(
                "insert into marts.mart_funnel_activity values (%s,%s,'week',%s,%s)", ACTIVITY
            )
            cur.executemany(
                "insert into marts.mart_sla_compliance values (%s,%s,%s,%s,%s,%s,%s,%s,%s)", SLA
            )


def _digests(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select dealer_code, week_start, recipient, status from ops.report_digests"
            " order by digest_id"
        ).fetchall()


def _subject(mail) -> str:
    return str(make_header(decode_header(mail.subject)))


def _html(mail) -> str:
    parsed = message_from_bytes(mail.data)
    parts = [p for p in parsed.walk() if p.get_content_type() == "text/html"]
    return parts[0].get_payload(decode=True).decode()


def test_one_digest_per_dealer_week_to_its_routed_recipients_only(clean_warehouse, monkeypatch):
    url = clean_warehouse
    _write_marts(url)
    http = {"digest_hq": {"host": "/webhook/hq"}, "digest_sh001": {"host": "/webhook/sh001"}}
    with local_receivers(monkeypatch, http, "smtp_digest") as (web, smtp):
        first = deliver_weekly_digests(url, CONFIG, now=MONDAY)
        assert first["sent"] == 2 and first["pending"] == 0
        assert sorted(first["sent_to"]) == [
            "SH001:2026-10-05:sh_manager/webhook",
            "UR001:2026-10-05:ur_manager/email",
        ]
        # SH001's manager: one webhook digest of the week of 10-05 with its figures and its page
        (request,) = web.requests
        assert request.path == "/webhook/sh001"
        body = request.body
        assert body["event"] == "weekly_digest"
        assert body["dedup_key"] == "digest:SH001:2026-10-05:sh_manager/webhook"
        assert body["links"] == {"Report page": "http://reports.example/reports/SH001.html"}
        # the week's cohort as written above; wins in the week summed over channels (2 + 1);
        # SLA checks summed over consultants: assignment 3 + 2 of 4 + 2, first contact 2 + 0 of
        # 3 + 1, cadence 5 + 0 of 5 + 0
        _, p, i, _, _, won, _, _ = COHORTS[0][1:]
        text = body["text"]
        assert f"Leads created in the week: {p}; of them won so far: {won} (cohort view)" in text
        assert f"potential → interested: {i / p:.1%} (final)" in text
        assert f"lead → won: {won / p:.1%} (not mature yet: the rate may still rise)" in text
        assert "Won in the week: 3 (activity view, any lead)" in text
        assert "Assignment SLA: 5 of 6 met" in text
        assert "First contact SLA: 2 of 4 met" in text
        assert "Cadence SLA: 5 of 5 met" in text
        assert "Report page: http://reports.example/reports/SH001.html" in text
        assert "7 of 7" not in text and "9 of 9" not in text  # the week before is not in it
        # UR001's manager: one e-mail, no leads in the week, 4 wins, no SLA check due
        (mail,) = smtp.messages
        assert mail.recipients == ["manager@ur.example"]
        assert _subject(mail) == (
            "Weekly funnel report, Urumqi Xinshi Auto (UR001): week 2026-10-05 – 2026-10-11"
        )
        html = _html(mail)
        assert "Leads created in the week: 0" in html and "Won in the week: 4" in html
        assert "SLA compliance: no check was due in the week" in html
        assert '<a href="http://reports.example/reports/UR001.html">Report page</a>' in html
        assert (
            mail.headers["X-Dealerfunnel-Dedup-Key"] == "digest:UR001:2026-10-05:ur_manager/email"
        )
        # HQ's catch-all alert route gets no digest
        assert web.on("/webhook/hq") == []

        # a re-run, and a run later in the same week: nothing is sent again
        for now in (MONDAY, THURSDAY):
            again = deliver_weekly_digests(url, CONFIG, now=now)
            assert again["sent"] == 0 and again["pending"] == 0
        assert len(web.requests) == 1 and len(smtp.messages) == 1
        assert _digests(url) == [
            ("SH001", WEEK, "sh_manager/webhook", "sent"),
            ("UR001", WEEK, "ur_manager/email", "sent"),
        ]

        # the next week, SH001's receiver is down: every try is recorded and it stays owed;
        # UR001's digest of that week goes out
        web.fail_with(500)
        down = deliver_weekly_digests(url, CONFIG, now=NEXT_MONDAY, sleep=lambda s: None)
        assert down["sent"] == 1 and down["pending"] == 1 and down["failed_attempts"] == 2
        next_week = date(2026, 10, 12)
        assert _digests(url)[2:] == [
            ("SH001", next_week, "sh_manager/webhook", "failed"),
            ("SH001", next_week, "sh_manager/webhook", "failed"),
            ("UR001", next_week, "ur_manager/email", "sent"),
        ]
        # back up: the owed digest is sent on the next run, once; UR001's is not repeated
        web.fail_with(None)
        retried = deliver_weekly_digests(url, CONFIG, now=NEXT_MONDAY)
        assert retried["sent_to"] == ["SH001:2026-10-12:sh_manager/webhook"]
        assert deliver_weekly_digests(url, CONFIG, now=NEXT_MONDAY)["sent"] == 0
        assert len(web.requests) == 2 and len(smtp.messages) == 2
        assert "Leads created in the week: 0" in web.requests[1].body["text"]
    with psycopg.connect(url) as conn:
        sent = conn.execute(
            "select dealer_code, week_start, recipient, count(*) from ops.report_digests"
            " where status = 'sent' group by 1, 2, 3 order by 1, 2"
        ).fetchall()
    assert sent == [
        ("SH001", WEEK, "sh_manager/webhook", 1),
        ("SH001", next_week, "sh_manager/webhook", 1),
        ("UR001", WEEK, "ur_manager/email", 1),
        ("UR001", next_week, "ur_manager/email", 1),
    ]

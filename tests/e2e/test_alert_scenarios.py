"""Alert scenarios end to end: data -> rules -> episodes -> real deliveries to local receivers.

The marts are written directly (the dbt build is covered by the WAP and pipeline tests) so
each scenario can move the data through breach, persistence and recovery in seconds. Every
notice travels over HTTP to a local webhook receiver (Slack, DingTalk, WeCom and generic
formats) or over SMTP to a local SMTP server, and is counted there.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from alert_fixtures import local_receivers, p2i_rule
from mart_fixtures import dbt_ok

from dealerfunnel.alerts.episodes import evaluate_rules
from dealerfunnel.alerts.rules import parse_rules
from dealerfunnel.notify.config import parse_notifications
from dealerfunnel.notify.delivery import delivery_report
from dealerfunnel_demo.mart_fixtures import Week, write_monitoring_mart

WEEKS = [date(2026, 10, 5) + timedelta(weeks=i) for i in range(4)]
AS_OF = datetime(2026, 11, 2, tzinfo=UTC)

RULES = parse_rules(
    {
        "defaults": {"suppression_hours": 0},
        "rules": [
            p2i_rule(severity="critical", overrides={"SH001": {"threshold": 0.5}}),
            {
                "rule": "won_low_by_channel",
                "mart": "mart_funnel_conversion",
                "metric": "leads_won",
                "dimensions": ["channel"],
                "direction": "below",
                "threshold": 1,
                "consecutive_periods": 2,
            },
        ],
    }
)


@pytest.fixture
def receivers(monkeypatch):
    http = {
        "sc_slack": {"host": "/slack", "password": "hq"},
        "sc_ding": {"host": "/dingtalk/gz", "password": "SECx"},
        "sc_wecom": {"host": "/wecom/sh", "password": "k"},
        "sc_hook": {"host": "/hook/de"},
    }
    with local_receivers(monkeypatch, http, smtp_conn_id="sc_smtp") as (web, smtp):
        yield web, smtp


NOTIFY = parse_notifications(
    {
        "retry": {"attempts": 2, "backoff_seconds": 0.01},
        "recipients": {
            "hq": {
                "channels": [
                    {"type": "slack", "conn_id": "sc_slack"},
                    {"type": "email", "conn_id": "sc_smtp", "to": ["hq@example.com"]},
                ]
            },
            "gz_manager": {"channels": [{"type": "dingtalk", "conn_id": "sc_ding"}]},
            "sh_manager": {"channels": [{"type": "wecom", "conn_id": "sc_wecom"}]},
            "engineers": {"channels": [{"type": "webhook", "conn_id": "sc_hook"}]},
        },
        "routes": [
            {"match": {"min_severity": "critical"}, "recipients": ["hq"]},
            {"match": {"dealer": ["GZ001"]}, "recipients": ["gz_manager"]},
            {"match": {"dealer": ["SH001"]}, "recipients": ["sh_manager"]},
            {
                "match": {"rule_type": ["source_freshness", "data_quality"]},
                "recipients": ["engineers"],
            },
        ],
    }
)


def _mart(url, rates: dict[str, list[float]], won: int = 3):
    """Two channels per dealer, 50 potential leads each per week; rate -> interested.

    marts.mart_funnel_conversion per channel (the by-channel count rule) and
    marts.mart_funnel_monitoring per dealer (the rate rule: 100 leads a week, so a rate
    0.1 below the threshold is a real breach by its Wilson bound)."""
    weeks = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema if not exists marts")
        conn.execute("drop table if exists marts.mart_funnel_conversion")
        conn.execute(
            """create table marts.mart_funnel_conversion (
                dealer_code text, channel text, period_grain text, period_start date,
                leads_potential int, leads_interested int, leads_needs_defined int,
                leads_decision int, leads_won int, leads_lost int,
                is_period_complete boolean)"""
        )
        for dealer, weekly in rates.items():
            for week, rate in zip(WEEKS, weekly, strict=True):
                interested = round(50 * rate)
                weeks.append(Week(dealer, week, 100, 2 * interested))
                for channel in ("meta", "walk_in"):
                    conn.execute(
                        "insert into marts.mart_funnel_conversion values"
                        " (%s, %s, 'week', %s, 50, %s, 5, 4, %s, 1, true)",
                        (dealer, channel, week, interested, won),
                    )
    write_monitoring_mart(url, weeks)


def _run(url, as_of=AS_OF):
    return evaluate_rules(url, RULES, as_of=as_of, notifications=NOTIFY)


def _received(web, smtp) -> Counter:
    counts: Counter = Counter()
    for r in web.requests:
        body = json.dumps(r.body)
        kind = "recovery" if "RESOLVED" in body else "notify"
        counts[(r.path.split("/")[1], kind)] += 1
    for mail in smtp.messages:
        counts[("email", "recovery" if "[RESOLVED]" in mail.subject else "notify")] += 1
    return counts


def test_breach_persists_recovers_one_notice_per_recipient(clean_warehouse, receivers):
    url = clean_warehouse
    web, smtp = receivers
    ok = [0.6, 0.6, 0.6, 0.6]
    low = [0.6, 0.6, 0.2, 0.25]
    # SH001 at 0.4: fine for the group default (0.35), a breach for its override (0.5).
    _mart(url, {"GZ001": low, "SH001": [0.6, 0.6, 0.4, 0.4], "BJ001": ok})

    first = _run(url)
    assert sorted(first["opened"]) == ["p2i_low:GZ001", "p2i_low:SH001"]
    for _ in range(3):  # persists: updated, never re-notified
        again = _run(url)
        assert sorted(again["updated"]) == ["p2i_low:GZ001", "p2i_low:SH001"]
        assert again["delivery"]["sent"] == 0

    # Recovery: the last week is back to normal everywhere.
    _mart(url, {"GZ001": [0.6, 0.6, 0.2, 0.6], "SH001": [0.6, 0.6, 0.4, 0.6], "BJ001": ok})
    recovered = _run(url)
    assert sorted(recovered["resolved"]) == ["p2i_low:GZ001", "p2i_low:SH001"]
    _run(url)  # nothing more

    # Per episode: hq gets Slack + e-mail (critical), each dealer's manager its own channel;
    # exactly one notice and one recovery per (episode, recipient channel).
    assert _received(web, smtp) == Counter(
        {
            ("slack", "notify"): 2,
            ("slack", "recovery"): 2,
            ("email", "notify"): 2,
            ("email", "recovery"): 2,
            ("dingtalk", "notify"): 1,
            ("dingtalk", "recovery"): 1,
            ("wecom", "notify"): 1,
            ("wecom", "recovery"): 1,
        }
    )
    sent = [d for d in delivery_report(url) if d["status"] == "sent"]
    keys = [(d["alert_id"], d["recipient"], d["kind"]) for d in sent]
    assert len(keys) == len(set(keys)) == 12
    ding = web.on("/dingtalk")[0]
    assert {"timestamp", "sign"} <= set(ding.query)  # signed robot call


def test_receiver_outage_then_recovery_delivers_everything_once(clean_warehouse, receivers):
    url = clean_warehouse
    web, smtp = receivers
    _mart(url, {"GZ001": [0.6, 0.6, 0.2, 0.25], "SH001": [0.6, 0.6, 0.3, 0.3]})

    web.fail_with(500)  # HTTP receivers answer errors; e-mail still works
    run1 = _run(url)
    assert run1["delivery"]["failed_attempts"] >= 2 and run1["delivery"]["pending"] > 0
    web.stop()  # now refusing connections
    run2 = _run(url)
    assert run2["delivery"]["failed_attempts"] >= 2
    # While the receivers are down the episodes also recover.
    _mart(url, {"GZ001": [0.6, 0.6, 0.2, 0.6], "SH001": [0.6, 0.6, 0.3, 0.6]})
    run3 = _run(url)
    assert sorted(run3["resolved"]) == ["p2i_low:GZ001", "p2i_low:SH001"]
    web.fail_with(None)
    web.start()
    run4 = _run(url)
    assert run4["delivery"]["pending"] == 0
    run5 = _run(url)
    assert run5["delivery"]["sent"] == 0 and run5["delivery"]["failed_attempts"] == 0

    assert _received(web, smtp) == Counter(
        {
            ("slack", "notify"): 2,
            ("slack", "recovery"): 2,
            ("email", "notify"): 2,
            ("email", "recovery"): 2,
            ("dingtalk", "notify"): 1,
            ("dingtalk", "recovery"): 1,
            ("wecom", "notify"): 1,
            ("wecom", "recovery"): 1,
        }
    )
    report = delivery_report(url)
    failed = [d for d in report if d["status"] == "failed"]
    assert failed and all(d["error"] for d in failed)
    sent = Counter(
        (d["alert_id"], d["recipient"], d["kind"]) for d in report if d["status"] == "sent"
    )
    assert set(sent.values()) == {1} and len(sent) == 12
    # Print the figures for the closing note.
    print(
        f"\noutage scenario: {len(sent)} notices delivered once each, "
        f"{len(failed)} failed attempts recorded and retried"
    )


def test_flapping_within_suppression_window_is_not_renotified(clean_warehouse, receivers):
    url = clean_warehouse
    web, smtp = receivers
    rules = parse_rules(
        {
            "rules": [
                {
                    "rule": "p2i_low",
                    "metric": "rate_potential_to_interested",
                    "direction": "below",
                    "threshold": 0.35,
                    "suppression_hours": 24,
                }
            ]
        }
    )
    low = {"GZ001": [0.6, 0.6, 0.2, 0.2]}
    high = {"GZ001": [0.6, 0.6, 0.2, 0.6]}
    for data in (low, high, low, high):
        _mart(url, data)
        evaluate_rules(url, rules, as_of=AS_OF, notifications=NOTIFY)
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select status, suppressed from ops.alerts order by alert_id"
        ).fetchall()
    assert rows == [("resolved", False), ("resolved", True)]
    # one notice + one recovery (manager only: warning severity), the flap is silent
    assert _received(web, smtp) == Counter({("dingtalk", "notify"): 1, ("dingtalk", "recovery"): 1})


def _volume_mart(url, weekly: dict[str, list[tuple[date, int, float | None, bool]]]):
    """marts.mart_volume_monitoring rows (dealer -> [(week, leads, robust_z, judgeable)])."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema if not exists marts")
        conn.execute("drop table if exists marts.mart_volume_monitoring")
        conn.execute(
            "create table marts.mart_volume_monitoring (dealer_code text, period_start date,"
            " leads int, history_weeks int, baseline_median numeric, baseline_mad numeric,"
            " baseline_scale numeric, robust_z numeric, is_period_complete boolean,"
            " is_judgeable boolean)"
        )
        for dealer, rows in weekly.items():
            for week, leads, z, judgeable in rows:
                conn.execute(
                    "insert into marts.mart_volume_monitoring values"
                    " (%s, %s, %s, 8, 12, 1, 3.4641, %s, true, %s)",
                    (dealer, week, leads, z, judgeable),
                )


def test_volume_drop_by_robust_z_and_silent_source(clean_warehouse, receivers, data_dir):
    url = clean_warehouse
    web, _ = receivers
    rules = parse_rules(
        {
            "rules": [
                {
                    "rule": "volume_drop",
                    "type": "volume_anomaly",
                    "threshold": -3.5,
                    "severity": "critical",
                },
                {"rule": "silent", "type": "source_freshness", "threshold": 48},
            ]
        }
    )
    # GZ001: 12 a week, then 0 (z = -3.46 is not below -3.5: no), then 1 (z = -3.75: breach).
    # BJ001: 4 leads against 12, but too little history to judge. SH001: an ordinary week.
    _volume_mart(
        url,
        {
            "GZ001": [(WEEKS[0], 12, 0, True), (WEEKS[1], 0, -3.4641, True),
                      (WEEKS[2], 12, 0, True), (WEEKS[3], 1, -3.7528, True)],
            "BJ001": [(WEEKS[3], 4, -4.0, False)],
            "SH001": [(WEEKS[3], 11, -0.2887, True)],
        },
    )  # fmt: skip
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into ops.load_batches (batch_id, source, dealer_code, object, started_at,"
            " finished_at, status) values (%s, 'dealer_export', 'GZ001', 'leads', %s, %s,"
            " 'loaded')",
            (uuid.uuid4(), datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)),
        )
    as_of = datetime(2026, 11, 2, 12, tzinfo=UTC)
    freshness = ["run", "--select", "stg_ops__load_batches", "mart_source_freshness"]
    dbt_ok(freshness, url, vars_={"as_of_at": as_of.isoformat()})  # 36 h since the load
    summary = evaluate_rules(url, rules, as_of=as_of, notifications=NOTIFY)
    assert summary["opened"] == ["volume_drop:GZ001"]
    (slack,) = web.on("/slack")
    assert "1 leads in the week vs a median of 12 over the previous 8 weeks" in slack.body["text"]
    assert "Open: marts.mart_volume_monitoring" in slack.body["text"]
    # Four days later nothing new has landed: the source is silent (> 48 h).
    dbt_ok(freshness, url, vars_={"as_of_at": (as_of + timedelta(days=3)).isoformat()})
    later = evaluate_rules(url, rules, as_of=as_of + timedelta(days=3), notifications=NOTIFY)
    assert "silent:GZ001:source=dealer_export" in later["opened"]
    assert len(web.on("/hook")) == 1  # routed to the engineers

"""Alert episodes in ops.alerts against a real PostgreSQL: fire once, persist, resolve.

Notices go through the real delivery path to a local webhook receiver.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from alert_fixtures import AS_OF, P2I_LOW, WEEKS, empty_funnel_mart

from dealerfunnel.alerts.episodes import evaluate_rules as _evaluate
from dealerfunnel.alerts.rules import parse_rules
from dealerfunnel.notify.config import parse_notifications
from dealerfunnel_demo.receivers import WebhookReceiver

RULES = parse_rules({"rules": [P2I_LOW]})


def _mart(url: str, rows: list[tuple[str, str, date, int, int]]) -> None:
    """(dealer, channel, week, potential, interested) -> a minimal mart_funnel_conversion."""
    with (
        empty_funnel_mart(url) as conn,
        conn.cursor().copy(
            "copy marts.mart_funnel_conversion (dealer_code, channel, period_grain,"
            " period_start, leads_potential, leads_interested) from stdin"
        ) as copy,
    ):
        for dealer, channel, week, pot, inter in rows:
            copy.write_row((dealer, channel, "week", week, pot, inter))


def _alerts(url):
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select dealer_code, status, observed::float, period_start, notified_at is not null"
            " from ops.alerts order by alert_id"
        ).fetchall()


@pytest.fixture
def receiver(monkeypatch):
    web = WebhookReceiver().start()
    monkeypatch.setenv(
        "AIRFLOW_CONN_EPISODES_HOOK", json.dumps({"conn_type": "http", "host": f"{web.url}/hook"})
    )
    yield web
    web.stop()


@pytest.fixture
def sent(receiver):
    """The alerts notified so far (notify notices only), as the receiver got them."""

    class Sent(list):
        def refresh(self):
            self[:] = [r.body["alert"] for r in receiver.requests if r.body["event"] == "notify"]
            return self

    return Sent()


NOTIFY = parse_notifications(
    {
        "retry": {"attempts": 1, "backoff_seconds": 0},
        "recipients": {"hq": {"channels": [{"type": "webhook", "conn_id": "episodes_hook"}]}},
        "routes": [{"recipients": ["hq"]}],
    }
)


def evaluate_rules(url, rules, *, as_of, sent):
    summary = _evaluate(url, rules, as_of=as_of, notifications=NOTIFY)
    sent.refresh()
    return summary


def test_breach_fires_once_persists_then_resolves(clean_warehouse, sent, receiver):
    url = clean_warehouse
    # GZ001: two channels; week 3 = 6/20 + 2/20 = 8/40 = 0.20, week 4 = 5/20 + 7/20 = 0.30
    # -> both below 0.35 -> breach. SH001 stays at 0.60.
    rows = []
    for i, week in enumerate(WEEKS):
        gz = (
            [(12, 12), (12, 12)]
            if i < 2
            else ([(20, 6), (20, 2)] if i == 2 else [(20, 5), (20, 7)])
        )
        rows += [("GZ001", ch, week, p, n) for ch, (p, n) in zip(("meta", "walk_in"), gz)]
        rows.append(("SH001", "meta", week, 50, 30))
    _mart(url, rows)

    summary = evaluate_rules(url, RULES, as_of=AS_OF, sent=sent)
    assert summary["opened"] == ["p2i_low:GZ001"]
    assert len(sent) == 1 and sent[0]["dealer_code"] == "GZ001"
    assert float(sent[0]["observed"]) == pytest.approx(12 / 40)  # latest week: 0.30
    assert _alerts(url) == [("GZ001", "open", pytest.approx(0.3), WEEKS[2], True)]

    # Same data again: the episode persists, nobody is notified again.
    summary = evaluate_rules(url, RULES, as_of=AS_OF, sent=sent)
    assert summary["updated"] == ["p2i_low:GZ001"] and summary["opened"] == []
    assert len(sent) == 1

    # Recovery: week 4 back to 0.6 -> no longer two weeks below -> resolved.
    recovered = [r for r in rows if not (r[0] == "GZ001" and r[2] == WEEKS[3])]
    recovered += [("GZ001", "meta", WEEKS[3], 20, 12), ("GZ001", "walk_in", WEEKS[3], 20, 12)]
    _mart(url, recovered)
    summary = evaluate_rules(url, RULES, as_of=AS_OF, sent=sent)
    assert summary["resolved"] == ["p2i_low:GZ001"]
    assert [a[1] for a in _alerts(url)] == ["resolved"]
    assert len(sent) == 1
    assert [r.body["event"] for r in receiver.requests] == ["notify", "recovery"]


def test_failed_notification_is_retried_next_run(clean_warehouse, sent, receiver):
    url = clean_warehouse
    _mart(url, [("GZ001", "meta", w, 20, 2) for w in WEEKS])

    receiver.fail_with(503)
    summary = evaluate_rules(url, RULES, as_of=AS_OF, sent=sent)
    assert summary["delivery"]["failed_attempts"] == 1 and summary["delivery"]["pending"] == 1
    assert _alerts(url)[0][4] is False  # not marked notified
    receiver.fail_with(None)
    summary = evaluate_rules(url, RULES, as_of=AS_OF, sent=sent)
    assert summary["delivery"]["sent"] == 1 and len(sent) == 1
    summary = evaluate_rules(url, RULES, as_of=AS_OF, sent=sent)
    assert summary["delivery"]["sent"] == 0 and len(sent) == 1


def test_incomplete_and_small_periods_are_ignored(clean_warehouse, sent):
    url = clean_warehouse
    # Only 5 leads per week: below min_denominator=10, never judged.
    _mart(url, [("GZ001", "meta", w, 5, 0) for w in WEEKS])
    assert evaluate_rules(url, RULES, as_of=AS_OF, sent=sent)["opened"] == []
    # Big but the last two weeks are not complete yet at as_of = Monday of week 3.
    _mart(url, [("GZ001", "meta", w, 50, 5 if i >= 2 else 40) for i, w in enumerate(WEEKS)])
    early = datetime.combine(WEEKS[2] + timedelta(days=1), datetime.min.time(), UTC)
    assert evaluate_rules(url, RULES, as_of=early, sent=sent)["opened"] == []
    assert sent == []

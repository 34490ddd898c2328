"""Alert episodes in ops.alerts against a real PostgreSQL: fire once, persist, resolve.

Notices go through the real delivery path to a local webhook receiver.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from alert_fixtures import p2i_rule

from dealerfunnel.alerts.episodes import evaluate_rules as _evaluate
from dealerfunnel.alerts.rules import parse_rules
from dealerfunnel.notify.config import parse_notifications
from dealerfunnel_demo.mart_fixtures import Week, write_monitoring_mart
from dealerfunnel_demo.receivers import WebhookReceiver

RULES = parse_rules({"rules": [p2i_rule(severity="critical")]})
WEEKS = [date(2026, 10, 5) + timedelta(weeks=i) for i in range(4)]  # Mondays
AS_OF = datetime(2026, 11, 2, tzinfo=UTC)  # the 4 weeks are complete


def _mart(url: str, rows: list[tuple[str, str, date, int, int]], immature=()) -> None:
    """(dealer, channel, week, potential, interested) -> marts.mart_funnel_monitoring rows
    (all channels of a dealer x week summed, as the dbt model does); weeks in ``immature``
    are complete but not yet mature for potential -> interested."""
    totals: dict[tuple[str, date], list[int]] = {}
    for dealer, _channel, week, pot, inter in rows:
        total = totals.setdefault((dealer, week), [0, 0])
        total[0] += pot
        total[1] += inter
    write_monitoring_mart(
        url,
        [
            Week(dealer, week, pot, inter, mature=week not in immature)
            for (dealer, week), (pot, inter) in totals.items()
        ],
    )


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
    # GZ001: two channels; week 3 = 4/20 + 2/20 = 6/40 = 0.15, week 4 = 3/20 + 5/20 = 0.20
    # (one-sided 95 % Wilson upper 0.321 < 0.35: real) -> both below 0.35 -> breach.
    # SH001 stays at 0.60.
    rows = []
    for i, week in enumerate(WEEKS):
        gz = (
            [(12, 12), (12, 12)]
            if i < 2
            else ([(20, 4), (20, 2)] if i == 2 else [(20, 3), (20, 5)])
        )
        rows += [("GZ001", ch, week, p, n) for ch, (p, n) in zip(("meta", "walk_in"), gz)]
        rows.append(("SH001", "meta", week, 50, 30))
    _mart(url, rows)

    summary = evaluate_rules(url, RULES, as_of=AS_OF, sent=sent)
    assert summary["opened"] == ["p2i_low:GZ001"]
    assert len(sent) == 1 and sent[0]["dealer_code"] == "GZ001"
    assert float(sent[0]["observed"]) == pytest.approx(8 / 40)  # latest week: 0.20
    assert _alerts(url) == [("GZ001", "open", pytest.approx(0.2), WEEKS[2], True)]

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


def test_incomplete_and_noisy_periods_are_ignored(clean_warehouse, sent):
    url = clean_warehouse
    # 4 leads a week, 1 interested (0.25): below 0.35, but the upper bound (0.62) is not.
    _mart(url, [("GZ001", "meta", w, 4, 1) for w in WEEKS])
    assert evaluate_rules(url, RULES, as_of=AS_OF, sent=sent)["opened"] == []
    # Big but the last two weeks are not complete yet at as_of = Monday of week 3.
    _mart(url, [("GZ001", "meta", w, 50, 5 if i >= 2 else 40) for i, w in enumerate(WEEKS)])
    early = datetime.combine(WEEKS[2] + timedelta(days=1), datetime.min.time(), UTC)
    assert evaluate_rules(url, RULES, as_of=early, sent=sent)["opened"] == []
    assert sent == []


def test_small_dealer_judged_by_the_confidence_bound(clean_warehouse, sent):
    """12 leads a week at ~10 % is a real breach; 8 a week at 25-30 % is noise."""
    url = clean_warehouse
    rows = []
    for i, week in enumerate(WEEKS):
        # BJ001: 12 leads, 1 interested (0.083, upper 0.301 < 0.35) in weeks 3 and 4.
        rows.append(("BJ001", "meta", week, 12, 6 if i < 2 else 1))
        # SZ001: 8 leads, 2 interested (0.25, upper 0.540): below 0.35 but not surely so.
        rows.append(("SZ001", "meta", week, 8, 4 if i < 2 else 2))
    _mart(url, rows)
    summary = evaluate_rules(url, RULES, as_of=AS_OF, sent=sent)
    assert summary["opened"] == ["p2i_low:BJ001"]
    assert [a["dealer_code"] for a in sent] == ["BJ001"]
    with psycopg.connect(url) as conn:
        (detail,) = conn.execute("select detail from ops.alerts").fetchone()
    assert detail["source"] == "marts.mart_funnel_monitoring"
    assert [p["bound"] for p in detail["periods"]] == [0.3012, 0.3012]


def test_immature_week_is_not_judged(clean_warehouse, sent):
    url = clean_warehouse
    # Weeks 3 and 4 are low, but week 4's cohort is not yet mature for potential ->
    # interested: the judged window is weeks 2 and 3, and week 2 is fine.
    rows = [("GZ001", "meta", w, 40, 30 if i < 2 else 2) for i, w in enumerate(WEEKS)]
    _mart(url, rows, immature={WEEKS[3]})
    assert evaluate_rules(url, RULES, as_of=AS_OF, sent=sent)["opened"] == []
    # Once week 4 matures the two low weeks are judged: a breach since week 3.
    _mart(url, rows)
    assert evaluate_rules(url, RULES, as_of=AS_OF, sent=sent)["opened"] == ["p2i_low:GZ001"]
    assert sent[0]["period_start"] == WEEKS[2].isoformat()


DQ_RULES = parse_rules({"rules": [{"rule": "data_quality", "type": "data_quality"}]})


def _gate_run(url, checkpoint, failures, docs="file:///docs/index.html"):
    """One recorded gate run with (check_key, severity, observed) failures."""
    with psycopg.connect(url, autocommit=True) as conn:
        (run_id,) = conn.execute(
            "insert into ops.quality_runs (checkpoint, success, evaluated, blocking_failures,"
            " warnings, data_docs_url) values (%s, %s, 10, %s, %s, %s) returning quality_run_id",
            (
                checkpoint,
                not any(f[1] == "blocking" for f in failures),
                sum(f[1] == "blocking" for f in failures),
                sum(f[1] == "warning" for f in failures),
                docs,
            ),
        ).fetchone()
        for key, severity, observed in failures:
            conn.execute(
                "insert into ops.quality_failures (quality_run_id, check_key, source, suite,"
                " check_name, severity, observed) values (%s, %s, 'gx', 's', %s, %s, %s)",
                (run_id, key, f"check {key}", severity, observed),
            )


def test_data_quality_warnings_of_a_run_are_one_digest(clean_warehouse, sent, receiver):
    url = clean_warehouse
    _gate_run(url, "raw", [("w1", "warning", "12.5"), ("w2", "warning", "3")])
    _gate_run(url, "marts", [("w3", "warning", "7")])
    summary = evaluate_rules(url, DQ_RULES, as_of=AS_OF, sent=sent)
    assert summary["opened"] == ["data_quality:*:warnings"]
    assert len(sent) == 1 and sent[0]["observed"] == 3 and sent[0]["threshold"] == 0
    (request,) = receiver.requests
    text = json.dumps(request.body)
    for part in ("check w1", "check w2", "check w3", "Observed: 3", "threshold", "Since:"):
        assert part in text, part
    assert "file:///docs/index.html" in text and "n/a" not in text
    # The next run: one warning fixed, one blocking failure: the digest persists (no new
    # message), the blocking failure is its own critical episode.
    _gate_run(url, "raw", [("w1", "warning", "12.5"), ("b1", "blocking", "0")])
    summary = evaluate_rules(url, DQ_RULES, as_of=AS_OF, sent=sent)
    assert summary["opened"] == ["data_quality:*:raw"]
    assert summary["updated"] == ["data_quality:*:warnings"]
    # All clear: both resolve.
    _gate_run(url, "raw", [])
    _gate_run(url, "marts", [])
    summary = evaluate_rules(url, DQ_RULES, as_of=AS_OF, sent=sent)
    assert sorted(summary["resolved"]) == ["data_quality:*:raw", "data_quality:*:warnings"]


def test_rate_message_states_observed_threshold_period_since_and_mart(
    clean_warehouse, sent, receiver
):
    url = clean_warehouse
    _mart(url, [("GZ001", "meta", w, 40, 30 if i < 2 else 4) for i, w in enumerate(WEEKS)])
    evaluate_rules(url, RULES, as_of=AS_OF, sent=sent)
    (request,) = receiver.requests
    text = json.dumps(request.body, ensure_ascii=False)
    for part in (
        "Observed: 10.0%, below threshold 35.0% for 2 consecutive weeks",
        f"Period: week of {WEEKS[3].isoformat()}",
        f"Since: {WEEKS[2].isoformat()}",
        "Open: marts.mart_funnel_monitoring",
        "rate_potential_to_interested_upper",
    ):
        assert part in text, part
    assert "n/a" not in text

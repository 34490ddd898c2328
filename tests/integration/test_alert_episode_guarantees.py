"""Episode guarantees the issue lists, against a real PostgreSQL and a local receiver: a
re-breach after the suppression window is notified again, two evaluations racing on one
warehouse notify once, and a run over files only opens no freshness episode."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from alert_fixtures import p2i_rule
from mart_fixtures import dbt_ok, fetch_rows

from dealerfunnel.alerts.episodes import evaluate_rules
from dealerfunnel.alerts.rules import load_rules, parse_rules
from dealerfunnel.landing import load_landing
from dealerfunnel.notify.config import parse_notifications
from dealerfunnel_demo.mart_fixtures import Week, write_monitoring_mart
from dealerfunnel_demo.receivers import WebhookReceiver

WEEKS = [date(2026, 10, 5) + timedelta(weeks=i) for i in range(4)]  # Mondays
AS_OF = datetime(2026, 11, 2, tzinfo=UTC)  # the 4 weeks are complete
NOTIFY = parse_notifications(
    {
        "retry": {"attempts": 1, "backoff_seconds": 0},
        "recipients": {"hq": {"channels": [{"type": "webhook", "conn_id": "guarantees_hook"}]}},
        "routes": [{"recipients": ["hq"]}],
    }
)


def _rules(suppression_hours: float = 24):
    return parse_rules({"rules": [p2i_rule(suppression_hours=suppression_hours)]})


# GZ001, 40 potential leads a week. Low: weeks 3-4 at 4/40 = 10 % (upper Wilson bound 0.2043 <
# 0.35, a real breach). High: week 4 back at 30/40 = 75 %, so no two low weeks in a row.
LOW = [Week("GZ001", w, 40, 30 if i < 2 else 4) for i, w in enumerate(WEEKS)]
HIGH = [Week("GZ001", w, 40, 30 if i != 2 else 4) for i, w in enumerate(WEEKS)]


@pytest.fixture
def receiver(monkeypatch):
    web = WebhookReceiver().start()
    monkeypatch.setenv(
        "AIRFLOW_CONN_GUARANTEES_HOOK",
        json.dumps({"conn_type": "http", "host": f"{web.url}/hook"}),
    )
    yield web
    web.stop()


def _notices(web: WebhookReceiver) -> list[tuple[str, int]]:
    return [(r.body["event"], r.body["alert"]["alert_id"]) for r in web.requests]


def _episodes(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select alert_id, status, suppressed, notified_at is not null from ops.alerts"
            " order by alert_id"
        ).fetchall()


def test_rebreach_after_the_suppression_window_is_notified_again(clean_warehouse, receiver):
    url = clean_warehouse
    rules = _rules(suppression_hours=24)
    t0 = datetime.now(UTC)  # notified_at is the delivery's wall-clock time

    def step(weeks, hours):
        write_monitoring_mart(url, weeks)
        return evaluate_rules(
            url, rules, as_of=AS_OF, notifications=NOTIFY, now=t0 + timedelta(hours=hours)
        )

    assert step(LOW, 0)["opened"] == ["p2i_low:GZ001"]  # episode 1, notified
    assert step(HIGH, 1)["resolved"] == ["p2i_low:GZ001"]  # its recovery notice
    # 23 h after the notice: inside the window, the flap is recorded but silent
    assert step(LOW, 23)["suppressed"] == ["p2i_low:GZ001"]
    assert step(HIGH, 24)["resolved"] == ["p2i_low:GZ001"]  # no recovery for a silent one
    # 25 h after the notice: outside the window, notified again
    assert step(LOW, 25)["opened"] == ["p2i_low:GZ001"]

    (first, *_), (second, *_), (third, *_) = episodes = _episodes(url)
    assert episodes == [
        (first, "resolved", False, True),
        (second, "resolved", True, False),
        (third, "open", False, True),
    ]
    assert _notices(receiver) == [("notify", first), ("recovery", first), ("notify", third)]


def test_two_evaluations_racing_on_one_warehouse_notify_once(clean_warehouse, receiver):
    """Two evaluate_rules on their own connections, released together by a barrier, three
    rounds (each a fresh breach): every breach is one episode and one message."""
    url = clean_warehouse
    rules = _rules(suppression_hours=0)
    for round_ in range(3):
        write_monitoring_mart(url, LOW)
        barrier = threading.Barrier(2)
        results: list[dict] = []
        errors: list[BaseException] = []

        def evaluate():
            try:
                barrier.wait(timeout=30)
                results.append(evaluate_rules(url, rules, as_of=AS_OF, notifications=NOTIFY))
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=evaluate) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors
        # one evaluation opened the episode, the other found it open
        assert sorted(len(r["opened"]) for r in results) == [0, 1], results
        assert sorted(len(r["updated"]) for r in results) == [0, 1], results
        assert sum(r["delivery"]["sent"] for r in results) == 1, results
        with psycopg.connect(url) as conn:
            open_ids = conn.execute("select alert_id from ops.alerts where status = 'open'")
            ((alert_id,),) = open_ids.fetchall()
            sent = conn.execute(
                "select count(*) from ops.alert_deliveries where alert_id = %s and status = 'sent'",
                (alert_id,),
            ).fetchone()[0]
        assert sent == 1
        assert [n for n in _notices(receiver) if n[1] == alert_id] == [("notify", alert_id)]
        # clear the breach before the next round (its recovery is delivered once too)
        write_monitoring_mart(url, HIGH)
        evaluate_rules(url, rules, as_of=AS_OF, notifications=NOTIFY)
        assert _notices(receiver)[-1] == ("recovery", alert_id), round_
    assert [event for event, _ in _notices(receiver)] == ["notify", "recovery"] * 3


def test_a_run_over_files_only_opens_no_freshness_episode(
    clean_warehouse, tmp_path, monkeypatch, data_dir
):
    """No API Connection defined, one dealer's export landed: the committed freshness rule
    judges that file source only, and it is fresh."""
    for key in ("META_ADS", "GOOGLE_ADS", "SALESFORCE", "HUBSPOT", "EVENTBRITE"):
        monkeypatch.delenv(f"AIRFLOW_CONN_{key}", raising=False)
    url = clean_warehouse
    day = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    (tmp_path / "landing" / "SH001").mkdir(parents=True)
    (tmp_path / "landing" / "SH001" / "leads.csv").write_text(
        f"lead_id,created_at,channel\nSH001-1,{day},walk_in\nSH001-2,{day},walk_in\n",
        encoding="utf-8",
    )
    report = load_landing(url, tmp_path / "landing")
    assert report["dealers"]["SH001"]["totals"]["rows_loaded"] == 2

    freshness = [r for r in load_rules() if r.type == "source_freshness"]
    assert freshness, "the committed alert_rules.yml has a source_freshness rule"
    mart = ["run", "--select", "stg_ops__load_batches", "mart_source_freshness"]
    dbt_ok(mart, url)  # the freshness mart, as the transform builds it
    assert fetch_rows(url, "select source from marts.mart_source_freshness") == [
        {"source": "dealer_export"}
    ]
    summary = evaluate_rules(url, freshness, deliver=False)
    assert summary["opened"] == [] and summary["suppressed"] == []
    assert _episodes(url) == []
    # The rule does judge the file source: silent for longer than its threshold, it opens.
    threshold = freshness[0].threshold
    later = datetime.now(UTC) + timedelta(hours=threshold + 1)
    dbt_ok(mart, url, vars_={"as_of_at": later.isoformat()})  # a later run's freshness
    summary = evaluate_rules(url, freshness, as_of=later, deliver=False)
    assert summary["opened"] == [f"{freshness[0].rule}:SH001:source=dealer_export"]

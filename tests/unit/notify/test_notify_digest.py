"""The weekly digest's words, its week and who it is routed to (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from dealerfunnel.notify.config import parse_notifications
from dealerfunnel.notify.digest import digest_week
from dealerfunnel.notify.message import build_digest_message

FIGURES = {
    "dealer_code": "SH001",
    "dealer_name": "Shanghai Pudong Motors",
    "timezone": "Asia/Shanghai",
    "week_start": date(2026, 10, 5),
    "week_end": date(2026, 10, 11),
    "leads": 40,
    "won": 3,
    "rates": [
        ("potential → interested", 0.45, True),
        ("lead → won", 0.075, False),
        ("decision → won", None, False),
    ],
    "won_in_period": 5,
    "sla": [("Assignment SLA", 30, 40), ("First contact SLA", 0, 0), ("Cadence SLA", 7, 9)],
}


def test_the_digest_states_the_weeks_figures_with_maturity_and_links_the_dealer_page():
    message = build_digest_message(
        FIGURES, recipient="sales_manager_SH001/email", reports_base_url="http://h/reports/"
    )
    assert message.kind == "weekly_digest"
    assert message.title == (
        "Weekly funnel report, Shanghai Pudong Motors (SH001): week 2026-10-05 – 2026-10-11"
    )
    assert message.lines == (
        "Week 2026-10-05 – 2026-10-11 (Asia/Shanghai)",
        "Leads created in the week: 40; of them won so far: 3 (cohort view)",
        "potential → interested: 45.0% (final)",
        "lead → won: 7.5% (not mature yet: the rate may still rise)",
        "decision → won: n/a (no lead reached the earlier stage)",
        "Won in the week: 5 (activity view, any lead)",
        "Assignment SLA: 30 of 40 met",
        "Cadence SLA: 7 of 9 met",  # no first-contact check was due: left out
    )
    assert message.links == (("Report page", "http://h/reports/SH001.html"),)
    assert '<a href="http://h/reports/SH001.html">Report page</a>' in message.html
    assert "Report page: http://h/reports/SH001.html" in message.text
    assert message.dedup_key == "digest:SH001:2026-10-05:sales_manager_SH001/email"
    assert message.data["sla"]["Assignment SLA"] == {"met": 30, "due": 40}
    assert message.data["report_page"] == "http://h/reports/SH001.html"


def test_a_quiet_week_and_missing_marts_say_so():
    quiet = {**FIGURES, "leads": 0, "won": 0, "rates": [], "sla": [("Assignment SLA", 0, 0)]}
    lines = build_digest_message(quiet).lines
    assert "Leads created in the week: 0" in lines
    assert "SLA compliance: no check was due in the week" in lines
    assert "Report page: not linked (links.reports_base_url is not set)" in lines
    missing = {
        k: v for k, v in FIGURES.items() if k not in ("leads", "won", "won_in_period", "sla")
    }
    lines = build_digest_message(missing, reports_base_url="http://h").lines
    assert "Leads: not available (marts.mart_funnel_monitoring is not built)" in lines
    assert "SLA compliance: not available (marts.mart_sla_compliance is not built)" in lines
    assert not any(line.startswith("Won in the week") for line in lines)


def test_the_week_is_the_latest_one_over_in_the_dealers_local_time():
    # Sunday 2026-10-11 17:00 UTC is Monday 01:00 in Shanghai, still Sunday 23:00 in Urumqi
    now = datetime(2026, 10, 11, 17, 0, tzinfo=UTC)
    assert digest_week("Asia/Shanghai", now) == date(2026, 10, 5)
    assert digest_week("Asia/Urumqi", now) == date(2026, 9, 28)
    # any later day of the week still means the same week
    assert digest_week("Asia/Shanghai", datetime(2026, 10, 17, 3, 0, tzinfo=UTC)) == date(
        2026, 10, 5
    )


def test_digests_go_only_to_routes_that_ask_for_them_and_match_the_dealer():
    config = parse_notifications(
        {
            "recipients": {
                "hq": {"channels": [{"type": "webhook", "conn_id": "hq"}]},
                "sh": {"channels": [{"type": "webhook", "conn_id": "sh"}]},
                "ur": {
                    "channels": [
                        {"type": "email", "conn_id": "smtp", "to": ["m@ur.example"]},
                        {"type": "webhook", "conn_id": "ur"},
                    ]
                },
            },
            "routes": [
                {"recipients": ["hq"]},  # catch-all for alerts: no digests
                {"match": {"min_severity": "critical"}, "recipients": ["hq"]},
                {"match": {"dealer": "SH001", "rule_type": ["threshold", "weekly_digest"]},
                 "recipients": ["sh"]},
                {"match": {"dealer": ["UR001"], "rule_type": "weekly_digest"},
                 "recipients": ["ur", "ur"]},
                {"match": {"dealer": "UR001", "rule_type": "threshold"}, "recipients": ["hq"]},
            ],
        }
    )  # fmt: skip
    assert [c.key for c in config.digest_channels("SH001")] == ["sh/webhook"]
    assert [c.key for c in config.digest_channels("UR001")] == ["ur/email", "ur/webhook"]
    assert config.digest_channels("BJ001") == []


def test_the_shipped_notifications_route_each_dealers_digest_to_its_sales_manager():
    from dealerfunnel.notify.config import load_notifications

    config = load_notifications()
    for dealer in ("SH001", "SH002", "BJ001", "GZ001", "CD001", "UR001"):
        recipients = {c.recipient for c in config.digest_channels(dealer)}
        assert recipients == {f"sales_manager_{dealer}"}, dealer
    assert config.reports_base_url


def test_a_missing_connection_is_not_retried_within_the_run(monkeypatch):
    from dealerfunnel.notify.config import Channel, Retry
    from dealerfunnel.notify.delivery import send_with_retries

    monkeypatch.delenv("AIRFLOW_CONN_NOWHERE_AT_ALL", raising=False)
    errors, pauses = [], []
    ok = send_with_retries(
        Channel("r", "webhook", "webhook", conn_id="nowhere_at_all"),
        build_digest_message(FIGURES),
        Retry(attempts=3, backoff_seconds=5),
        sleep=pauses.append,
        failed=errors.append,
    )
    assert not ok and pauses == []
    assert len(errors) == 1 and "'nowhere_at_all' is not defined" in errors[0]

"""Alert messages link the report page of their dealer (``links.reports_base_url``)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from dealerfunnel.notify.config import parse_notifications
from dealerfunnel.notify.message import build_message

ALERT = {
    "alert_id": 7,
    "rule": "potential_to_interested_low",
    "rule_type": "threshold",
    "dealer_code": "GZ001",
    "subject": "",
    "metric": "rate_potential_to_interested",
    "observed": 0.2,
    "threshold": 0.35,
    "severity": "warning",
    "status": "open",
    "period_start": date(2026, 10, 12),
    "first_fired_at": datetime(2026, 10, 27, 6, 0, tzinfo=UTC),
    "detail": {},
}


def test_a_dealer_alert_links_the_dealer_page_and_a_group_alert_the_group_page():
    base = "http://127.0.0.1:8765/reports/"
    message = build_message(ALERT, "notify", reports_base_url=base)
    assert ("Report page", "http://127.0.0.1:8765/reports/GZ001.html") in message.links
    assert "Report page: http://127.0.0.1:8765/reports/GZ001.html" in message.text
    assert '<a href="http://127.0.0.1:8765/reports/GZ001.html">Report page</a>' in message.html
    group = build_message({**ALERT, "dealer_code": "*"}, "notify", reports_base_url=base)
    assert ("Report page", "http://127.0.0.1:8765/reports/group.html") in group.links
    assert not [label for label, _ in build_message(ALERT, "notify").links if "Report" in label]


def test_the_base_url_comes_from_notifications_yml():
    config = parse_notifications({"links": {"reports_base_url": "https://hq.example/reports"}})
    assert config.reports_base_url == "https://hq.example/reports"
    assert parse_notifications({}).reports_base_url is None

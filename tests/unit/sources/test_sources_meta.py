"""Meta connector: Graph error dialect, request builders, record parsing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import httpx
import pytest

from dealerfunnel.sources import meta
from dealerfunnel.sources.loader import RecordInvalid

# -- dialects ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "headers", "kind", "delay"),
    [
        (400, 190, {}, "auth", None),
        (403, 200, {}, "auth", None),
        (400, 17, {}, "rate_limited", None),
        (400, 613, {"retry-after": "9"}, "rate_limited", 9.0),
        (
            400,
            80004,
            {
                "x-business-use-case-usage": json.dumps(
                    {"1": [{"type": "ads_insights", "estimated_time_to_regain_access": 2}]}
                )
            },
            "rate_limited",
            120.0,
        ),
        (500, 2, {}, "retry", None),
        (400, 100, {}, "fatal", None),
    ],
)
def test_graph_dialect(status, code, headers, kind, delay):
    body = json.dumps({"error": {"message": "m", "type": "OAuthException", "code": code}})
    failure = meta.GraphDialect().classify(status, httpx.Headers(headers), body)
    assert (failure.kind, failure.retry_after) == (kind, delay)


def test_meta_leads_params():
    params = meta.leads_params(("id", "created_time"), since=1777852800, limit=100, after="QVF")
    assert params["fields"] == "id,created_time"
    assert json.loads(params["filtering"]) == [
        {"field": "time_created", "operator": "GREATER_THAN", "value": 1777852800}
    ]
    assert (params["limit"], params["after"]) == ("100", "QVF")
    assert "filtering" not in meta.leads_params(("id",), since=None, limit=25, after=None)


def test_meta_insights_params():
    params = meta.insights_params(
        meta.INSIGHTS_FIELDS, since=date(2026, 5, 1), until=date(2026, 5, 7), limit=50, after=None
    )
    assert params["level"] == "campaign" and params["time_increment"] == "1"
    assert json.loads(params["time_range"]) == {"since": "2026-05-01", "until": "2026-05-07"}
    # the account currency is asked for: spend is in it
    assert params["fields"].split(",")[:4] == [
        "campaign_id", "campaign_name", "account_currency", "spend"
    ]  # fmt: skip


def test_meta_next_cursor_only_when_next_present():
    assert meta.next_cursor({"paging": {"cursors": {"after": "A"}, "next": "https://x"}}) == "A"
    assert meta.next_cursor({"paging": {"cursors": {"after": "A"}}}) is None
    assert meta.next_cursor({"data": []}) is None


def _lead_stream():
    return meta.LeadsStream(
        client=None,
        version="v23.0",
        dealer_code="SH001",
        account_id="200000000001",
        form_id="2000000000011",
    )


def test_meta_lead_parsing():
    parsed = _lead_stream().parse({"id": "9", "created_time": "2026-05-04T02:13:00+0000"})
    assert parsed.record_id == "9"
    assert parsed.updated_at == datetime(2026, 5, 4, 2, 13, tzinfo=UTC)
    with pytest.raises(RecordInvalid, match="created_time"):
        _lead_stream().parse({"id": "9"})
    with pytest.raises(RecordInvalid, match="unparseable"):
        _lead_stream().parse({"id": "9", "created_time": "yesterday"})
    with pytest.raises(RecordInvalid, match="'id'"):
        _lead_stream().parse({"created_time": "2026-05-04T02:13:00+0000"})


def test_meta_insights_parsing():
    insights = meta.InsightsStream(
        client=None, dealer_code="SH001", account_id="act_1", start=date(2026, 5, 4),
        today=date.today,
    )  # fmt: skip
    assert insights.parse({"campaign_id": "7", "date_start": "2026-05-04"}).record_id == (
        "7|2026-05-04"
    )
    with pytest.raises(RecordInvalid):
        insights.parse({"campaign_id": "7", "date_start": "May 4"})

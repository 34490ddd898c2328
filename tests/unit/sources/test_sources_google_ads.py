"""Google Ads connector: error dialect, GAQL builders, record parsing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import httpx
import pytest

from dealerfunnel.sources import google_ads as gads
from dealerfunnel.sources.loader import RecordInvalid


def _google_error(code, status, error_code, retry_delay=None):
    error = {"errorCode": error_code, "message": "m"}
    if retry_delay:
        error["details"] = {"quotaErrorDetails": {"retryDelay": retry_delay}}
    return json.dumps(
        {
            "error": {
                "code": code,
                "message": "m",
                "status": status,
                "details": [{"@type": gads.SOURCE, "errors": [error]}],
            }
        }
    )


@pytest.mark.parametrize(
    ("code", "status", "error_code", "delay", "kind", "expected_delay"),
    [
        (401, "UNAUTHENTICATED", {"authenticationError": "OAUTH_TOKEN_EXPIRED"}, None, "auth",
         None),
        (403, "PERMISSION_DENIED", {"authorizationError": "X"}, None, "auth", None),
        (429, "RESOURCE_EXHAUSTED", {"quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED"}, "30s",
         "rate_limited", 30.0),
        (500, "INTERNAL", {"internalError": "INTERNAL_ERROR"}, None, "retry", None),
        (400, "INVALID_ARGUMENT", {"queryError": "BAD"}, None, "fatal", None),
    ],
)  # fmt: skip
def test_google_ads_dialect(code, status, error_code, delay, kind, expected_delay):
    failure = gads.GoogleAdsDialect().classify(
        code, httpx.Headers({}), _google_error(code, status, error_code, delay)
    )
    assert (failure.kind, failure.retry_after) == (kind, expected_delay)


def test_gaql_builders():
    assert gads.gaql_literal("it's") == r"'it\'s'"
    assert gads.cost_query(date(2026, 5, 1), date(2026, 5, 7)) == (
        "SELECT customer.currency_code, campaign.id, campaign.name, segments.date, "
        "metrics.cost_micros, metrics.impressions, metrics.clicks FROM campaign "
        "WHERE segments.date BETWEEN '2026-05-01' AND '2026-05-07' ORDER BY segments.date"
    )
    query = gads.leads_query("2026-05-04 10:00:00", inclusive=True)
    assert "WHERE lead_form_submission_data.submission_date_time >= '2026-05-04 10:00:00'" in query
    assert "submission_date_time > '" in gads.leads_query("2026-05-04 10:00:00", inclusive=False)
    assert "WHERE" not in gads.leads_query(None, inclusive=False)
    with pytest.raises(ValueError):
        gads.gaql(["campaign.id; DROP"], "campaign")


def test_google_parsing():
    leads = gads.LeadFormSubmissionsStream(
        client=None, version="v22", dealer_code="SH001", account_id="1110000001"
    )
    row = {
        "leadFormSubmissionData": {
            "resourceName": "customers/1110000001/leadFormSubmissionData/5",
            "submissionDateTime": "2026-05-04 10:15:30+08:00",
        }
    }
    parsed = leads.parse(row)
    assert parsed.updated_at == datetime(2026, 5, 4, 2, 15, 30, tzinfo=UTC)
    del row["leadFormSubmissionData"]["submissionDateTime"]
    with pytest.raises(RecordInvalid, match="submissionDateTime"):
        leads.parse(row)
    costs = gads.CampaignCostsStream(
        client=None,
        version="v22",
        dealer_code="SH001",
        account_id="1110000001",
        start=date(2026, 5, 4),
        today=date.today,
    )
    assert costs.parse({"campaign": {"id": "3"}, "segments": {"date": "2026-05-05"}}).record_id == (
        "3|2026-05-05"
    )

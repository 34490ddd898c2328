"""Unit tests of the shared connector machinery and the request builders / record parsers."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime
from typing import ClassVar

import httpx
import pytest

from dealerfunnel.sources import ApiError, AuthFailed, RetriesExhausted, SourceConfigError, meta
from dealerfunnel.sources import google_ads as gads
from dealerfunnel.sources.config import (
    AccountSchema,
    SourceConnection,
    connection_from_airflow,
    load_source_settings,
)
from dealerfunnel.sources.httpclient import (
    BearerToken,
    HttpClient,
    OAuthTokenDialect,
    RetryPolicy,
    backoff_delay,
    parse_duration,
    parse_retry_after,
)
from dealerfunnel.sources.loader import RecordInvalid

# -- backoff and Retry-After ------------------------------------------------------------------


def test_backoff_is_exponential_with_jitter_and_capped():
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    rng = random.Random(1)
    for attempt, step in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (10, 8.0)):
        delays = [backoff_delay(attempt, policy, rng) for _ in range(200)]
        assert all(step / 2 <= d <= step for d in delays)
        assert len({round(d, 6) for d in delays}) > 100  # jittered


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("0", 0.0),
        ("-5", 0.0),
        ("1.5", 1.5),
        ("Wed, 21 Oct 2026 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2026 07:27:00 GMT", 0.0),  # in the past
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value, expected):
    now = datetime(2026, 10, 21, 7, 28, 0, tzinfo=UTC)
    assert parse_retry_after(value, now) == expected


def test_parse_duration():
    assert parse_duration("30s") == 30.0
    assert parse_duration("1.5s") == 1.5
    assert parse_duration("30") is None
    assert parse_duration(None) is None


# -- the retry loop (an in-memory transport; the integration tests use the sandbox) -----------


def _client(responses, *, dialect=None, policy=None, auth=None, secrets=()):
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        item = responses[min(len(calls), len(responses)) - 1]
        if isinstance(item, Exception):
            raise item
        return item

    sleeps: list[float] = []
    clock = [0.0]

    def sleep(seconds):
        sleeps.append(seconds)
        clock[0] += seconds

    client = HttpClient(
        "http://api.test",
        conn_id="meta_ads",
        dialect=dialect,
        auth=auth,
        policy=policy or RetryPolicy(base_delay=0.5, max_delay=4),
        secrets=secrets,
        sleep=sleep,
        clock=lambda: clock[0],
        rng=random.Random(0),
        transport=httpx.MockTransport(handler),
    )
    return client, calls, sleeps


def test_retry_after_is_honoured_and_5xx_timeouts_truncated_bodies_retried():
    ok = httpx.Response(200, json={"data": [1]})
    client, calls, sleeps = _client(
        [
            httpx.Response(429, headers={"Retry-After": "7"}, text="slow down"),
            httpx.Response(503, text="unavailable"),
            httpx.ReadTimeout("timed out"),
            httpx.Response(200, content=b'{"data": [1'),  # truncated
            ok,
        ]
    )
    assert client.get("/x") == {"data": [1]}
    assert len(calls) == 5
    assert sleeps[0] == 7.0
    assert all(0 < s <= 4 for s in sleeps[1:])
    assert client.stats.failures == {"rate_limited": 1, "retry": 3}


def test_attempts_and_total_time_are_bounded():
    client, calls, _ = _client(
        [httpx.Response(500, text="boom")], policy=RetryPolicy(max_attempts=3, base_delay=0.01)
    )
    with pytest.raises(RetriesExhausted, match="after 3 attempts"):
        client.get("/x")
    assert len(calls) == 3
    client, calls, _ = _client(
        [httpx.Response(429, headers={"Retry-After": "100"})],
        policy=RetryPolicy(max_total_seconds=150),
    )
    with pytest.raises(RetriesExhausted):
        client.get("/x")
    assert len(calls) == 2  # 100 s waited once; a second wait would pass 150 s


def test_auth_failure_is_not_retried_and_names_the_connection_not_the_secret():
    body = {"error": {"message": "bad token s3cr3t-token", "type": "OAuthException", "code": 190}}
    client, calls, sleeps = _client(
        [httpx.Response(400, json=body)],
        dialect=meta.GraphDialect(),
        auth=BearerToken("s3cr3t-token"),
        secrets=["s3cr3t-token"],
    )
    with pytest.raises(AuthFailed) as info:
        client.get("/x")
    assert len(calls) == 1 and not sleeps
    assert "'meta_ads'" in str(info.value)
    assert "s3cr3t-token" not in str(info.value)
    assert calls[0].headers["authorization"] == "Bearer s3cr3t-token"


def test_other_client_errors_are_fatal():
    body = {"error": {"message": "(#100) Invalid parameter", "type": "OAuthException", "code": 100}}
    client, calls, _ = _client([httpx.Response(400, json=body)], dialect=meta.GraphDialect())
    with pytest.raises(ApiError, match="code 100"):
        client.get("/x")
    assert len(calls) == 1


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


# -- request builders -------------------------------------------------------------------------


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
    assert params["fields"].split(",")[:3] == ["campaign_id", "campaign_name", "spend"]


def test_meta_next_cursor_only_when_next_present():
    assert meta.next_cursor({"paging": {"cursors": {"after": "A"}, "next": "https://x"}}) == "A"
    assert meta.next_cursor({"paging": {"cursors": {"after": "A"}}}) is None
    assert meta.next_cursor({"data": []}) is None


def test_gaql_builders():
    assert gads.gaql_literal("it's") == r"'it\'s'"
    assert gads.cost_query(date(2026, 5, 1), date(2026, 5, 7)) == (
        "SELECT campaign.id, campaign.name, segments.date, metrics.cost_micros, "
        "metrics.impressions, metrics.clicks FROM campaign "
        "WHERE segments.date BETWEEN '2026-05-01' AND '2026-05-07' ORDER BY segments.date"
    )
    query = gads.leads_query("2026-05-04 10:00:00", inclusive=True)
    assert "WHERE lead_form_submission_data.submission_date_time >= '2026-05-04 10:00:00'" in query
    assert "submission_date_time > '" in gads.leads_query("2026-05-04 10:00:00", inclusive=False)
    assert "WHERE" not in gads.leads_query(None, inclusive=False)
    with pytest.raises(ValueError):
        gads.gaql(["campaign.id; DROP"], "campaign")


# -- record parsing ---------------------------------------------------------------------------


def _lead_stream():
    return meta.LeadsStream(None, "v23.0", "SH001", "200000000001", "2000000000011")


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


def test_meta_insights_and_google_parsing():
    insights = meta.InsightsStream(None, "v23.0", "SH001", "act_1", date(2026, 5, 4), date.today)
    assert insights.parse({"campaign_id": "7", "date_start": "2026-05-04"}).record_id == (
        "7|2026-05-04"
    )
    with pytest.raises(RecordInvalid):
        insights.parse({"campaign_id": "7", "date_start": "May 4"})
    leads = gads.LeadFormSubmissionsStream(None, "v22", "SH001", "1110000001")
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
        None, "v22", "SH001", "1110000001", date(2026, 5, 4), date.today
    )
    assert costs.parse({"campaign": {"id": "3"}, "segments": {"date": "2026-05-05"}}).record_id == (
        "3|2026-05-05"
    )


# -- configuration ----------------------------------------------------------------------------

SCHEMA = AccountSchema(required={"customer_id": r"\d{10}"})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "google_ads: missing"),
        ({"google_ads": {"conn_id": "g", "api_version": "22"}}, "google_ads.api_version"),
        (
            {"google_ads": {"conn_id": "g", "api_version": "v22", "dealers": {"SH001": {}}}},
            "google_ads.dealers.SH001.customer_id: required",
        ),
        (
            {
                "google_ads": {
                    "conn_id": "g",
                    "api_version": "v22",
                    "dealers": {"SH001": {"customer_id": "123-456"}},
                }
            },
            "google_ads.dealers.SH001.customer_id",
        ),
        (
            {
                "google_ads": {
                    "conn_id": "g",
                    "api_version": "v22",
                    "dealers": {"SH001": {"customer_id": "1234567890", "pages": "1"}},
                }
            },
            "google_ads.dealers.SH001.pages: unknown setting",
        ),
    ],
)
def test_source_settings_errors_name_the_key(data, message):
    with pytest.raises(SourceConfigError, match=message):
        load_source_settings("google_ads", SCHEMA, data)


def test_project_sources_yml_is_valid():
    from dealerfunnel.sources import registry
    from dealerfunnel.warehouse.schema import API_RAW_TABLES

    # every connector stream lands in a table the DDL creates, and every table has a stream
    assert set(registry.tables()) == set(API_RAW_TABLES)
    assert len(API_RAW_TABLES) == 15
    for table in registry.tables():
        assert len(registry.plan(table)) == 6


def test_connection_from_airflow_and_secret_masking():
    class Conn:  # the attributes of an Airflow Connection that we read
        conn_id = "google_ads"
        host = "googleads.googleapis.com"
        schema = None
        port = None
        login = None
        password = None
        extra_dejson: ClassVar[dict] = {
            "developer_token": "dev-tok",
            "refresh_token": "r-tok",
            "api_version": "v22",
        }

    conn = connection_from_airflow(Conn())
    assert conn.base_url == "https://googleads.googleapis.com"
    assert set(conn.secrets()) == {"dev-tok", "r-tok"}
    assert "dev-tok" not in repr(conn)
    assert SourceConnection("x", "http://h").secrets() == []


@pytest.mark.parametrize(
    "dialect", [meta.GraphDialect(), gads.GoogleAdsDialect(), OAuthTokenDialect()]
)
def test_cut_short_error_bodies_are_retried_not_fatal(dialect):
    assert dialect.classify(400, httpx.Headers({}), '{"error": {"mess').kind == "retry"
    assert dialect.classify(401, httpx.Headers({}), '{"err').kind == "auth"
    assert dialect.classify(429, httpx.Headers({}), '{"err').kind == "rate_limited"


def test_token_endpoint_with_an_object_shaped_error_is_classified_not_crashing():
    """A 5xx/429 from a token endpoint may carry a Google-style ``{"error": {...}}`` body."""
    dialect = OAuthTokenDialect()
    body = json.dumps({"error": {"code": 503, "message": "backend", "status": "UNAVAILABLE"}})
    assert dialect.classify(503, httpx.Headers({}), body).kind == "retry"
    assert dialect.classify(401, httpx.Headers({}), body).kind == "auth"
    plain = json.dumps({"error": "invalid_grant", "error_description": "revoked"})
    assert dialect.classify(400, httpx.Headers({}), plain).kind == "auth"

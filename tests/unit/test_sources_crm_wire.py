"""Request building, error dialects, record parsing and paging state of the Salesforce, HubSpot
and Eventbrite connectors (an in-memory httpx transport stands in for the API)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from dealerfunnel.sources import eventbrite as eb
from dealerfunnel.sources import hubspot as hs
from dealerfunnel.sources import salesforce as sf
from dealerfunnel.sources.errors import ApiError
from dealerfunnel.sources.httpclient import HttpClient, NoAuth, RetryPolicy
from dealerfunnel.sources.loader import RecordInvalid

H = httpx.Headers({})
START = datetime(2026, 5, 4, tzinfo=UTC)


def client(handler) -> HttpClient:
    return HttpClient(
        "http://api.test",
        conn_id="test",
        auth=NoAuth(),
        policy=RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0),
        sleep=lambda s: None,
        transport=httpx.MockTransport(handler),
    )


# -- Salesforce -------------------------------------------------------------------------------


def test_salesforce_soql_is_incremental_per_dealer_and_ordered():
    q = sf.build_query(
        sf.OBJECTS["lead_history"],
        dealer_field="Dealer_Code__c",
        dealer_value="O'Brien",
        since=datetime(2026, 5, 4, 10, 0, 5, 120000, tzinfo=UTC),
        inclusive=False,
    )
    assert q.startswith("SELECT Id, LeadId, Field, OldValue, NewValue, CreatedById, CreatedDate ")
    assert "FROM LeadHistory WHERE Lead.Dealer_Code__c = 'O\\'Brien' " in q
    assert q.endswith("AND CreatedDate > 2026-05-04T10:00:05Z ORDER BY CreatedDate, Id")
    lead = sf.build_query(
        sf.OBJECTS["leads"], dealer_field="Dealer_Code__c", dealer_value="SH001",
        since=START, inclusive=True,
    )  # fmt: skip
    assert "WHERE Dealer_Code__c = 'SH001' AND SystemModstamp >= 2026-05-04T00:00:00Z" in lead


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (401, "INVALID_SESSION_ID", "auth"),
        (403, "REQUEST_LIMIT_EXCEEDED", "rate_limited"),
        (400, "MALFORMED_QUERY", "fatal"),
        (400, "INVALID_QUERY_LOCATOR", "fatal"),
        (503, "SERVER_UNAVAILABLE", "retry"),
        (500, "UNKNOWN_EXCEPTION", "retry"),
    ],
)
def test_salesforce_error_codes(status, code, kind):
    body = json.dumps([{"message": "m", "errorCode": code}])
    assert sf.SalesforceDialect().classify(status, H, body).kind == kind


def test_salesforce_token_endpoint_errors():
    dialect = sf.SalesforceTokenDialect()
    grant = json.dumps({"error": "invalid_grant", "error_description": "expired"})
    assert dialect.classify(400, H, grant).kind == "auth"
    limit = json.dumps([{"message": "m", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    assert dialect.classify(403, H, limit).kind == "rate_limited"
    assert dialect.classify(403, H, '[{"mess').kind == "auth"  # cut short: stays auth


def test_salesforce_parse_requires_id_and_cursor():
    stream = sf.SObjectStream(None, "v60.0", "SH001", "00D", "SH001", "leads", START)
    parsed = stream.parse({"Id": "00Q1", "SystemModstamp": "2026-05-04T02:13:00.000+0000"})
    assert parsed == sf.Parsed("00Q1", datetime(2026, 5, 4, 2, 13, tzinfo=UTC))
    with pytest.raises(RecordInvalid, match="'SystemModstamp'"):
        stream.parse({"Id": "00Q1"})
    history = sf.SObjectStream(None, "v60.0", "SH001", "00D", "SH001", "lead_history", START)
    with pytest.raises(RecordInvalid, match="'CreatedDate'"):
        history.parse({"Id": "0171", "SystemModstamp": "2026-05-04T02:13:00.000+0000"})


def test_salesforce_follows_next_records_url_and_commits_inclusive_state():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, request.headers.get("sforce-query-options")))
        rec = {"Id": "a", "SystemModstamp": "2026-05-05T00:00:00.000+0000"}
        if request.url.path.endswith("/query"):
            body = {"totalSize": 2, "done": False, "records": [rec],
                    "nextRecordsUrl": "/services/data/v60.0/query/01gX-1"}  # fmt: skip
        else:
            body = {"totalSize": 2, "done": True, "records": [
                dict(rec, Id="b", SystemModstamp="2026-05-06T00:00:00.000+0000")]}  # fmt: skip
        return httpx.Response(200, json=body)

    stream = sf.SObjectStream(client(handler), "v60.0", "SH001", "00D", "SH001", "leads", START,
                              page_size=1)  # fmt: skip
    pages = list(stream.pages(None))
    assert [p.state for p in pages] == [
        {"since": "2026-05-05T00:00:00.000+0000", "inclusive": True},
        {"since": "2026-05-06T00:00:00.000+0000", "inclusive": False},
    ]
    assert seen == [
        ("/services/data/v60.0/query", "batchSize=1"),
        ("/services/data/v60.0/query/01gX-1", "batchSize=1"),
    ]


# -- HubSpot ----------------------------------------------------------------------------------


def test_hubspot_search_body():
    body = hs.search_body(
        cursor="hs_lastmodifieddate", since_ms=1777852800000, inclusive=False,
        dealer_property="dealer_code", dealer_value="SH001", properties=("dealstage",),
        limit=500, after="20",
    )  # fmt: skip
    assert body == {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "hs_lastmodifieddate", "operator": "GT",
                     "value": "1777852800000"},
                    {"propertyName": "dealer_code", "operator": "EQ", "value": "SH001"},
                ]
            }
        ],
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        "properties": ["dealstage"],
        "limit": 100,
        "after": "20",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("status", "category", "kind"),
    [
        (429, "RATE_LIMITS", "rate_limited"),
        (401, "INVALID_AUTHENTICATION", "auth"),
        (403, "MISSING_SCOPES", "auth"),
        (400, "VALIDATION_ERROR", "fatal"),
        (502, "INTERNAL_ERROR", "retry"),
    ],
)
def test_hubspot_error_categories(status, category, kind):
    body = json.dumps({"status": "error", "message": "m", "correlationId": "c",
                       "category": category})  # fmt: skip
    assert hs.HubSpotDialect().classify(status, H, body).kind == kind


def test_hubspot_parse_and_times():
    stream = hs.SearchStream(None, "SH001", "1", "SH001", "contacts", START)
    record = {"id": "7", "properties": {"lastmodifieddate": "2026-05-04T02:13:00.500Z"}}
    assert stream.parse(record).updated_at == datetime(2026, 5, 4, 2, 13, 0, 500000, tzinfo=UTC)
    with pytest.raises(RecordInvalid, match="'lastmodifieddate'"):
        stream.parse({"id": "7", "properties": {}})
    assert hs.parse_hs_time("1777852800000") == datetime(2026, 5, 4, tzinfo=UTC)


def test_hubspot_search_window_restarts_at_the_cap():
    bodies = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        bodies.append(body)
        after = int(body.get("after") or 0)
        first = body["filterGroups"][0]["filters"][0]
        base = int(first["value"])
        results = [
            {"id": str(base + after + i), "properties": {
                "lastmodifieddate": str(base + after + i + 1)}}
            for i in range(2)
        ]  # fmt: skip
        done = len(bodies) >= 4
        out = {"results": results}
        if not done:
            out["paging"] = {"next": {"after": str(after + 2)}}
        return httpx.Response(200, json=out)

    stream = hs.SearchStream(client(handler), "SH001", "1", "SH001", "contacts", START,
                             page_size=2, search_cap=4)  # fmt: skip
    pages = list(stream.pages({"since": 1000, "inclusive": False}))
    ops = [(b["filterGroups"][0]["filters"][0]["operator"], b.get("after")) for b in bodies]
    # GT 1000, then after=2; after=4 would pass the cap: restart GTE from the newest read
    assert ops == [("GT", None), ("GT", "2"), ("GTE", None), ("GTE", "2")]
    assert pages[-1].state["inclusive"] is False
    assert all(p.state["inclusive"] for p in pages[:-1])


def test_hubspot_window_that_cannot_move_is_an_error():
    def handler(request: httpx.Request) -> httpx.Response:
        rec = {"id": "1", "properties": {"lastmodifieddate": "1000"}}
        return httpx.Response(200, json={"results": [rec, rec], "paging": {"next": {"after": "2"}}})

    stream = hs.SearchStream(client(handler), "SH001", "1", "SH001", "contacts", START,
                             page_size=2, search_cap=2)  # fmt: skip
    with pytest.raises(ApiError, match="cannot page further"):
        list(stream.pages({"since": 1000, "inclusive": True}))


# -- Eventbrite -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error", "kind"),
    [
        (429, "HIT_RATE_LIMIT", "rate_limited"),
        (401, "INVALID_AUTH", "auth"),
        (403, "NOT_AUTHORIZED", "auth"),
        (400, "ARGUMENTS_ERROR", "fatal"),
        (404, "NOT_FOUND", "fatal"),
        (500, "INTERNAL_ERROR", "retry"),
    ],
)
def test_eventbrite_errors(status, error, kind):
    body = json.dumps({"status_code": status, "error": error, "error_description": "d"})
    assert eb.EventbriteDialect().classify(status, H, body).kind == kind


def test_eventbrite_incremental_asks_one_second_after_the_watermark_and_keeps_continuation():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        query = parse_qs(urlsplit(str(request.url)).query)
        calls.append({k: v[0] for k, v in query.items()})
        if "continuation" not in query:
            pagination = {"has_more_items": True, "continuation": "tok2"}
            people = [{"id": "1", "changed": "2026-05-06T00:00:00Z"}]
        else:
            pagination = {"has_more_items": False}
            people = [{"id": "2", "changed": "2026-05-05T00:00:00Z"}, {"id": "3"}]
        return httpx.Response(200, json={"pagination": pagination, "attendees": people})

    stream = eb.AttendeesStream(client(handler), "SH001", "55", "801", START)
    pages = list(stream.pages({"since": "2026-05-04T10:00:00Z", "run": None}))
    assert calls == [
        {"changed_since": "2026-05-04T10:00:01Z"},
        {"changed_since": "2026-05-04T10:00:01Z", "continuation": "tok2"},
    ]
    assert pages[0].state == {
        "since": "2026-05-04T10:00:00Z",
        "run": {"changed_since": "2026-05-04T10:00:01Z", "continuation": "tok2",
                "max_seen": "2026-05-06T00:00:00Z"},
    }  # fmt: skip
    assert pages[1].state == {"since": "2026-05-06T00:00:00Z", "run": None}
    with pytest.raises(RecordInvalid, match="'changed'"):
        stream.parse({"id": "3"})

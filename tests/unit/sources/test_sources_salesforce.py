"""Salesforce connector: SOQL, error codes, parsing, paging state (in-memory transport)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from sources_wire import START, H, client

from dealerfunnel.sources import salesforce as sf
from dealerfunnel.sources.loader import RecordInvalid

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


def _sobjects(obj, http=None, **kw):
    return sf.SObjectStream(
        client=http, version="v60.0", dealer_code="SH001", account_id="00D",
        dealer_value="SH001", object=obj, start=START, **kw,
    )  # fmt: skip


def test_salesforce_parse_requires_id_and_cursor():
    stream = _sobjects("leads")
    parsed = stream.parse({"Id": "00Q1", "SystemModstamp": "2026-05-04T02:13:00.000+0000"})
    assert parsed == sf.Parsed("00Q1", datetime(2026, 5, 4, 2, 13, tzinfo=UTC))
    with pytest.raises(RecordInvalid, match="'SystemModstamp'"):
        stream.parse({"Id": "00Q1"})
    history = _sobjects("lead_history")
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

    stream = _sobjects("leads", client(handler), page_size=1)
    pages = list(stream.pages(None))
    assert [p.state for p in pages] == [
        {"since": "2026-05-05T00:00:00.000+0000", "inclusive": True},
        {"since": "2026-05-06T00:00:00.000+0000", "inclusive": False},
    ]
    assert seen == [
        ("/services/data/v60.0/query", "batchSize=1"),
        ("/services/data/v60.0/query/01gX-1", "batchSize=1"),
    ]


def test_salesforce_stage_values_per_object():
    assert sf.OBJECTS["leads"].stages({"Status": "Working - Contacted"}) == ["Working - Contacted"]
    assert sf.OBJECTS["opportunities"].stages({"StageName": "Closed Won"}) == ["Closed Won"]
    assert sf.OBJECTS["opportunity_history"].stages({"StageName": "X"}) == ["X"]
    history = sf.OBJECTS["lead_history"].stages
    assert history({"Field": "Status", "NewValue": "Recycled"}) == ["Recycled"]
    assert history({"Field": "Rating", "NewValue": "Hot"}) == []  # not a stage change
    assert sf.OBJECTS["tasks"].stages is None  # a task's Status is not a funnel stage
    assert sf.OBJECTS["users"].stages is None


def test_salesforce_currency_is_selected_only_in_a_multi_currency_org():
    def query(obj: str, multi: bool) -> str:
        return sf.build_query(
            sf.OBJECTS[obj], dealer_field="Dealer_Code__c", dealer_value="SH001",
            since=START, inclusive=True, multi_currency=multi,
        )  # fmt: skip

    # a single-currency org has no CurrencyIsoCode field: selecting it would be INVALID_FIELD
    assert "CurrencyIsoCode" not in query("opportunity_history", False)
    assert query("opportunity_history", True).startswith(
        "SELECT Id, OpportunityId, StageName, Amount, CloseDate, Probability, CreatedById, "
        "CreatedDate, SystemModstamp, CurrencyIsoCode FROM OpportunityHistory "
    )
    assert ", CurrencyIsoCode FROM Opportunity " in query("opportunities", True)
    # objects without an amount never select it
    assert "CurrencyIsoCode" not in query("leads", True)
    assert "CurrencyIsoCode" not in query("lead_history", True)


def test_salesforce_events_are_read_like_tasks_with_type_and_times():
    """Event (calendar: showroom visits, test drives, deliveries) on SystemModstamp, per dealer,
    with the fields dbt maps to activities (Type, StartDateTime, WhoId / WhatId, OwnerId)."""
    q = sf.build_query(
        sf.OBJECTS["events"], dealer_field="Dealer_Code__c", dealer_value="SH001",
        since=START, inclusive=False,
    )  # fmt: skip
    fields = q.removeprefix("SELECT ").split(" FROM ")[0].split(", ")
    assert {"Id", "WhoId", "WhatId", "OwnerId", "Subject", "Type", "StartDateTime",
            "EndDateTime", "CreatedDate", "LastModifiedDate"} <= set(fields)  # fmt: skip
    assert " FROM Event WHERE Dealer_Code__c = 'SH001' AND SystemModstamp > " in q
    assert q.endswith("ORDER BY SystemModstamp, Id")
    assert "events" in sf.STREAMS

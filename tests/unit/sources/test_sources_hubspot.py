"""HubSpot connector: search body, error categories, parsing, search window (in-memory API)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from sources_wire import START, H, client

from dealerfunnel.sources import hubspot as hs
from dealerfunnel.sources.errors import ApiError
from dealerfunnel.sources.loader import RecordInvalid

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


def _contacts(http=None, **kw):
    return hs.SearchStream(
        client=http, dealer_code="SH001", account_id="1", dealer_value="SH001",
        object="contacts", start=START, **kw,
    )  # fmt: skip


def test_hubspot_parse_and_times():
    stream = _contacts()
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

    stream = _contacts(client(handler), page_size=2, search_cap=4)
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

    stream = _contacts(client(handler), page_size=2, search_cap=2)
    with pytest.raises(ApiError, match="cannot page further"):
        list(stream.pages({"since": 1000, "inclusive": True}))


def test_hubspot_deal_stages_are_the_current_one_and_the_history():
    deal = {
        "properties": {"dealstage": "closedwon"},
        "propertiesWithHistory": {
            "dealstage": [{"value": "closedwon"}, {"value": "qualifiedtobuy"}, "junk"]
        },
    }
    assert hs.deal_stages(deal) == ["closedwon", "closedwon", "qualifiedtobuy"]
    assert hs.deal_stages({"properties": {}}) == [None]


def test_hubspot_snapshot_streams_keys_and_parsing():
    owners = hs.OwnersStream(
        client=None, dealer_code="SH001", account_id="44", key="team-101", team_id="101"
    )
    assert owners.state_key == "44:team-101"
    assert owners.parse({"id": "7"}) == hs.Parsed("7", None)
    assert owners.parse({"id": "7", "updatedAt": "2026-05-04T00:00:00Z"}).updated_at == START
    with pytest.raises(RecordInvalid, match="'id'"):
        owners.parse({"updatedAt": "2026-05-04T00:00:00Z"})
    pipelines = hs.PipelinesStream(
        client=None,
        dealer_code="SH001",
        account_id="44",
        key="deals:default",
        pipeline_id="default",
    )
    assert pipelines.state_key == "44:deals:default"
    with pytest.raises(RecordInvalid, match="'id'"):
        pipelines.parse({"stages": []})
    with pytest.raises(RecordInvalid, match="'stages'"):
        pipelines.parse({"id": "default"})


def test_hubspot_deals_carry_their_contacts_from_the_v4_associations_batch_read():
    """Each page of changed deals is followed by the v4 associations batch read
    (POST /crm/v4/associations/deals/contacts/batch/read); a deal with more contacts than one
    page is read again with its ``after``; a deal without
    contacts comes back in ``errors`` (HTTP 207) and gets ``[]``."""
    calls = []

    def to(cid: int) -> dict:
        return {"toObjectId": cid, "associationTypes": [
            {"category": "HUBSPOT_DEFINED", "typeId": 3, "label": None}]}  # fmt: skip

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        path = request.url.path
        calls.append((path, body))
        if path.endswith("/deals/search"):
            results = [{"id": d, "properties": {"hs_lastmodifieddate": "1777852800000"}}
                       for d in ("11", "12", "13")]  # fmt: skip
            return httpx.Response(200, json={"results": results})
        if path.endswith("/deals/batch/read"):
            return httpx.Response(200, json={"status": "COMPLETE", "results": [
                {"id": i["id"], "properties": {"hs_lastmodifieddate": "1777852800000"}}
                for i in body["inputs"]]})  # fmt: skip
        assert path == "/crm/v4/associations/deals/contacts/batch/read"
        inputs = {i["id"]: i.get("after") for i in body["inputs"]}
        if inputs == {"11": None, "12": None, "13": None}:
            return httpx.Response(207, json={
                "status": "COMPLETE",
                "results": [
                    {"from": {"id": "11"}, "to": [to(501)]},
                    {"from": {"id": "12"}, "to": [to(601)], "paging": {"next": {"after": "1"}}},
                ],
                "numErrors": 1,
                "errors": [{"status": "error", "category": "OBJECT_NOT_FOUND",
                            "message": "no associations", "context": {"fromObjectId": ["13"]}}],
            })  # fmt: skip
        assert inputs == {"12": "1"}
        return httpx.Response(200, json={"status": "COMPLETE", "results": [
            {"from": {"id": "12"}, "to": [to(602)]}]})  # fmt: skip

    stream = hs.SearchStream(
        client=client(handler), dealer_code="SH001", account_id="1", dealer_value="SH001",
        object="deals", start=START,
    )  # fmt: skip
    [page] = list(stream.pages(None))
    contacts = {d["id"]: d["associations"]["contacts"] for d in page.records}
    assert contacts == {"11": [to(501)], "12": [to(601), to(602)], "13": []}
    assert [path for path, _ in calls] == [
        "/crm/v3/objects/deals/search",
        "/crm/v3/objects/deals/batch/read",
        "/crm/v4/associations/deals/contacts/batch/read",
        "/crm/v4/associations/deals/contacts/batch/read",
    ]


def test_hubspot_association_result_without_from_is_an_error():
    with pytest.raises(ApiError, match="without 'from'"):
        hs.association_pages({"results": [{"to": []}]})


def test_hubspot_engagements_are_the_dealer_teams_and_carry_their_contacts():
    """Calls (meetings, e-mails, notes) have no dealer property: the search filters on the
    owner's team (hubspot_team_id), then reads the call -> contact associations."""
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append((request.url.path, body))
        if request.url.path.endswith("/search"):  # the same call twice on the page
            record = {"id": "7001", "properties": {"hs_lastmodifieddate": "1777852800000"}}
            return httpx.Response(200, json={"results": [record, dict(record)]})
        to = [{"toObjectId": 501, "associationTypes": []}]
        return httpx.Response(
            200, json={"status": "COMPLETE", "results": [{"from": {"id": "7001"}, "to": to}]}
        )

    stream = hs.SearchStream(
        client=client(handler), dealer_code="SH001", account_id="1", dealer_value="SH001",
        object="calls", start=START, team_id="101",
    )  # fmt: skip
    [page] = list(stream.pages(None))
    (search_path, search), (assoc_path, _) = seen
    assert search_path == "/crm/v3/objects/calls/search"
    assert search["filterGroups"][0]["filters"][1] == {
        "propertyName": "hubspot_team_id", "operator": "EQ", "value": "101"
    }  # fmt: skip
    assert {"hs_timestamp", "hs_call_disposition", "hubspot_owner_id"} <= set(search["properties"])
    assert assoc_path == "/crm/v4/associations/calls/contacts/batch/read"
    assert [r["associations"]["contacts"] for r in page.records] == [
        [{"toObjectId": 501, "associationTypes": []}]
    ] * 2  # read once, not doubled


def test_hubspot_meetings_ask_for_their_type_and_outcome():
    stream = hs.SearchStream(
        client=client(lambda r: httpx.Response(500)), dealer_code="SH001", account_id="1",
        dealer_value="SH001", object="meetings", start=START, team_id="101",
    )  # fmt: skip
    assert {"hs_activity_type", "hs_meeting_outcome", "hs_timestamp"} <= set(stream.properties)


def test_hubspot_survey_responses_are_those_of_the_dealers_contacts():
    """feedback_submissions have no dealer property nor team: the search filters on time only,
    the v4 associations give each response's contacts, and a contacts batch read of the dealer
    property keeps the responses of the dealer's contacts (one without contacts is no dealer's)."""
    seen = []

    def to(cid: int) -> dict:
        return {"toObjectId": cid, "associationTypes": [
            {"category": "HUBSPOT_DEFINED", "typeId": 1, "label": None}]}  # fmt: skip

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        path = request.url.path
        seen.append((path, body))
        if path.endswith("/feedback_submissions/search"):
            results = [
                {"id": sid, "properties": {"hs_lastmodifieddate": "1777852800000",
                                           "hs_survey_type": "NPS", "hs_response_value": "9"}}
                for sid in ("31", "32", "33")
            ]  # fmt: skip
            return httpx.Response(200, json={"results": results})
        if path == "/crm/v4/associations/feedback_submissions/contacts/batch/read":
            return httpx.Response(207, json={
                "status": "COMPLETE",
                "results": [{"from": {"id": "31"}, "to": [to(501)]},
                            {"from": {"id": "32"}, "to": [to(601)]}],
                "numErrors": 1,
                "errors": [{"status": "error", "context": {"fromObjectId": ["33"]}}],
            })  # fmt: skip
        assert path == "/crm/v3/objects/contacts/batch/read"
        return httpx.Response(200, json={"status": "COMPLETE", "results": [
            {"id": "501", "properties": {"dealer_code": "SH001"}},
            {"id": "601", "properties": {"dealer_code": "SH002"}},
        ]})  # fmt: skip

    stream = hs.SearchStream(
        client=client(handler), dealer_code="SH001", account_id="1", dealer_value="SH001",
        object="feedback_submissions", start=START, team_id="101",
    )  # fmt: skip
    [page] = list(stream.pages(None))
    assert [r["id"] for r in page.records] == ["31"]
    assert page.records[0]["associations"]["contacts"] == [to(501)]
    assert page.state == {"since": 1777852800000, "inclusive": False}
    (_, search), _, (_, contacts) = seen
    assert search["filterGroups"] == [
        {
            "filters": [
                {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": "1777852800000"}
            ]
        }
    ]
    assert {"hs_survey_type", "hs_response_value", "hs_submission_timestamp"} <= set(
        search["properties"]
    )
    assert contacts == {"inputs": [{"id": "501"}, {"id": "601"}], "properties": ["dealer_code"]}
    assert "feedback_submissions" in hs.STREAMS

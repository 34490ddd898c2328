"""The API sandbox speaks each API's wire format: endpoints, paging, errors, rate limits, faults."""

from __future__ import annotations

import json
import time

import httpx
import pytest
import test_sources_support as h

from dealerfunnel_demo.sandbox import Faults, run_sandbox

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def sb():
    with run_sandbox(h.make_sandbox(h.make_world())) as running:
        yield running


@pytest.fixture
def meta_get(sb):
    token = sb.world.spec.credentials["meta_access_token"]

    def get(path, token=token, **params):
        return httpx.get(
            f"{sb.base_url}/meta/v23.0/{path}",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
        )

    return get


@pytest.fixture
def google(sb):
    extra = sb.connections()["google_ads"]["extra"]
    token = httpx.post(
        extra["token_uri"],
        data={
            "grant_type": "refresh_token",
            "client_id": extra["client_id"],
            "client_secret": extra["client_secret"],
            "refresh_token": extra["refresh_token"],
        },
    ).json()["access_token"]
    headers = {
        "Authorization": f"Bearer {token}",
        "developer-token": extra["developer_token"],
        "login-customer-id": extra["login_customer_id"],
    }

    def search(query, customer="1110000001", **override):
        return httpx.post(
            f"{sb.base_url}/google-ads/v22/customers/{customer}/googleAds:searchStream",
            json={"query": query},
            headers={**headers, **override},
        )

    return search


def test_meta_leads_newest_first_with_cursor_paging(sb, meta_get):
    forms = meta_get("200000000001/leadgen_forms").json()["data"]
    assert len(forms) == 2
    form_id = forms[0]["id"]
    seen, after, pages = [], None, 0
    while True:
        params = {"fields": "id,created_time", "limit": 7}
        if after:
            params["after"] = after
        body = meta_get(f"{form_id}/leads", **params).json()
        pages += 1
        seen += body["data"]
        if "next" not in body["paging"]:
            break
        after = body["paging"]["cursors"]["after"]
    assert pages > 2
    assert all(set(lead) <= {"id", "created_time", "lead_quality_tier"} for lead in seen)
    times = [lead["created_time"] for lead in seen if "created_time" in lead]
    assert times == sorted(times, reverse=True)
    assert len({lead["id"] for lead in seen}) == len(seen)


def test_meta_leads_filtering_on_time_created(meta_get):
    everything = meta_get("2000000000011/leads", fields="id,created_time", limit=500).json()
    newest = everything["data"][5]["created_time"]
    from dealerfunnel.sources.meta import parse_graph_time

    since = int(parse_graph_time(newest).timestamp())
    filtering = json.dumps([{"field": "time_created", "operator": "GREATER_THAN", "value": since}])
    newer = meta_get("2000000000011/leads", fields="id", filtering=filtering, limit=500).json()
    assert [lead["id"] for lead in newer["data"]] == [lead["id"] for lead in everything["data"][:5]]


def test_meta_errors_use_the_graph_error_body(meta_get):
    bad_token = meta_get("2000000000011/leads", token="nope")
    assert bad_token.status_code == 400
    error = bad_token.json()["error"]
    assert error["code"] == 190 and error["type"] == "OAuthException" and error["fbtrace_id"]
    unknown = meta_get("999/leads").json()["error"]
    assert (unknown["code"], unknown["error_subcode"]) == (100, 33)


def test_meta_insights_rows_per_campaign_and_day(meta_get):
    body = meta_get(
        "act_100000000001/insights",
        level="campaign",
        time_increment=1,
        fields="campaign_id,spend",
        time_range=json.dumps({"since": "2026-05-04", "until": "2026-05-05"}),
        limit=100,
    ).json()
    assert len(body["data"]) == 6  # 3 campaigns x 2 days
    row = body["data"][0]
    assert set(row) == {"campaign_id", "spend", "date_start", "date_stop"}
    assert isinstance(row["spend"], str)


def test_google_search_stream_shape_and_gaql(google):
    response = google(
        "SELECT campaign.id, segments.date, metrics.cost_micros FROM campaign "
        "WHERE segments.date BETWEEN '2026-05-04' AND '2026-05-07' ORDER BY segments.date"
    )
    batches = response.json()
    assert isinstance(batches, list) and len(batches) == 2  # 12 rows, batches of 10
    row = batches[0]["results"][0]
    assert row["campaign"]["resourceName"].startswith("customers/1110000001/campaigns/")
    assert set(row) == {"campaign", "segments", "metrics"}
    assert isinstance(row["metrics"]["costMicros"], str)
    assert batches[0]["fieldMask"] == "campaign.id,segments.date,metrics.costMicros"


def test_google_errors_use_the_google_ads_failure_body(google):
    query = "SELECT campaign.id FROM campaign"
    unauthenticated = google(query, Authorization="Bearer expired")
    assert unauthenticated.status_code == 401
    error = unauthenticated.json()["error"]
    assert error["status"] == "UNAUTHENTICATED"
    assert error["details"][0]["@type"].endswith("GoogleAdsFailure")
    assert google(query, **{"login-customer-id": "1"}).json()["error"]["status"] == (
        "PERMISSION_DENIED"
    )
    assert google("SELEKT nonsense").json()["error"]["status"] == "INVALID_ARGUMENT"


def test_scripted_faults(sb, meta_get):
    sb.sandbox.faults.script = ["rate_limit", "server_error", "truncate", "disconnect", "slow"]
    sb.sandbox.faults.slow_seconds = 0.3
    limited = meta_get("200000000001/leadgen_forms")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
    assert limited.json()["error"]["code"] == 4
    assert meta_get("200000000001/leadgen_forms").status_code == 500
    cut = meta_get("200000000001/leadgen_forms")
    assert cut.status_code == 200
    with pytest.raises(ValueError):
        cut.json()
    with pytest.raises(httpx.HTTPError):
        meta_get("200000000001/leadgen_forms")
    started = time.monotonic()
    assert meta_get("200000000001/leadgen_forms").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_rate_limiter_and_determinism():
    world = h.make_world()
    with run_sandbox(h.make_sandbox(world, Faults(rate_limit_per_second=3))) as running:
        token = world.spec.credentials["meta_access_token"]
        statuses = [
            httpx.get(
                f"{running.base_url}/meta/v23.0/200000000001/leadgen_forms",
                headers={"Authorization": f"Bearer {token}"},
            ).status_code
            for _ in range(10)
        ]
        assert 429 in statuses and statuses[0] == 200
        first = running.sandbox.truth()
    with run_sandbox(h.make_sandbox(h.make_world())) as again:
        assert again.sandbox.truth() == first


def _sf_token(sb) -> str:
    extra = sb.connections()["salesforce"]["extra"]
    response = httpx.post(
        f"{sb.base_url}/salesforce/services/oauth2/token",
        data={"grant_type": "refresh_token", **{k: extra[k] for k in extra}},
    )
    assert response.status_code == 200
    body = response.json()
    assert {"access_token", "instance_url", "id", "token_type", "issued_at", "signature"} <= set(
        body
    )
    return body["access_token"]


def test_salesforce_soql_paging_with_next_records_url(sb):
    headers = {"Authorization": f"Bearer {_sf_token(sb)}", "Sforce-Query-Options": "batchSize=5"}
    q = (
        "SELECT Id, Status, SystemModstamp FROM Lead WHERE Dealer_Code__c = 'SH001' "
        "AND SystemModstamp > 2026-05-04T00:00:00Z ORDER BY SystemModstamp, Id"
    )
    first = httpx.get(f"{sb.base_url}/salesforce/services/data/v60.0/query", params={"q": q},
                      headers=headers).json()  # fmt: skip
    assert first["done"] is False and first["totalSize"] > 5 and len(first["records"]) == 5
    assert first["nextRecordsUrl"].startswith("/services/data/v60.0/query/01g")
    record = first["records"][0]
    assert record["attributes"]["type"] == "Lead" and set(record) >= {"Id", "Status"}
    assert "FirstName" not in record  # only the selected fields
    seen = [r["Id"] for r in first["records"]]
    url = first["nextRecordsUrl"]
    while url:
        page = httpx.get(f"{sb.base_url}/salesforce{url}", headers=headers).json()
        seen += [r["Id"] for r in page["records"]]
        url = page.get("nextRecordsUrl")
    assert len(seen) == len(set(seen)) == first["totalSize"]
    bad = httpx.get(f"{sb.base_url}/salesforce/services/data/v60.0/query",
                    params={"q": "SELEKT Id FROM Lead"}, headers=headers)  # fmt: skip
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "MALFORMED_QUERY"
    expired = httpx.get(f"{sb.base_url}/salesforce/services/data/v60.0/query", params={"q": q},
                        headers={"Authorization": "Bearer nope"})  # fmt: skip
    assert expired.status_code == 401
    assert expired.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def test_hubspot_search_owners_pipelines_and_errors(sb):
    token = sb.connections()["hubspot"]["password"]
    auth = {"Authorization": f"Bearer {token}"}
    base = f"{sb.base_url}/hubspot/crm/v3"
    body = {
        "filterGroups": [{"filters": [
            {"propertyName": "lastmodifieddate", "operator": "GTE", "value": "0"},
            {"propertyName": "dealer_code", "operator": "EQ", "value": "SH001"}]}],
        "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
        "properties": ["email", "lifecyclestage"],
        "limit": 5,
    }  # fmt: skip
    page = httpx.post(f"{base}/objects/contacts/search", json=body, headers=auth).json()
    assert page["total"] > 5 and page["paging"]["next"]["after"] == "5"
    stamps = [r["properties"]["lastmodifieddate"] for r in page["results"]]
    assert stamps == sorted(stamps)
    assert set(page["results"][0]["properties"]) <= {
        "email", "lifecyclestage", "lastmodifieddate", "createdate", "hs_object_id"
    }  # fmt: skip
    too_many = httpx.post(f"{base}/objects/contacts/search", json=body | {"limit": 101},
                          headers=auth)  # fmt: skip
    assert too_many.status_code == 400 and too_many.json()["category"] == "VALIDATION_ERROR"
    capped = httpx.post(f"{base}/objects/contacts/search", json=body | {"after": "10000"},
                        headers=auth)  # fmt: skip
    assert capped.status_code == 400
    owners = httpx.get(f"{base}/owners", headers=auth).json()["results"]
    assert owners and all(o["teams"] for o in owners)
    stages = httpx.get(f"{base}/pipelines/deals/default", headers=auth).json()["stages"]
    assert [s["id"] for s in stages][:2] == ["appointmentscheduled", "qualifiedtobuy"]
    denied = httpx.get(f"{base}/owners", headers={"Authorization": "Bearer x"})
    assert denied.status_code == 401
    assert set(denied.json()) == {"status", "message", "correlationId", "category"}


def test_eventbrite_attendees_continuation_and_changed_since(sb):
    token = sb.connections()["eventbrite"]["password"]
    auth = {"Authorization": f"Bearer {token}"}
    base = f"{sb.base_url}/eventbrite/v3"
    events = httpx.get(f"{base}/organizations/5500000001/events/", headers=auth).json()
    event_id = events["events"][0]["id"]
    first = httpx.get(f"{base}/events/{event_id}/attendees/", headers=auth).json()
    pagination = first["pagination"]
    assert set(pagination) >= {
        "object_count", "page_number", "page_size", "page_count", "has_more_items"
    }  # fmt: skip
    assert pagination["has_more_items"] and pagination["continuation"]
    second = httpx.get(f"{base}/events/{event_id}/attendees/", headers=auth,
                       params={"continuation": pagination["continuation"]}).json()  # fmt: skip
    assert second["pagination"]["page_number"] == 2
    everyone = first["attendees"] + second["attendees"]
    latest = max(a["changed"] for a in everyone if "changed" in a)
    recent = httpx.get(f"{base}/events/{event_id}/attendees/", headers=auth,
                       params={"changed_since": latest}).json()["attendees"]  # fmt: skip
    assert recent and all(a.get("changed", latest) >= latest for a in recent)
    denied = httpx.get(f"{base}/events/{event_id}/attendees/")
    assert denied.status_code == 401 and denied.json()["error"] == "INVALID_AUTH"


def test_hubspot_v4_deal_contact_associations(sb):
    """POST /crm/v4/associations/deals/contacts/batch/read: {from, to [{toObjectId,
    associationTypes}], paging?} per deal; a deal without contacts is an ``errors`` entry (207)."""
    token = sb.connections()["hubspot"]["password"]
    auth = {"Authorization": f"Bearer {token}"}
    api = sb.sandbox.apis["hubspot"]
    two = next(d for d, cs in api.deal_contacts.items() if len(cs) == 2)
    one = next(d for d, cs in api.deal_contacts.items() if len(cs) == 1)
    url = f"{sb.base_url}/hubspot/crm/v4/associations/deals/contacts/batch/read"
    body = {"inputs": [{"id": two}, {"id": one}, {"id": "999999999"}]}
    response = httpx.post(url, json=body, headers=auth)
    assert response.status_code == 207
    answer = response.json()
    assert answer["status"] == "COMPLETE" and answer["numErrors"] == 1
    assert answer["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    got = {r["from"]["id"]: [t["toObjectId"] for t in r["to"]] for r in answer["results"]}
    assert got == {d: [int(c) for c in api.deal_contacts[d]] for d in (two, one)}
    kinds = {(t["category"], t["typeId"]) for r in answer["results"] for e in r["to"]
             for t in e["associationTypes"]}  # fmt: skip
    assert kinds == {("HUBSPOT_DEFINED", 3)}  # deal to contact
    api.association_page = 1  # the second contact comes on a next page
    try:
        paged = httpx.post(url, json={"inputs": [{"id": two}]}, headers=auth).json()
        [result] = paged["results"]
        assert len(result["to"]) == 1 and result["paging"]["next"]["after"] == "1"
        rest = httpx.post(url, json={"inputs": [{"id": two, "after": "1"}]}, headers=auth).json()
        assert [t["toObjectId"] for t in rest["results"][0]["to"]] == [
            int(api.deal_contacts[two][1])
        ]
    finally:
        api.association_page = 100
    contact = httpx.post(
        f"{sb.base_url}/hubspot/crm/v3/objects/contacts/search",
        json={"properties": ["hubspot_owner_assigneddate", "hs_analytics_source"], "limit": 1},
        headers=auth,
    ).json()["results"][0]["properties"]
    assert contact["hubspot_owner_assigneddate"] >= contact["createdate"]
    assert contact["hs_analytics_source"]


def test_salesforce_owner_history_and_currency(sb):
    """A lead assigned from a queue: two LeadHistory rows of Field 'Owner' (ids, then names) at
    the same time; CurrencyIsoCode only exists in a multi-currency org (INVALID_FIELD here)."""
    headers = {"Authorization": f"Bearer {_sf_token(sb)}"}
    query = f"{sb.base_url}/salesforce/services/data/v60.0/query"
    q = (
        "SELECT Id, LeadId, Field, OldValue, NewValue, CreatedDate FROM LeadHistory"
        " WHERE Lead.Dealer_Code__c = 'SH001' AND CreatedDate > 2026-05-04T00:00:00Z"
        " ORDER BY CreatedDate, Id"
    )
    rows = httpx.get(query, params={"q": q}, headers=headers).json()["records"]
    owner = [r for r in rows if r["Field"] == "Owner"]
    assert owner and len(owner) % 2 == 0
    ids = [r for r in owner if r["NewValue"].startswith("005")]
    assert ids and all(r["OldValue"].startswith("00G") for r in ids)
    names = {(r["LeadId"], r["CreatedDate"]) for r in owner if not r["NewValue"].startswith("005")}
    assert names == {(r["LeadId"], r["CreatedDate"]) for r in ids}
    soql = "SELECT Id, Amount, CurrencyIsoCode FROM Opportunity WHERE Dealer_Code__c = 'SH001'"
    currency = httpx.get(query, params={"q": soql}, headers=headers)
    assert sb.sandbox.apis["salesforce"].multi_currency is False  # the test org's setting
    assert currency.status_code == 400 and currency.json()[0]["errorCode"] == "INVALID_FIELD"


def test_spend_comes_with_the_account_currency(sb, meta_get, google):
    insights = meta_get(
        "act_100000000001/insights", level="campaign", time_increment="1",
        fields="campaign_id,account_currency,spend",
        time_range=json.dumps({"since": "2026-05-04", "until": "2026-05-05"}),
    ).json()["data"]  # fmt: skip
    assert insights and {r["account_currency"] for r in insights} == {"CNY"}
    rows = google(
        "SELECT customer.currency_code, campaign.id, segments.date, metrics.cost_micros"
        " FROM campaign WHERE segments.date BETWEEN '2026-05-04' AND '2026-05-05'"
    ).json()[0]["results"]
    assert rows and {r["customer"]["currencyCode"] for r in rows} == {"CNY"}
    assert rows[0]["customer"]["resourceName"] == "customers/1110000001"

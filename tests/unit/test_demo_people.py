"""The people the synthetic group's systems share (tools/dealerfunnel_demo/synth/people.py):
a pure function of (seed, dealer, window), each origin drawn on its own, and served by the
sandbox on both sides: the lead form (Meta, Google Ads) or registration, and the CRM record."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from dealerfunnel_demo.sandbox.google_ads import GoogleAdsApi
from dealerfunnel_demo.sandbox.hubspot import HubSpotApi
from dealerfunnel_demo.sandbox.salesforce import SalesforceApi
from dealerfunnel_demo.sandbox.world import DataSpec, World
from dealerfunnel_demo.synth import people
from dealerfunnel_demo.synth.people import ORIGINS, PER_DEALER, WORKED_IN, shared_people

START, WEEKS = date(2026, 5, 4), 26
SOURCES = {
    "google_ads": {"dealers": {"SH001": {"customer_id": "1110000001"}}},
    "salesforce": {"dealers": {"SH001": {"org_id": "00D5g000004DLRGEAA"}}},
    "hubspot": {"dealers": {"SH001": {"portal_id": "4400001", "team_id": "101"}}},
}


def test_same_arguments_give_the_same_people() -> None:
    first = shared_people(20261123, "SH001", START, WEEKS)
    assert shared_people(20261123, "SH001", START, WEEKS) == first
    assert shared_people(20261124, "SH001", START, WEEKS) != first
    assert shared_people(20261123, "SH002", START, WEEKS) != first


def test_every_origin_its_count_channel_and_crm() -> None:
    found = shared_people(20261123, "SH001", START, WEEKS)
    assert {p.origin for p in found} == {"meta", "eventbrite", "google_ads"}
    first = datetime(2026, 5, 4, tzinfo=UTC)
    for origin, count in PER_DEALER.items():
        mine = [p for p in found if p.origin == origin]
        assert [p.key for p in mine] == list(range(1, count + 1))
        assert {p.channel for p in mine} == {ORIGINS[origin]}
        # keys cycle through the systems that work the lead: 1 salesforce, 2 hubspot, 3 export
        assert [p.worked_in for p in mine[:3]] == list(WORKED_IN)
        for p in mine:
            assert len(p.phone) == 11 and p.phone.isdigit()
            assert first <= p.origin_at < p.worked_at < first + timedelta(weeks=WEEKS)
    assert ORIGINS["google_ads"] == "google_ads"  # the channel code of seeds/channels.csv


def test_an_origin_is_drawn_on_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """Adding an origin (Google Ads) leaves the people of the others as they were."""
    everyone = shared_people(20261123, "SH001", START, WEEKS)
    monkeypatch.setattr(people, "PER_DEALER", {"meta": 60, "eventbrite": 21})
    before = shared_people(20261123, "SH001", START, WEEKS)
    assert before == [p for p in everyone if p.origin != "google_ads"]


def test_sandbox_serves_google_ads_people_as_submissions_and_crm_records() -> None:
    world = World(DataSpec(), sources=SOURCES)
    shared = [p for p in world.shared("google_ads", "SH001")]
    assert len(shared) == PER_DEALER["google_ads"]
    ads = GoogleAdsApi(world)
    served = {}
    for sub in ads.submissions["1110000001"]:
        data = sub.row["leadFormSubmissionData"]
        fields = {f["fieldType"]: f["fieldValue"] for f in data["leadFormSubmissionFields"]}
        served[fields["PHONE_NUMBER"]] = (sub.created, fields, data)
    salesforce = {
        lead.versions[0][1]["MobilePhone"]: lead for lead in SalesforceApi(world).entities["Lead"]
    }
    hubspot = {
        contact.versions[0][1]["properties"]["phone"]: contact
        for contact in HubSpotApi(world).entities["contacts"]
    }
    for person in shared:
        phone = f"+86{person.phone}"
        created, fields, data = served[phone]
        assert created == person.origin_at
        assert fields["FULL_NAME"] == person.name
        assert fields.get("EMAIL", "") == person.email
        assert "submissionDateTime" in data  # a shared person's submission is never broken
        if person.worked_in == "salesforce":
            assert salesforce[phone].versions[0][0] == person.worked_at
        elif person.worked_in == "hubspot":
            props = hubspot[phone].versions[0][1]["properties"]
            assert props["hs_analytics_source"] == "PAID_SEARCH"
            assert hubspot[phone].versions[0][0] == person.worked_at

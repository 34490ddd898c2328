"""API lead-form leads (Meta Lead Ads, Google Ads) enter the funnel through dbt.

Hand-written raw payloads in the wire format of each API (as the sandbox serves them) plus
dealer-export rows for the same people, one ``dbt build``; every expected value below is worked
out by hand. Dealer SH001 is Asia/Shanghai (UTC+8); the local week of Mon 2026-10-12 is
10-12..10-18.

Records (times local):
  M1  meta    Mon 10-12 10:00, campaign "Golden Autumn" (id 120200000001000), phone +8613900000002
  D1  export  Tue 10-13 09:00, wechat / walk-in, phone "139-0000-0002" (= M1), consultant Li Na,
              grade a; stage event interested Wed 10-14 10:00.
      -> one lead: primary M1 (earliest): meta_lead_ads / Golden Autumn, created 10-12 10:00,
         interested 10-14 10:00, consultant Li Na and grade A from D1, lead_record_count 2.
  M2  meta    Wed 10-14 11:00, organic (no ad, no campaign), phone 13700000003 -> alone.
  M3  meta    no created_time -> left out by staging.
  G1  google  Thu 10-15 20:30, campaign resource .../campaigns/2222 (name only in the cost rows:
              "Search Brand"), phone "+86 136 0000 0004" -> alone.
  D2  export  Sat 10-10 15:00, douyin, email "Wang.Lei@Example.com"
  G2  google  Fri 10-16 09:00, campaign 2222, email " wang.lei@example.com " (= D2)
      -> one lead: primary D2 (earliest): douyin, no campaign, lead_record_count 2.

  S1  salesforce Lead, Tue 10-13 09:00, LeadSource Web, owner Chen Jing (user 005A), phone new;
              LeadHistory Working - Contacted 10-13 14:00, Closed - Converted 10-15 10:00;
              converted to opportunity 006A1: Proposal/Price Quote 10-16 10:00, Closed Won
              10-20 10:00; completed Call task 10-13 11:00 (a Not Started task is ignored)
      -> web lead: interested 10-13 14:00, needs_defined 10-15 10:00, decision 10-16 10:00,
         won 10-20 10:00, first contact 10-13 11:00, assigned at creation.
  S2  salesforce Lead, Wed 10-14 13:00, owned by a queue, phone 13700000003 (= M2), Status
              Working - Contacted without history -> an interested event at its created_at.
      -> M2's lead: interested 10-14 13:00, lead_record_count 2.

  E1  eventbrite attendee, registered Wed 10-14 09:00, checked in Sat 10-17 15:00 -> event_signup,
              interested 10-17 15:00.
  E2  eventbrite attendee, registered Thu 10-15 09:00, cancelled Fri 10-16 12:00 -> lost.

  H1  hubspot contact 501, Fri 10-16 09:00, owner 77 (Jing Chen) assigned Fri 10-16 11:00,
              mobile "133 0000 0007" (= E1)
      -> E1's lead (E1 is earlier): the attendee who became a CRM lead gets the CRM's consultant
         Jing Chen and assigned_at 10-16 11:00, lead_record_count 2.
      Call 7001 (Jing Chen, Fri 10-16 12:00, associated with 501) -> the lead's first contact.
  H2  hubspot contact 502, Sat 10-17 09:00, owner 77, another phone -> alone, channel unknown.
  Deal 9001 (amount 250000 CNY), associated with contacts 502 AND 501 (in that order): counts
      once, for the contact created first (501, 10-16 09:00 < 502, 10-17 09:00), whatever the
      order of the associations: appointmentscheduled 10-16 10:00 -> interested, closedwon
      10-19 10:00 -> won. E1's lead: interested 10-16 10:00 (before the check-in 10-17 15:00),
      needs_defined = decision = won 10-19 10:00, amount 250000 CNY. 502 stays potential.

  S3  salesforce Lead, Wed 10-14 08:00, created in queue 00GQ1, moved to user 005A (Chen Jing)
              Wed 10-14 09:30 (LeadHistory Owner: the id row and its name twin), Rating Warm
      -> assigned_at 10-14 09:30 (not created_at), grade B. S1: owned by 005A from creation, no
         owner history -> assigned at creation; Rating Hot -> grade A. S2 still in its queue ->
         not assigned.
  M5  meta    Tue 10-13 10:00, organic, phone +8613800000011
  S4  salesforce Lead, Wed 10-14 10:00, owner 005A, mobile "+86 138 0000 0011" (= M5), Working -
              Contacted at 10-14 15:00 -> M5's lead: interested 10-14 15:00, consultant Chen Jing,
              lead_record_count 2 (the ad-platform lead progresses through the CRM record).
  S5  salesforce Lead at dealer SH002, Thu 10-15 10:00, the same mobile as M5 -> NOT matched (other
              dealer): its own lead at SH002.

Google Ads lead-form people the dealer works in its CRM (same phone, same dealer):
  G3  google  Mon 10-12 09:00, campaign 2222, phone "+8613200000021"
  H3  hubspot contact 503, Mon 10-12 12:00, owner 77 (Jing Chen) assigned 12:30, mobile
              "132 0000 0021" (= G3), no deal; lifecycle stage moves
              (hs_lifecyclestage_<stage>_date): lead 10-12 12:00 -> potential,
              marketingqualifiedlead Tue 10-13 15:00 -> interested, salesqualifiedlead
              Thu 10-15 10:00 -> needs_defined
      -> one lead: primary G3 (earliest): google_ads / Search Brand, created 10-12 09:00, consultant
         Jing Chen, assigned 10-12 12:30, interested 10-13 15:00, needs_defined 10-15 10:00,
         current stage needs_defined, lead_record_count 2.
  G4  google  Tue 10-13 10:00, campaign 2222, phone "+8613200000031"
  S6  salesforce Lead 00QA6, Tue 10-13 16:00, owner 005A (Chen Jing), Rating Cold, mobile
              "+86 132 0000 0031" (= G4); LeadHistory Working - Contacted Wed 10-14 09:00
      -> one lead: primary G4: google_ads / Search Brand, consultant Chen Jing, grade C, assigned
         10-13 16:00, interested 10-14 09:00, lead_record_count 2.
  A deal's stages win over the lifecycle stage: contact 501 (deal 9001) also carries
  marketingqualifiedlead Fri 10-16 09:30 and opportunity 10-16 10:00, 502 (associated with deal
  9001) customer Mon 10-19 10:00; neither counts (E1 stays interested at 10-16 10:00 from the
  deal, 502 stays potential).

Spend: Meta campaign 120200000001000 "Golden Autumn" 10-12 100.50 + 10-13 49.50 = 150.00 CNY;
Google campaign 2222 "Search Brand" 10-15 costMicros 80000000 = 80.00 CNY for its 3 leads (G1, G3,
G4): 26.6667 CNY per lead. "Spring Launch" runs on
two Meta accounts of SH001: 20.00 CNY (account 555000) and 30.00 HKD (account 555001) on 10-14:
the row's spend is never 50.00 of mixed money: spend, cost_per_lead and currency NULL,
has_mixed_currencies true.

Incremental: after the build a late Meta lead M4 arrives with _extracted_at 10-16T06:00Z, older
than the dealer export's watermark minus the 15 min lookback (10-20 - 15 min) but newer than
Meta's own (10-16T00:00 - 15 min): the per-source watermark picks it up in an incremental run.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import mart_fixtures as h
import psycopg
import pytest

from dealerfunnel.transform.runner import run_dbt

pytestmark = pytest.mark.timeout(300)

SH = timezone(timedelta(hours=8))
PAGE = "1010101010"
CUSTOMER = "1234567890"
META_CAMPAIGN = "120200000001000"


def sh(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def key(dealer: str, system: str, lead_id: str) -> str:
    return hashlib.md5(f"{dealer}|{system}|{lead_id}".encode()).hexdigest()


def meta_lead(lead_id: str, created: str | None, phone: str, **extra) -> dict:
    record: dict = {"id": lead_id}
    if created:
        record["created_time"] = created
    record.update(extra)
    record["form_id"] = "10101010101"
    record["platform"] = "fb"
    record["field_data"] = [
        {"name": "full_name", "values": [f"Customer {lead_id[-1]}"]},
        {"name": "phone_number", "values": [phone]},
        {"name": "car_model", "values": ["Aurora S"]},
    ]
    return record


META_AD = {
    "ad_id": f"{META_CAMPAIGN}11",
    "ad_name": "Golden Autumn ad 1",
    "adset_id": f"{META_CAMPAIGN}1",
    "adset_name": "Golden Autumn - SH001",
    "campaign_id": META_CAMPAIGN,
    "campaign_name": " Golden Autumn ",
    "is_organic": False,
}

# fmt: off
META_LEADS = [
    meta_lead("900000000000001", "2026-10-12T02:00:00+0000", "+8613900000002", **META_AD),
    meta_lead("900000000000002", "2026-10-14T03:00:00+0000", "13700000003", is_organic=True),
    meta_lead("900000000000003", None, "13700000009", **META_AD),
    meta_lead("900000000000005", "2026-10-13T02:00:00+0000", "+8613800000011", is_organic=True),
]
M4 = meta_lead("900000000000004", "2026-10-15T01:00:00+0000", "13500000005", **META_AD)


def google_submission(sub_id: str, submitted: str, fields: list[dict]) -> dict:
    return {"leadFormSubmissionData": {
        "resourceName": f"customers/{CUSTOMER}/leadFormSubmissionData/{sub_id}",
        "id": sub_id,
        "asset": f"customers/{CUSTOMER}/assets/777",
        "campaign": f"customers/{CUSTOMER}/campaigns/2222",
        "adGroup": f"customers/{CUSTOMER}/adGroups/3333",
        "adGroupAd": f"customers/{CUSTOMER}/adGroupAds/3333~22229",
        "gclid": "Cj0KCQtest",
        "submissionDateTime": submitted,
        "leadFormSubmissionFields": fields,
    }}


GOOGLE_SUBMISSIONS = [
    google_submission("555", "2026-10-15 20:30:00+08:00", [
        {"fieldType": "FULL_NAME", "fieldValue": "Wang Fang"},
        {"fieldType": "PHONE_NUMBER", "fieldValue": "+86 136 0000 0004"},
        {"fieldType": "VEHICLE_MODEL", "fieldValue": "Aurora X"},
    ]),
    google_submission("556", "2026-10-16 09:00:00+08:00", [
        {"fieldType": "FIRST_NAME", "fieldValue": "Lei"},
        {"fieldType": "LAST_NAME", "fieldValue": "Wang"},
        {"fieldType": "EMAIL", "fieldValue": " wang.lei@example.com "},
    ]),
    google_submission("557", "2026-10-12 09:00:00+08:00", [  # G3, worked in HubSpot (H3)
        {"fieldType": "FULL_NAME", "fieldValue": "Zhang Min"},
        {"fieldType": "PHONE_NUMBER", "fieldValue": "+8613200000021"},
    ]),
    google_submission("558", "2026-10-13 10:00:00+08:00", [  # G4, worked in Salesforce (S6)
        {"fieldType": "FULL_NAME", "fieldValue": "Xu Tao"},
        {"fieldType": "PHONE_NUMBER", "fieldValue": "+8613200000031"},
    ]),
]

EXPORT_LEADS = [
    {"lead_id": "SH-D1", "created_at": "2026-10-13T09:00:00+08:00", "assigned_at": None,
     "channel": "wechat", "campaign": "walk-in", "consultant": "Li Na", "grade": "a",
     "phone": "139-0000-0002"},
    {"lead_id": "SH-D2", "created_at": "2026-10-10T15:00:00+08:00", "assigned_at": None,
     "channel": "douyin", "email": "Wang.Lei@Example.com"},
]
EXPORT_EVENTS = [
    {"lead_id": "SH-D1", "stage": "interested", "occurred_at": "2026-10-14T10:00:00+08:00"},
]
META_INSIGHTS = [
    {"campaign_id": META_CAMPAIGN, "campaign_name": "Golden Autumn", "date_start": day,
     "date_stop": day, "spend": spend, "impressions": "1000", "clicks": "20",
     "account_id": "555000", "account_currency": "cny"}
    for day, spend in (("2026-10-12", "100.50"), ("2026-10-13", "49.50"))
] + [
    {"campaign_id": campaign_id, "campaign_name": "Spring Launch", "date_start": "2026-10-14",
     "date_stop": "2026-10-14", "spend": spend, "impressions": "500", "clicks": "5",
     "account_id": account, "account_currency": currency}
    for campaign_id, account, currency, spend in (
        ("120200000002000", "555000", "CNY", "20.00"),
        ("120200000003000", "555001", "HKD", "30.00"),
    )
]
GOOGLE_COSTS = [
    {"customer": {"id": CUSTOMER, "currencyCode": "CNY"},
     "campaign": {"resourceName": f"customers/{CUSTOMER}/campaigns/2222", "id": "2222",
                  "name": "Search Brand"},
     "segments": {"date": "2026-10-15"},
     "metrics": {"costMicros": "80000000", "impressions": "900", "clicks": "30"}},
]
# fmt: on

ORG = "00D000000000001"


def sf(sobject: str, record_id: str, **fields) -> dict:
    url = f"/services/data/v60.0/sobjects/{sobject}/{record_id}"
    return {"attributes": {"type": sobject, "url": url}, "Id": record_id, **fields}


def sf_time(local: str) -> str:
    return sh(local).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


# fmt: off
API_RECORDS = {
    "salesforce__users": [
        sf("User", "005A", Name=" Chen  Jing ", Username="chen@dealer.example.com",
           IsActive=True, Title="Sales Consultant", Dealer_Code__c="SH001"),
    ],
    "salesforce__leads": [
        sf("Lead", "00QA1", FirstName="Jing", LastName="Liu", Company="Liu Jing",
           Phone="+86 135 0000 0006", Email=None, Status="Closed - Converted",
           LeadSource="Web", Rating="Hot", OwnerId="005A", IsConverted=True,
           ConvertedOpportunityId="006A1", Model_of_Interest__c="Aurora S",
           Dealer_Code__c="SH001", CreatedDate=sf_time("2026-10-13 09:00"),
           LastModifiedDate=sf_time("2026-10-15 10:00"),
           SystemModstamp=sf_time("2026-10-15 10:00")),
        sf("Lead", "00QA2", FirstName="Min", LastName="Zhao", Company="Zhao Min",
           Phone="137 0000 0003", Status="Working - Contacted", LeadSource="Event",
           OwnerId="00GQ1", IsConverted=False, ConvertedOpportunityId=None,
           Dealer_Code__c="SH001", CreatedDate=sf_time("2026-10-14 13:00"),
           LastModifiedDate=sf_time("2026-10-14 13:00"),
           SystemModstamp=sf_time("2026-10-14 13:00")),
        sf("Lead", "00QA3", FirstName="Hua", LastName="Qian", Company="Qian Hua",
           MobilePhone="13100000012", Status="Open - Not Contacted", LeadSource="Web",
           Rating="Warm", OwnerId="005A", IsConverted=False, ConvertedOpportunityId=None,
           Dealer_Code__c="SH001", CreatedDate=sf_time("2026-10-14 08:00"),
           LastModifiedDate=sf_time("2026-10-14 09:30"),
           SystemModstamp=sf_time("2026-10-14 09:30")),
        sf("Lead", "00QA4", FirstName="Lei", LastName="Zhou", Company="Zhou Lei",
           MobilePhone="+86 138 0000 0011", Status="Working - Contacted", LeadSource="Web",
           Rating=None, OwnerId="005A", IsConverted=False, ConvertedOpportunityId=None,
           Dealer_Code__c="SH001", CreatedDate=sf_time("2026-10-14 10:00"),
           LastModifiedDate=sf_time("2026-10-14 15:00"),
           SystemModstamp=sf_time("2026-10-14 15:00")),
        sf("Lead", "00QA6", FirstName="Tao", LastName="Xu", Company="Xu Tao",
           MobilePhone="+86 132 0000 0031", Status="Working - Contacted", LeadSource="Web",
           Rating="Cold", OwnerId="005A", IsConverted=False, ConvertedOpportunityId=None,
           Dealer_Code__c="SH001", CreatedDate=sf_time("2026-10-13 16:00"),
           LastModifiedDate=sf_time("2026-10-14 09:00"),
           SystemModstamp=sf_time("2026-10-14 09:00")),
    ],
    "salesforce__lead_history": [
        sf("LeadHistory", "017A1", LeadId="00QA1", Field="Status",
           OldValue="Open - Not Contacted", NewValue="Working - Contacted",
           CreatedById="005A", CreatedDate=sf_time("2026-10-13 14:00")),
        sf("LeadHistory", "017A2", LeadId="00QA1", Field="Status",
           OldValue="Working - Contacted", NewValue="Closed - Converted",
           CreatedById="005A", CreatedDate=sf_time("2026-10-15 10:00")),
        sf("LeadHistory", "017A3", LeadId="00QA1", Field="Rating", OldValue="Warm",
           NewValue="Hot", CreatedById="005A", CreatedDate=sf_time("2026-10-14 10:00")),
        # S3 moved from the queue to Chen Jing: Salesforce writes the id row and the name row
        sf("LeadHistory", "017A4", LeadId="00QA3", Field="Owner", OldValue="00GQ1",
           NewValue="005A", CreatedById="005A", CreatedDate=sf_time("2026-10-14 09:30")),
        sf("LeadHistory", "017A5", LeadId="00QA3", Field="Owner", OldValue="SH001 Web Queue",
           NewValue="Chen Jing", CreatedById="005A", CreatedDate=sf_time("2026-10-14 09:30")),
        sf("LeadHistory", "017A6", LeadId="00QA4", Field="Status",
           OldValue="Open - Not Contacted", NewValue="Working - Contacted",
           CreatedById="005A", CreatedDate=sf_time("2026-10-14 15:00")),
        sf("LeadHistory", "017A7", LeadId="00QA6", Field="Status",
           OldValue="Open - Not Contacted", NewValue="Working - Contacted",
           CreatedById="005A", CreatedDate=sf_time("2026-10-14 09:00")),
    ],
    "salesforce__opportunity_history": [
        sf("OpportunityHistory", "008A1", OpportunityId="006A1",
           StageName="Proposal/Price Quote", Amount=200000.0, CreatedById="005A",
           CreatedDate=sf_time("2026-10-16 10:00")),
        sf("OpportunityHistory", "008A2", OpportunityId="006A1", StageName="Closed Won",
           Amount=200000.0, CurrencyIsoCode="CNY", CreatedById="005A",
           CreatedDate=sf_time("2026-10-20 10:00")),
    ],
    "salesforce__tasks": [
        sf("Task", "00TA1", WhoId="00QA1", WhatId=None, Subject="Call", Status="Completed",
           TaskSubtype="Call", OwnerId="005A", Dealer_Code__c="SH001",
           CreatedDate=sf_time("2026-10-13 11:00")),
        sf("Task", "00TA2", WhoId="00QA1", WhatId=None, Subject="Send brochure",
           Status="Not Started", TaskSubtype="Task", OwnerId="005A",
           Dealer_Code__c="SH001", CreatedDate=sf_time("2026-10-13 12:00")),
    ],
}

S5 = sf("Lead", "00QB5", FirstName="Lei", LastName="Zhou", Company="Zhou Lei",
        MobilePhone="13800000011", Status="Open - Not Contacted", LeadSource="Web",
        OwnerId="005A", IsConverted=False, ConvertedOpportunityId=None,
        Dealer_Code__c="SH002", CreatedDate=sf_time("2026-10-15 10:00"),
        LastModifiedDate=sf_time("2026-10-15 10:00"), SystemModstamp=sf_time("2026-10-15 10:00"))


def attendee(aid: str, created: str, changed: str, status: str, phone: str) -> dict:
    def eb(local: str) -> str:
        return sh(local).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    return {
        "id": aid, "created": eb(created), "changed": eb(changed),
        "profile": {"name": f"Guest {aid}", "first_name": "Guest", "last_name": aid,
                    "email": f"{aid}@guest.example.com", "cell_phone": phone},
        "checked_in": status == "Checked In", "cancelled": status == "Not Attending",
        "refunded": False, "status": status, "event_id": "8001", "order_id": f"{aid}1",
        "ticket_class_name": "Free", "quantity": 1,
    }


API_RECORDS["eventbrite__attendees"] = [
    attendee("E1", "2026-10-14 09:00", "2026-10-17 15:00", "Checked In", "+8613300000007"),
    attendee("E2", "2026-10-15 09:00", "2026-10-16 12:00", "Not Attending", "+8613300000008"),
]
API_RECORDS["hubspot__owners"] = [
    {"id": "77", "email": "jing@dealer.example.com", "type": "PERSON", "firstName": "Jing",
     "lastName": "Chen", "userId": 9000101, "archived": False},
]
API_RECORDS["hubspot__contacts"] = [
    {"id": "501", "properties": {
        "email": None, "firstname": "Wei", "lastname": "Sun", "mobilephone": "133 0000 0007",
        "lifecyclestage": "opportunity", "hs_lead_status": "NEW", "hubspot_owner_id": "77",
        "hubspot_owner_assigneddate": "2026-10-16T03:00:00.000Z",
        # the deal's stages win: these moves do not count
        "hs_lifecyclestage_lead_date": "2026-10-16T01:00:00.000Z",
        "hs_lifecyclestage_marketingqualifiedlead_date": "2026-10-16T01:30:00.000Z",
        "hs_lifecyclestage_opportunity_date": "2026-10-16T02:00:00.000Z",
        "dealer_code": "SH001", "createdate": "2026-10-16T01:00:00.000Z",
        "lastmodifieddate": "2026-10-16T01:00:00.000Z", "hs_object_id": "501"},
     "createdAt": "2026-10-16T01:00:00.000Z", "updatedAt": "2026-10-16T01:00:00.000Z",
     "archived": False},
    {"id": "502", "properties": {
        "email": None, "firstname": "Li", "lastname": "Sun", "mobilephone": "133 0000 0009",
        "lifecyclestage": "customer", "hs_lead_status": "NEW", "hubspot_owner_id": "77",
        "hs_lifecyclestage_customer_date": "2026-10-19T02:00:00.000Z",  # a deal's contact: no
        "dealer_code": "SH001", "createdate": "2026-10-17T01:00:00.000Z",
        "lastmodifieddate": "2026-10-17T01:00:00.000Z", "hs_object_id": "502"},
     "createdAt": "2026-10-17T01:00:00.000Z", "updatedAt": "2026-10-17T01:00:00.000Z",
     "archived": False},
    {"id": "503", "properties": {  # H3: G3's person, worked in HubSpot without a deal
        "email": None, "firstname": "Min", "lastname": "Zhang", "mobilephone": "132 0000 0021",
        "lifecyclestage": "salesqualifiedlead", "hs_lead_status": "IN_PROGRESS",
        "hubspot_owner_id": "77", "hubspot_owner_assigneddate": "2026-10-12T04:30:00.000Z",
        "hs_analytics_source": "PAID_SEARCH",
        "hs_lifecyclestage_lead_date": "2026-10-12T04:00:00.000Z",
        "hs_lifecyclestage_marketingqualifiedlead_date": "2026-10-13T07:00:00.000Z",
        "hs_lifecyclestage_salesqualifiedlead_date": "2026-10-15T02:00:00.000Z",
        "hs_lifecyclestage_customer_date": "",  # HubSpot sends unset dates empty
        "dealer_code": "SH001", "createdate": "2026-10-12T04:00:00.000Z",
        "lastmodifieddate": "2026-10-15T02:00:00.000Z", "hs_object_id": "503"},
     "createdAt": "2026-10-12T04:00:00.000Z", "updatedAt": "2026-10-15T02:00:00.000Z",
     "archived": False},
]


def deal_contact(contact_id: int) -> dict:
    return {"toObjectId": contact_id, "associationTypes": [
        {"category": "HUBSPOT_DEFINED", "typeId": 3, "label": None}]}  # fmt: skip


API_RECORDS["hubspot__deals"] = [
    {"id": "9001", "properties": {"dealname": "Sun Wei - Aurora S", "dealstage": "closedwon",
                                   "pipeline": "default", "hubspot_owner_id": "77",
                                   "amount": "250000", "deal_currency_code": "CNY"},
     # the spouse's contact first: the deal still counts for the contact created first (501)
     "associations": {"contacts": [deal_contact(502), deal_contact(501)]},
     "propertiesWithHistory": {"dealstage": [
         {"value": "closedwon", "timestamp": "2026-10-19T02:00:00.000Z", "sourceType": "CRM_UI"},
         {"value": "appointmentscheduled", "timestamp": "2026-10-16T02:00:00.000Z",
          "sourceType": "CRM_UI"},
     ]},
     "createdAt": "2026-10-16T02:00:00.000Z", "updatedAt": "2026-10-19T02:00:00.000Z",
     "archived": False},
]
# Jing Chen's call with H1 (501) on Fri 10-16 12:00 local, an hour after the assignment
API_RECORDS["hubspot__calls"] = [
    {"id": "7001", "properties": {
        "hs_timestamp": "2026-10-16T04:00:00.000Z", "hubspot_owner_id": "77",
        "hubspot_team_id": "101", "hs_call_title": "Follow-up call",
        "hs_call_disposition": "f240bbac-87c9-4f6e-bf70-924b57d47db7",
        "hs_createdate": "2026-10-16T04:05:00.000Z",
        "hs_lastmodifieddate": "2026-10-16T04:05:00.000Z"},
     "createdAt": "2026-10-16T04:05:00.000Z", "updatedAt": "2026-10-16T04:05:00.000Z",
     "archived": False,
     "associations": {"contacts": [{"toObjectId": 501, "associationTypes": [
         {"category": "HUBSPOT_DEFINED", "typeId": 194, "label": None}]}]}},
]
API_RECORDS["hubspot__pipelines"] = [
    {"id": "default", "label": "Sales Pipeline", "displayOrder": 0, "stages": [
        {"id": "appointmentscheduled", "label": "Appointment scheduled", "displayOrder": 0,
         "metadata": {"isClosed": "false", "probability": "0.2"}},
        {"id": "closedwon", "label": "Closed won", "displayOrder": 6,
         "metadata": {"isClosed": "true", "probability": "1.0"}},
    ]},
]
# fmt: on

API_INSERT = (
    "insert into raw.{table} (record_id, account_id, record_updated_at, payload, _dealer_code,"
    " _source, _batch_id, _extracted_at) values (%s, %s, null, %s, 'SH001', %s, %s, %s)"
)


def _insert_meta_leads(conn: psycopg.Connection, leads: list[dict], extracted_at: str) -> None:
    for lead in leads:
        conn.execute(
            API_INSERT.format(table="meta__leads"),
            (lead["id"], PAGE, json.dumps(lead), "meta", uuid.uuid4(), extracted_at),
        )


def _load(conn: psycopg.Connection) -> None:
    h.insert_dealers(
        conn,
        [
            ("SH001", "Shanghai Pudong Motors", "East", "Aurora", "Asia/Shanghai", True),
            ("SH002", "Shanghai Hongqiao Motors", "East", "Aurora", "Asia/Shanghai", True),
        ],
    )
    batch = uuid.uuid4()
    for obj, file_name, sha, rows in [
        ("leads", "leads.csv", "a" * 64, EXPORT_LEADS),
        ("stage_events", "stage_events.csv", "b" * 64, EXPORT_EVENTS),
    ]:
        h.insert_export_file(
            conn, "SH001", obj, file_name, "2026-10-20T00:00:00Z", rows, sha=sha, batch=batch
        )
    _insert_meta_leads(conn, META_LEADS, "2026-10-16T00:00:00Z")
    for row in GOOGLE_SUBMISSIONS:
        conn.execute(
            API_INSERT.format(table="google_ads__lead_form_submissions"),
            (row["leadFormSubmissionData"]["resourceName"], CUSTOMER, json.dumps(row),
             "google_ads", uuid.uuid4(), "2026-10-17T00:00:00Z"),
        )  # fmt: skip
    for table, records in API_RECORDS.items():
        for record in records:
            conn.execute(
                API_INSERT.format(table=table),
                (record.get("Id") or record["id"], ORG, json.dumps(record), table.split("__")[0],
                 uuid.uuid4(),
                 "2026-10-21T00:00:00Z"),
            )  # fmt: skip
    # S5: the same mobile as M5, at another dealer (the org's lead of SH002)
    conn.execute(
        API_INSERT.replace("'SH001'", "'SH002'").format(table="salesforce__leads"),
        (S5["Id"], ORG, json.dumps(S5), "salesforce", uuid.uuid4(), "2026-10-21T00:00:00Z"),
    )
    for row in META_INSIGHTS:
        conn.execute(
            API_INSERT.format(table="meta__insights"),
            (f"{row['campaign_id']}|{row['date_start']}", row["account_id"], json.dumps(row),
             "meta", uuid.uuid4(), "2026-10-18T00:00:00Z"),
        )  # fmt: skip
    for row in GOOGLE_COSTS:
        conn.execute(
            API_INSERT.format(table="google_ads__campaign_costs"),
            (f"{row['campaign']['id']}|{row['segments']['date']}", CUSTOMER, json.dumps(row),
             "google_ads", uuid.uuid4(), "2026-10-18T00:00:00Z"),
        )  # fmt: skip


@pytest.fixture(scope="module")
def built(warehouse_url, tmp_path_factory):
    """Fixture loaded, ``dbt build`` once; yields (url, var_dir)."""
    h.reset_warehouse(warehouse_url)
    with psycopg.connect(warehouse_url) as conn:
        _load(conn)
    with h.module_data_dir(tmp_path_factory) as var_dir:
        started = time.monotonic()
        h.dbt_ok(["build"], warehouse_url)
        seconds = time.monotonic() - started
    yield warehouse_url, var_dir, seconds


def test_staging_extracts_the_answers(built):
    url, _, _ = built
    meta = h.fetch_rows(url, "select * from staging.stg_meta__leads order by source_lead_id")
    assert [r["source_lead_id"] for r in meta] == [
        "900000000000001", "900000000000002", "900000000000005"
    ]  # fmt: skip
    m1, m2, _ = meta
    assert (m1["channel"], m1["campaign"], m1["campaign_id"]) == (
        "meta_lead_ads",
        "Golden Autumn",
        META_CAMPAIGN,
    )
    assert (m1["phone"], m1["customer_name"], m1["model_of_interest"]) == (
        "+8613900000002",
        "Customer 1",
        "Aurora S",
    )
    assert m1["created_at"] == sh("2026-10-12 10:00")
    assert (m2["campaign"], m2["campaign_id"], m2["is_organic"]) == (None, None, True)
    google = h.fetch_rows(
        url, "select * from staging.stg_google_ads__lead_form_submissions order by source_lead_id"
    )
    g1, g2, _g3, _g4 = google
    assert g1["source_lead_id"] == f"customers/{CUSTOMER}/leadFormSubmissionData/555"
    assert (g1["channel"], g1["campaign"], g1["campaign_id"]) == ("google_ads", None, "2222")
    assert (g1["phone"], g1["customer_name"], g1["model_of_interest"]) == (
        "+86 136 0000 0004",
        "Wang Fang",
        "Aurora X",
    )
    assert g1["created_at"] == sh("2026-10-15 20:30")
    assert (g2["customer_name"], g2["email"], g2["phone"]) == (
        "Lei Wang",
        "wang.lei@example.com",
        None,
    )


# fmt: off
EXPECTED_LEADS = {
    # (source_system, source_lead_id): values
    ("meta_lead_ads", "900000000000001"): {
        "channel": "meta_lead_ads", "campaign": "Golden Autumn", "consultant": "Li Na",
        "grade": "A", "created_at": sh("2026-10-12 10:00"), "interested_at": sh("2026-10-14 10:00"),
        "current_stage": "interested", "lead_record_count": 2,
    },
    ("meta_lead_ads", "900000000000002"): {  # with S2, still in its queue: not assigned
        "channel": "meta_lead_ads", "campaign": None, "consultant": None, "grade": None,
        "assigned_at": None,
        "created_at": sh("2026-10-14 11:00"), "interested_at": sh("2026-10-14 13:00"),
        "current_stage": "interested", "lead_record_count": 2,
    },
    ("eventbrite", "E1"): {  # with H1, whose deal 9001 counts for it (see the header)
        "channel": "event_signup", "campaign": None, "created_at": sh("2026-10-14 09:00"),
        "assigned_at": sh("2026-10-16 11:00"), "interested_at": sh("2026-10-16 10:00"),
        "needs_defined_at": sh("2026-10-19 10:00"), "decision_at": sh("2026-10-19 10:00"),
        "won_at": sh("2026-10-19 10:00"), "current_stage": "won",
        "consultant": "Jing Chen", "lead_record_count": 2,
        "amount": Decimal("250000"), "currency": "CNY",
        "first_contact_at": sh("2026-10-16 12:00"),  # the HubSpot call 7001 with H1
    },
    ("hubspot", "502"): {  # the deal's second contact: the deal does not count twice
        "channel": "unknown", "created_at": sh("2026-10-17 09:00"), "consultant": "Jing Chen",
        "assigned_at": None, "interested_at": None, "won_at": None,
        "current_stage": "potential", "lead_record_count": 1,
    },
    ("salesforce", "00QA3"): {  # moved from the queue to Chen Jing at 09:30
        "channel": "web", "grade": "B", "consultant": "Chen Jing",
        "created_at": sh("2026-10-14 08:00"), "assigned_at": sh("2026-10-14 09:30"),
        "current_stage": "potential", "lead_record_count": 1,
    },
    ("meta_lead_ads", "900000000000005"): {  # M5, worked in Salesforce as S4
        "channel": "meta_lead_ads", "campaign": None, "consultant": "Chen Jing",
        "created_at": sh("2026-10-13 10:00"), "assigned_at": sh("2026-10-14 10:00"),
        "interested_at": sh("2026-10-14 15:00"), "current_stage": "interested",
        "lead_record_count": 2,
    },
    ("eventbrite", "E2"): {
        "channel": "event_signup", "created_at": sh("2026-10-15 09:00"), "interested_at": None,
        "lost_at": sh("2026-10-16 12:00"), "current_stage": "lost", "is_lost": True,
    },
    ("salesforce", "00QA1"): {
        "channel": "web", "campaign": None, "consultant": "Chen Jing", "grade": "A",
        "created_at": sh("2026-10-13 09:00"), "assigned_at": sh("2026-10-13 09:00"),
        "first_contact_at": sh("2026-10-13 11:00"), "interested_at": sh("2026-10-13 14:00"),
        "needs_defined_at": sh("2026-10-15 10:00"), "decision_at": sh("2026-10-16 10:00"),
        "won_at": sh("2026-10-20 10:00"), "current_stage": "won", "lead_record_count": 1,
    },
    ("google_ads", f"customers/{CUSTOMER}/leadFormSubmissionData/555"): {
        "channel": "google_ads", "campaign": "Search Brand", "consultant": None, "grade": None,
        "created_at": sh("2026-10-15 20:30"), "interested_at": None,
        "current_stage": "potential", "lead_record_count": 1,
    },
    ("google_ads", f"customers/{CUSTOMER}/leadFormSubmissionData/557"): {  # G3 + H3
        "channel": "google_ads", "campaign": "Search Brand", "consultant": "Jing Chen",
        "grade": None, "created_at": sh("2026-10-12 09:00"), "assigned_at": sh("2026-10-12 12:30"),
        "interested_at": sh("2026-10-13 15:00"), "needs_defined_at": sh("2026-10-15 10:00"),
        "decision_at": None, "won_at": None, "current_stage": "needs_defined",
        "lead_record_count": 2,
    },
    ("google_ads", f"customers/{CUSTOMER}/leadFormSubmissionData/558"): {  # G4 + S6
        "channel": "google_ads", "campaign": "Search Brand", "consultant": "Chen Jing",
        "grade": "C", "created_at": sh("2026-10-13 10:00"), "assigned_at": sh("2026-10-13 16:00"),
        "interested_at": sh("2026-10-14 09:00"), "needs_defined_at": None,
        "current_stage": "interested", "lead_record_count": 2,
    },
    ("dealer_export", "SH-D2"): {
        "channel": "douyin", "campaign": None, "consultant": None, "grade": None,
        "created_at": sh("2026-10-10 15:00"), "interested_at": None,
        "current_stage": "potential", "lead_record_count": 2,
    },
}
# fmt: on


def test_hubspot_deal_history_and_pipeline_stages_are_staged(built):
    url, _, _ = built
    history = h.fetch_rows(
        url,
        "select deal_id, deal_stage_id, stage, occurred_at"
        " from staging.stg_hubspot__deal_stage_history order by occurred_at",
    )
    assert [(r["deal_stage_id"], r["stage"], r["occurred_at"]) for r in history] == [
        ("appointmentscheduled", "interested", sh("2026-10-16 10:00")),
        ("closedwon", "won", sh("2026-10-19 10:00")),
    ]
    stages = h.fetch_rows(
        url,
        "select deal_stage_id, deal_stage_label, is_closed, stage"
        " from staging.stg_hubspot__pipeline_stages order by display_order",
    )
    assert [tuple(r.values()) for r in stages] == [
        ("appointmentscheduled", "Appointment scheduled", False, "interested"),
        ("closedwon", "Closed won", True, "won"),
    ]


def test_hubspot_lifecycle_moves_count_only_without_a_deal(built):
    url, _, _ = built
    staged = h.fetch_rows(
        url,
        "select contact_id, lifecycle_stage, stage, occurred_at"
        " from staging.stg_hubspot__contact_lifecycle_stages order by occurred_at, contact_id",
    )
    assert [tuple(r.values()) for r in staged] == [
        ("503", "lead", "potential", sh("2026-10-12 12:00")),
        ("503", "marketingqualifiedlead", "interested", sh("2026-10-13 15:00")),
        ("503", "salesqualifiedlead", "needs_defined", sh("2026-10-15 10:00")),
        ("501", "lead", "potential", sh("2026-10-16 09:00")),
        ("501", "marketingqualifiedlead", "interested", sh("2026-10-16 09:30")),
        ("501", "opportunity", "needs_defined", sh("2026-10-16 10:00")),
        ("502", "customer", "won", sh("2026-10-19 10:00")),
    ]  # 503's empty customer date is no move
    events = h.fetch_rows(
        url,
        "select source_lead_id, stage, occurred_at, consultant"
        " from intermediate.int_stage_events_unioned where source_system = 'hubspot'"
        " order by occurred_at, source_lead_id",
    )
    # 503 (no deal) by its lifecycle (potential is not an event); 501 by deal 9001 only; 502 none
    assert [tuple(r.values()) for r in events] == [
        ("503", "interested", sh("2026-10-13 15:00"), "Jing Chen"),
        ("503", "needs_defined", sh("2026-10-15 10:00"), "Jing Chen"),
        ("501", "interested", sh("2026-10-16 10:00"), "Jing Chen"),
        ("501", "won", sh("2026-10-19 10:00"), "Jing Chen"),
    ]


def test_api_leads_in_fct_leads_and_merged_by_identity(built):
    url, _, _ = built
    rows = h.fetch_rows(url, "select * from marts.fct_leads where dealer_code = 'SH001'")
    actual = {(r["source_system"], r["source_lead_id"]): r for r in rows}
    assert sorted(actual) == sorted(EXPECTED_LEADS)
    for lead, expected in EXPECTED_LEADS.items():
        row = actual[lead]
        assert row["lead_key"] == key("SH001", *lead)
        assert {k: row[k] for k in expected} == expected, lead


def test_salesforce_model_and_won_amount_reach_fct_leads(built):
    url, _, _ = built
    [lead] = h.fetch_rows(
        url,
        "select model_of_interest, amount, currency, is_won from marts.fct_leads"
        " where source_system = 'salesforce' and source_lead_id = '00QA1'",
    )
    # Model_of_Interest__c; the Amount and CurrencyIsoCode of the Closed Won OpportunityHistory
    # row (the Proposal row carries an amount too, but only a won event gives the lead's amount)
    assert lead == {
        "model_of_interest": "Aurora S", "amount": Decimal("200000.0"), "currency": "CNY",
        "is_won": True,
    }  # fmt: skip


def test_same_phone_at_another_dealer_is_another_lead(built):
    url, _, _ = built
    rows = h.fetch_rows(
        url,
        "select dealer_code, source_system, source_lead_id, lead_key, lead_record_count,"
        " consultant from marts.fct_leads where dealer_code = 'SH002'",
    )
    # S5 has M5's phone but belongs to SH002: not merged into M5's lead at SH001
    assert rows == [
        {"dealer_code": "SH002", "source_system": "salesforce", "source_lead_id": "00QB5",
         "lead_key": key("SH002", "salesforce", "00QB5"), "lead_record_count": 1,
         "consultant": "Chen Jing"},
    ]  # fmt: skip


def test_every_record_maps_to_its_lead(built):
    url, _, _ = built
    rows = h.fetch_rows(
        url,
        "select source_system, source_lead_id, lead_key, is_matched_on_phone,"
        " is_matched_on_email from intermediate.int_lead_records_matched_to_leads",
    )
    got = {(r["source_system"], r["source_lead_id"]): r for r in rows}
    m1 = key("SH001", "meta_lead_ads", "900000000000001")
    d2 = key("SH001", "dealer_export", "SH-D2")
    g2 = ("google_ads", f"customers/{CUSTOMER}/leadFormSubmissionData/556")
    assert got["dealer_export", "SH-D1"]["lead_key"] == m1
    assert got["dealer_export", "SH-D1"]["is_matched_on_phone"] is True
    assert got[g2]["lead_key"] == d2
    assert got[g2]["is_matched_on_email"] is True
    assert got["salesforce", "00QA2"]["lead_key"] == key(
        "SH001", "meta_lead_ads", "900000000000002"
    )
    assert got["hubspot", "501"]["lead_key"] == key("SH001", "eventbrite", "E1")
    assert got["hubspot", "502"]["lead_key"] == key("SH001", "hubspot", "502")
    m5 = key("SH001", "meta_lead_ads", "900000000000005")
    assert got["salesforce", "00QA4"]["lead_key"] == m5
    assert got["salesforce", "00QA4"]["is_matched_on_phone"] is True
    assert got["salesforce", "00QB5"]["lead_key"] == key("SH002", "salesforce", "00QB5")
    assert got["salesforce", "00QB5"]["is_matched_on_phone"] is False
    g3 = key("SH001", "google_ads", f"customers/{CUSTOMER}/leadFormSubmissionData/557")
    g4 = key("SH001", "google_ads", f"customers/{CUSTOMER}/leadFormSubmissionData/558")
    assert (got["hubspot", "503"]["lead_key"], got["hubspot", "503"]["is_matched_on_phone"]) == (
        g3,
        True,
    )
    assert (
        got["salesforce", "00QA6"]["lead_key"],
        got["salesforce", "00QA6"]["is_matched_on_phone"],
    ) == (
        g4,
        True,
    )
    # 11 + M5, S3, S4, S5, H2 + G3, H3, G4, S6
    assert len(got) == 20


R = Decimal
# (channel, period_start): (potential, interested, needs_defined, decision, won, lost)
EXPECTED_WEEKS = {
    ("meta_lead_ads", date(2026, 10, 12)): (3, 3, 0, 0, 0, 0),  # M1, M2, M5
    ("web", date(2026, 10, 12)): (2, 1, 1, 1, 1, 0),  # S1 won, S3 potential
    ("event_signup", date(2026, 10, 12)): (2, 1, 1, 1, 1, 1),  # E1 won (deal 9001), E2 lost
    ("unknown", date(2026, 10, 12)): (1, 0, 0, 0, 0, 0),  # H2
    ("google_ads", date(2026, 10, 12)): (3, 2, 1, 0, 0, 0),  # G1; G3 needs_defined, G4 interested
    ("douyin", date(2026, 10, 5)): (1, 0, 0, 0, 0, 0),
}


def test_funnel_counts_by_week_and_channel(built):
    url, _, _ = built
    rows = h.fetch_rows(
        url,
        "select * from marts.mart_funnel_conversion"
        " where dealer_code = 'SH001' and period_grain = 'week'",
    )
    stages = ["potential", "interested", "needs_defined", "decision", "won", "lost"]
    actual = {
        (r["channel"], r["period_start"]): tuple(r[f"leads_{s}"] for s in stages) for r in rows
    }
    assert actual == EXPECTED_WEEKS
    meta = next(r for r in rows if r["channel"] == "meta_lead_ads")
    assert meta["rate_potential_to_interested"] == R("1.0000")


def test_channel_roi_joins_spend_to_api_leads(built):
    url, _, _ = built
    rows = h.fetch_rows(
        url,
        "select channel, campaign, month_start, spend, leads, leads_won, cost_per_lead,"
        " cost_per_won from marts.mart_channel_roi where dealer_code = 'SH001'",
    )
    actual = {(r["channel"], r["campaign"]): r for r in rows}
    assert sorted(actual) == sorted(
        [
            ("meta_lead_ads", "Golden Autumn"),
            ("meta_lead_ads", "Spring Launch"),
            ("meta_lead_ads", "(none)"),
            ("unknown", "(none)"),
            ("google_ads", "Search Brand"),
            ("douyin", "(none)"),
            ("web", "(none)"),
            ("event_signup", "(none)"),
        ]
    )
    assert {r["month_start"] for r in rows} == {date(2026, 10, 1)}
    golden = actual["meta_lead_ads", "Golden Autumn"]
    assert (golden["spend"], golden["leads"], golden["cost_per_lead"]) == (
        R("150.0000"),
        1,
        R("150.0000"),
    )
    assert golden["cost_per_won"] is None
    search = actual["google_ads", "Search Brand"]
    assert (search["spend"], search["leads"], search["cost_per_lead"]) == (
        R("80.0000"),
        3,  # G1, G3, G4
        R("26.6667"),
    )
    organic = actual["meta_lead_ads", "(none)"]
    assert (organic["spend"], organic["leads"]) == (None, 2)  # M2, M5


def test_channel_roi_never_mixes_currencies(built):
    url, _, _ = built
    rows = h.fetch_rows(
        url,
        "select campaign, spend, currency, cost_per_lead, impressions, has_mixed_currencies"
        " from marts.mart_channel_roi where dealer_code = 'SH001' and channel = 'meta_lead_ads'"
        " and campaign in ('Golden Autumn', 'Spring Launch') order by campaign",
    )
    assert rows == [
        # one account in CNY: 100.50 + 49.50
        {"campaign": "Golden Autumn", "spend": R("150.0000"), "currency": "CNY",
         "cost_per_lead": R("150.0000"), "impressions": 2000, "has_mixed_currencies": False},
        # 20.00 CNY + 30.00 HKD is not 50.00 of anything: no spend, no cost per lead
        {"campaign": "Spring Launch", "spend": None, "currency": None, "cost_per_lead": None,
         "impressions": 1000, "has_mixed_currencies": True},
    ]  # fmt: skip


def test_late_api_lead_is_picked_up_incrementally(built):
    """Runs last: a late Meta lead, loaded before the export's watermark, enters incrementally."""
    url, var_dir, _ = built  # build time is measured by the bench, not bounded here
    with psycopg.connect(url) as conn:
        _insert_meta_leads(conn, [M4], "2026-10-16T06:00:00Z")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEALERFUNNEL_DATA_DIR", str(var_dir))
        run_dbt(["run", "--select", "int_leads_unioned+,+fct_leads"], url)
    rows = h.fetch_rows(
        url,
        "select channel, campaign, created_at, current_stage from marts.fct_leads"
        " where source_lead_id = '900000000000004'",
    )
    assert rows == [
        {
            "channel": "meta_lead_ads",
            "campaign": "Golden Autumn",
            "created_at": sh("2026-10-15 09:00"),
            "current_stage": "potential",
        }
    ]


def test_a_deal_associated_later_supersedes_the_lifecycle_moves(built):
    """Runs after the late Meta lead: deal 9002 of contact 503 (H3) arrives later; an incremental
    run drops H3's lifecycle events (a deal's stages win) and counts the deal's: G3's lead is
    interested at the deal's appointmentscheduled, Fri 10-16 14:00, and no longer needs_defined."""
    url, var_dir, _ = built
    deal = {
        "id": "9002",
        "properties": {"dealname": "Zhang Min - Aurora X", "dealstage": "appointmentscheduled",
                       "pipeline": "default", "hubspot_owner_id": "77", "amount": "180000",
                       "deal_currency_code": "CNY"},
        "associations": {"contacts": [deal_contact(503)]},
        "propertiesWithHistory": {"dealstage": [
            {"value": "appointmentscheduled", "timestamp": "2026-10-16T06:00:00.000Z",
             "sourceType": "CRM_UI"},
        ]},
        "createdAt": "2026-10-16T06:00:00.000Z", "updatedAt": "2026-10-16T06:00:00.000Z",
        "archived": False,
    }  # fmt: skip
    with psycopg.connect(url) as conn:
        conn.execute(
            API_INSERT.format(table="hubspot__deals"),
            ("9002", ORG, json.dumps(deal), "hubspot", uuid.uuid4(), "2026-10-22T00:00:00Z"),
        )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEALERFUNNEL_DATA_DIR", str(var_dir))
        run_dbt(["run", "--select", "int_stage_events_unioned+,+fct_leads"], url)
    events = h.fetch_rows(
        url,
        "select stage, occurred_at from intermediate.int_stage_events_unioned"
        " where source_system = 'hubspot' and source_lead_id = '503'",
    )
    assert events == [{"stage": "interested", "occurred_at": sh("2026-10-16 14:00")}]
    [lead] = h.fetch_rows(
        url,
        "select interested_at, needs_defined_at, current_stage from marts.fct_leads"
        " where source_lead_id = %s",
        (f"customers/{CUSTOMER}/leadFormSubmissionData/557",),
    )
    assert lead == {
        "interested_at": sh("2026-10-16 14:00"),
        "needs_defined_at": None,
        "current_stage": "interested",
    }

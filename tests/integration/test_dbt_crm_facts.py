"""CRM connectors fill the activity and satisfaction facts: Salesforce Events and HubSpot meetings
become activities (through seeds/activity_mapping.csv), HubSpot survey responses satisfaction
answers (seeds/survey_scales.csv), next to the dealer export's activities*.csv and surveys*.csv.

Hand-written raw payloads in each API's wire format (as the connectors store them), one
``dbt build`` with ``as_of_at`` 2026-11-01 00:00 UTC; every expected value is worked out by hand.
Dealer SH001 is Asia/Shanghai (UTC+8); the local week of Mon 2026-10-12 is 10-12..10-18.

Salesforce (user 005A "Chen Jing"):
  S1  Lead 00QC1, created Tue 10-13 09:00, LeadSource Web, owner 005A, converted to 006C1:
      Working - Contacted 10-13 14:00, Closed - Converted 10-15 10:00, Closed Won (opportunity
      history) Tue 10-20 10:00 (CloseDate 2026-11-30: a planned date, never a delivery).
  Events of S1:
    00UC1  Type "Test Drive", WhoId 00QC1, Wed 10-14 15:00    -> test_drive, consultant Chen Jing
    00UC2  Type "Trade-in Appraisal" (in no seed), 10-14 16:00 -> no activity; reported unmapped
    00UC3  Type "Meeting" (seed: no activity), 10-14 10:00     -> no activity, not reported
    00UC4  Type "Delivery", WhatId 006C1 (the opportunity), Sat 10-24 10:00
           -> delivered, given to S1 (the lead converted into 006C1): delivered_at 10-24 10:00
    00UC5  Type "Delivery", WhoId 00QC1, Thu 11-05 10:00 (after the as-of time) -> left out
  -> S1: delivered_at 10-24 10:00 (won 10-20 10:00): the after-sales clock starts at delivery.

HubSpot (owner 77 "Jing Chen"):
  H1  contact 601, created Fri 10-16 09:00; deal 9101: appointmentscheduled 10-16 10:00, closedwon
      Mon 10-19 10:00.
  Meetings with 601 (hs_activity_type / hs_meeting_outcome, start):
    8001 "Appointment" NO_SHOW   Sat 10-17 10:00 -> appointment, no_show
    8002 "Appointment" COMPLETED Sun 10-18 10:00 -> appointment, show
    8003 "Test drive"  CANCELED  Sun 10-18 11:00 -> did not take place: no activity
    8004 "Delivery"    COMPLETED Thu 10-22 15:00 -> delivered: delivered_at 10-22 15:00
    8005 "Delivery"    SCHEDULED Thu 11-05 15:00 (after the as-of time) -> left out
  Survey responses of 601: 9901 NPS 9 (10-25) -> 9; 9902 CSAT 4 of 5 (10-26) -> 8; 9903 CES 5
      (effort, no scale row) -> no answer. H1's satisfaction_score = (9 + 8) / 2 = 8.5.

Dealer export: D1 created Sat 10-10 15:00 (walk-in), won Mon 10-12 10:00, activity delivered Thu
  10-15 09:00, survey 4 of 5 -> delivered_at 10-15 09:00, satisfaction 8.

As follow-ups of H1 (meetings are contacts only when the customer came; hs_meeting_outcome through
  seed call_outcome_mapping): 8001 NO_SHOW and 8003 CANCELED are attempts, 8002 and 8004 COMPLETED
  contacts, 8005 still SCHEDULED is not a contact yet. first_contact_at = 10-18 10:00, not the
  no-show on 10-17.

mart_showroom_activity, week 10-12: Chen Jing: 1 test drive (S1, won: rate 1.0); Jing Chen: 2
  appointments, 1 shown, 1 no-show: show_up_rate 0.5.
mart_unmapped_source_values: one row, activity 'Trade-in Appraisal' (salesforce, SH001), 1 record.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import mart_fixtures as h
import psycopg
import pytest

pytestmark = pytest.mark.timeout(300)

SH = timezone(timedelta(hours=8))
ORG = "00D000000000001"
PORTAL = "4400001"
AS_OF = "2026-11-01T00:00:00+00:00"


def sh(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def key(dealer: str, system: str, lead_id: str) -> str:
    return hashlib.md5(f"{dealer}|{system}|{lead_id}".encode()).hexdigest()


def sf(sobject: str, record_id: str, **fields) -> dict:
    url = f"/services/data/v60.0/sobjects/{sobject}/{record_id}"
    return {"attributes": {"type": sobject, "url": url}, "Id": record_id, **fields}


def sf_time(local: str) -> str:
    return sh(local).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def hs_time(local: str) -> str:
    return sh(local).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def event(event_id: str, kind: str, start: str, *, who: str | None, what: str | None) -> dict:
    return sf(
        "Event", event_id, WhoId=who, WhatId=what, OwnerId="005A", Subject=kind, Type=kind,
        StartDateTime=sf_time(start), EndDateTime=sf_time(start.replace(":00", ":59", 1)),
        Dealer_Code__c="SH001", CreatedDate=sf_time("2026-10-13 12:00"),
        LastModifiedDate=sf_time(start), SystemModstamp=sf_time(start),
    )  # fmt: skip


def to_contact(contact_id: int, type_id: int) -> dict:
    return {"toObjectId": contact_id, "associationTypes": [
        {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}]}  # fmt: skip


def meeting(meeting_id: str, kind: str, outcome: str, start: str) -> dict:
    return {
        "id": meeting_id,
        "properties": {
            "hs_timestamp": hs_time(start), "hubspot_owner_id": "77", "hubspot_team_id": "101",
            "hs_createdate": hs_time("2026-10-16 12:00"), "hs_lastmodifieddate": hs_time(start),
            "hs_meeting_title": kind, "hs_meeting_outcome": outcome,
            "hs_meeting_start_time": hs_time(start), "hs_activity_type": kind,
        },
        "createdAt": hs_time("2026-10-16 12:00"), "updatedAt": hs_time(start), "archived": False,
        "associations": {"contacts": [to_contact(601, 200)]},
    }  # fmt: skip


def submission(sub_id: str, survey_type: str, value: str, submitted: str) -> dict:
    return {
        "id": sub_id,
        "properties": {
            "hs_survey_id": "1001", "hs_survey_name": f"Delivery {survey_type}",
            "hs_survey_type": survey_type, "hs_survey_channel": "EMAIL",
            "hs_response_value": value, "hs_sentiment": None, "hs_content": "好",
            "hs_submission_timestamp": hs_time(submitted), "hs_createdate": hs_time(submitted),
            "hs_lastmodifieddate": hs_time(submitted),
        },
        "createdAt": hs_time(submitted), "updatedAt": hs_time(submitted), "archived": False,
        "associations": {"contacts": [to_contact(601, 1)]},
    }  # fmt: skip


# fmt: off
API_RECORDS = {
    "salesforce__users": [
        sf("User", "005A", Name="Chen Jing", Username="chen@dealer.example.com", IsActive=True,
           Title="Sales Consultant", Dealer_Code__c="SH001"),
    ],
    "salesforce__leads": [
        sf("Lead", "00QC1", FirstName="Jing", LastName="Liu", Company="Liu Jing",
           MobilePhone="+86 135 0000 0106", Email=None, Status="Closed - Converted",
           LeadSource="Web", Rating="Hot", OwnerId="005A", IsConverted=True,
           ConvertedOpportunityId="006C1", Dealer_Code__c="SH001",
           CreatedDate=sf_time("2026-10-13 09:00"), LastModifiedDate=sf_time("2026-10-15 10:00"),
           SystemModstamp=sf_time("2026-10-15 10:00")),
    ],
    "salesforce__lead_history": [
        sf("LeadHistory", "017C1", LeadId="00QC1", Field="Status",
           OldValue="Open - Not Contacted", NewValue="Working - Contacted", CreatedById="005A",
           CreatedDate=sf_time("2026-10-13 14:00")),
        sf("LeadHistory", "017C2", LeadId="00QC1", Field="Status",
           OldValue="Working - Contacted", NewValue="Closed - Converted", CreatedById="005A",
           CreatedDate=sf_time("2026-10-15 10:00")),
    ],
    "salesforce__opportunity_history": [
        sf("OpportunityHistory", "008C1", OpportunityId="006C1", StageName="Closed Won",
           Amount=200000.0, CloseDate="2026-11-30", CreatedById="005A",
           CreatedDate=sf_time("2026-10-20 10:00")),
    ],
    "salesforce__events": [
        event("00UC1", "Test Drive", "2026-10-14 15:00", who="00QC1", what=None),
        event("00UC2", "Trade-in Appraisal", "2026-10-14 16:00", who="00QC1", what=None),
        event("00UC3", "Meeting", "2026-10-14 10:00", who="00QC1", what=None),
        event("00UC4", "Delivery", "2026-10-24 10:00", who=None, what="006C1"),
        event("00UC5", "Delivery", "2026-11-05 10:00", who="00QC1", what=None),
    ],
    "hubspot__owners": [
        {"id": "77", "email": "jing@dealer.example.com", "type": "PERSON", "firstName": "Jing",
         "lastName": "Chen", "userId": 9000101, "archived": False},
    ],
    "hubspot__contacts": [
        {"id": "601", "properties": {
            "email": None, "firstname": "Wei", "lastname": "Sun", "phone": "+86 133 0000 0107",
            "lifecyclestage": "lead", "hs_lead_status": "NEW", "hubspot_owner_id": "77",
            "hubspot_owner_assigneddate": hs_time("2026-10-16 11:00"), "dealer_code": "SH001",
            "createdate": hs_time("2026-10-16 09:00"),
            "lastmodifieddate": hs_time("2026-10-16 11:00"), "hs_object_id": "601"},
         "createdAt": hs_time("2026-10-16 09:00"), "updatedAt": hs_time("2026-10-16 11:00"),
         "archived": False},
    ],
    "hubspot__deals": [
        {"id": "9101", "properties": {"dealname": "Sun Wei - Aurora S", "dealstage": "closedwon",
                                       "pipeline": "default", "hubspot_owner_id": "77",
                                       "amount": "250000", "deal_currency_code": "CNY"},
         "associations": {"contacts": [to_contact(601, 3)]},
         "propertiesWithHistory": {"dealstage": [
             {"value": "closedwon", "timestamp": hs_time("2026-10-19 10:00"),
              "sourceType": "CRM_UI"},
             {"value": "appointmentscheduled", "timestamp": hs_time("2026-10-16 10:00"),
              "sourceType": "CRM_UI"},
         ]},
         "createdAt": hs_time("2026-10-16 10:00"), "updatedAt": hs_time("2026-10-19 10:00"),
         "archived": False},
    ],
    "hubspot__meetings": [
        meeting("8001", "Appointment", "NO_SHOW", "2026-10-17 10:00"),
        meeting("8002", "Appointment", "COMPLETED", "2026-10-18 10:00"),
        meeting("8003", "Test drive", "CANCELED", "2026-10-18 11:00"),
        meeting("8004", "Delivery", "COMPLETED", "2026-10-22 15:00"),
        meeting("8005", "Delivery", "SCHEDULED", "2026-11-05 15:00"),
    ],
    "hubspot__feedback_submissions": [
        submission("9901", "NPS", "9", "2026-10-25 12:00"),
        submission("9902", "CSAT", "4", "2026-10-26 12:00"),
        submission("9903", "CES", "5", "2026-10-26 13:00"),
    ],
    "hubspot__pipelines": [
        {"id": "default", "label": "Sales Pipeline", "displayOrder": 0, "stages": [
            {"id": "appointmentscheduled", "label": "Appointment scheduled", "displayOrder": 0,
             "metadata": {"isClosed": "false", "probability": "0.2"}},
            {"id": "closedwon", "label": "Closed won", "displayOrder": 6,
             "metadata": {"isClosed": "true", "probability": "1.0"}},
        ]},
    ],
}
EXPORT_FILES = [
    ("leads", [{"lead_id": "SH-D1", "created_at": "2026-10-10T15:00:00+08:00",
                "assigned_at": None, "channel": "walk-in", "phone": "139-0000-0108"}]),
    ("stage_events", [{"lead_id": "SH-D1", "stage": "won",
                       "occurred_at": "2026-10-12T10:00:00+08:00"}]),
    ("activities", [{"lead_id": "SH-D1", "activity": "delivered",
                     "occurred_at": "2026-10-15T09:00:00+08:00"}]),
    ("surveys", [{"lead_id": "SH-D1", "occurred_at": "2026-10-16T09:00:00+08:00", "score": "4",
                  "scale_max": "5", "kind": "purchase"}]),
]
# fmt: on

API_INSERT = (
    "insert into raw.{table} (record_id, account_id, record_updated_at, payload, _dealer_code,"
    " _source, _batch_id, _extracted_at) values (%s, %s, null, %s, 'SH001', %s, %s, %s)"
)
S1 = key("SH001", "salesforce", "00QC1")
H1 = key("SH001", "hubspot", "601")
D1 = key("SH001", "dealer_export", "SH-D1")


def _load(conn: psycopg.Connection) -> None:
    h.insert_dealers(
        conn, [("SH001", "Shanghai Pudong Motors", "East", "Aurora", "Asia/Shanghai", True)]
    )
    for obj, rows in EXPORT_FILES:
        h.insert_export_file(conn, "SH001", obj, f"{obj}.csv", "2026-10-27T00:00:00Z", rows)
    for table, records in API_RECORDS.items():
        source = table.split("__")[0]
        account = ORG if source == "salesforce" else PORTAL
        for record in records:
            conn.execute(
                API_INSERT.format(table=table),
                (record.get("Id") or record["id"], account, json.dumps(record), source,
                 uuid.uuid4(), "2026-10-27T00:00:00Z"),
            )  # fmt: skip


@pytest.fixture(scope="module")
def built(warehouse_url, tmp_path_factory):
    h.reset_warehouse(warehouse_url)
    with psycopg.connect(warehouse_url) as conn:
        _load(conn)
    with h.module_data_dir(tmp_path_factory):
        h.dbt_ok(["build"], warehouse_url, vars_={"as_of_at": AS_OF})
    return warehouse_url


def test_crm_events_and_meetings_are_activities_of_their_leads(built):
    rows = h.fetch_rows(
        built,
        "select lead_key, source_system, activity, occurred_at, consultant, outcome"
        " from intermediate.int_activities_matched_to_leads order by occurred_at",
    )
    assert [tuple(r.values()) for r in rows] == [
        (S1, "salesforce", "test_drive", sh("2026-10-14 15:00"), "Chen Jing", None),
        (D1, "dealer_export", "delivered", sh("2026-10-15 09:00"), None, None),
        (H1, "hubspot", "appointment", sh("2026-10-17 10:00"), "Jing Chen", "no_show"),
        (H1, "hubspot", "appointment", sh("2026-10-18 10:00"), "Jing Chen", "show"),
        (H1, "hubspot", "delivered", sh("2026-10-22 15:00"), "Jing Chen", "show"),
        # the Delivery event on the opportunity is the lead's that converted into it
        (S1, "salesforce", "delivered", sh("2026-10-24 10:00"), "Chen Jing", None),
    ]


def test_delivered_at_comes_from_crm_deliveries_and_satisfaction_from_surveys(built):
    rows = h.fetch_rows(
        built,
        "select lead_key, won_at, delivered_at, satisfaction_score from marts.fct_leads",
    )
    assert {r["lead_key"]: tuple(r.values())[1:] for r in rows} == {
        S1: (sh("2026-10-20 10:00"), sh("2026-10-24 10:00"), None),
        H1: (sh("2026-10-19 10:00"), sh("2026-10-22 15:00"), Decimal("8.5000")),
        D1: (sh("2026-10-12 10:00"), sh("2026-10-15 09:00"), Decimal("8.0000")),
    }
    clocks = h.fetch_rows(
        built,
        "select distinct lead_key, clock_started_at, has_delivery_date"
        " from marts.mart_post_sale_followups order by lead_key",
    )
    assert {r["lead_key"]: (r["clock_started_at"], r["has_delivery_date"]) for r in clocks} == {
        S1: (sh("2026-10-24 10:00"), True),
        H1: (sh("2026-10-22 15:00"), True),
        D1: (sh("2026-10-15 09:00"), True),
    }


def test_survey_responses_on_one_scale(built):
    rows = h.fetch_rows(
        built,
        "select survey_type, score, scale_max, satisfaction_score, survey_kind"
        " from staging.stg_hubspot__feedback_submissions order by survey_type",
    )
    assert [tuple(r.values()) for r in rows] == [
        ("CSAT", Decimal("4"), Decimal("5"), Decimal("8.0000"), "purchase"),
        ("NPS", Decimal("9"), Decimal("10"), Decimal("9.0000"), "purchase"),
    ]  # CES measures effort: no satisfaction answer


def test_showroom_activity_counts_crm_appointments_and_test_drives(built):
    rows = h.fetch_rows(
        built,
        "select consultant, week_start, appointments, appointments_shown, appointments_no_show,"
        " show_up_rate, test_drives, test_drive_leads_won from marts.mart_showroom_activity"
        " order by consultant",
    )
    assert [tuple(r.values()) for r in rows] == [
        ("Chen Jing", date(2026, 10, 12), 0, 0, 0, None, 1, 1),
        ("Jing Chen", date(2026, 10, 12), 2, 1, 1, Decimal("0.5000"), 0, 0),
    ]


def test_unmapped_event_type_is_reported_not_an_activity(built):
    rows = h.fetch_rows(
        built,
        "select dealer_code, value_kind, source_system, source_value_key, source_value,"
        " record_count, report_line from marts.mart_unmapped_source_values",
    )
    assert rows == [
        {
            "dealer_code": "SH001", "value_kind": "activity", "source_system": "salesforce",
            "source_value_key": "trade in appraisal", "source_value": "Trade-in Appraisal",
            "record_count": 1,
            "report_line": "activity 'Trade-in Appraisal' (salesforce, SH001): 1 record(s) as"
            " no activity",
        }
    ]  # fmt: skip
    mapped = h.fetch_rows(
        built,
        "select source_system, source_value, canonical_value, is_unmapped"
        " from intermediate.int_source_values_mapped where value_kind = 'activity'"
        " order by source_system, source_value",
    )
    assert [tuple(r.values()) for r in mapped] == [
        ("hubspot", "Appointment", "appointment", False),
        ("hubspot", "Delivery", "delivered", False),
        ("salesforce", "Delivery", "delivered", False),
        ("salesforce", "Meeting", None, False),  # known: no activity
        ("salesforce", "Test Drive", "test_drive", False),
        ("salesforce", "Trade-in Appraisal", "other", True),
    ]  # the CANCELED test drive meeting was left out in staging


def test_a_meeting_the_customer_missed_is_an_attempt_not_the_first_contact(built):
    rows = h.fetch_rows(
        built,
        "select occurred_at, outcome, is_contact from intermediate.int_followups_matched_to_leads"
        " where lead_key = %(lead)s and contact_method = 'meeting' order by occurred_at",
        {"lead": H1},
    )
    assert [tuple(r.values()) for r in rows] == [
        (sh("2026-10-17 10:00"), "no_show", False),
        (sh("2026-10-18 10:00"), "reached", True),
        (sh("2026-10-18 11:00"), "canceled", False),
        (sh("2026-10-22 15:00"), "reached", True),
        (sh("2026-11-05 15:00"), "scheduled", False),
    ]
    lead = h.fetch_rows(
        built,
        "select first_contact_at from marts.fct_leads where lead_key = %(lead)s",
        {"lead": H1},
    )
    assert lead == [{"first_contact_at": sh("2026-10-18 10:00")}]

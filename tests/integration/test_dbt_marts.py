"""dbt builds the marts from raw rows, and the mart rows match figures worked out by hand.

One module-scoped fixture loads a small hand-made fixture into ``raw`` and ``ops.dealers`` of a
fresh database, runs ``dbt build`` once (seeds, models, data tests and unit tests) and every test
below reads the result. The build pins the as-of time (dbt var ``as_of_at``) to Sunday
2026-10-11 12:00 Shanghai (10:00 Urumqi), so cohort ages and maturity are deterministic.

The fixture, in dealer local time (SH001 = Asia/Shanghai, UTC+8; UR001 = Asia/Urumqi, UTC+6).
Business-day numbers on the China 2026 calendar (see int_calendar_days_numbered), counted here
from Thu 09-24 = 1: Mid-Autumn 09-25..09-27 off, Mon 09-28 = 2, Tue 09-29 = 3, Wed 09-30 = 4,
National Day 10-01..10-07 off (still 4), Thu 10-08 = 5, Fri 10-09 = 6, make-up Sat 10-10 = 7.

SH001
  L1  wechat  created Mon 09-28 10:00, assigned 09-28 14:00, first contact 09-29 09:00;
              potential, interested (exported twice, and twice in one file), needs_defined,
              decision 10-08 10:00, won Sat 10-10 22:00.
  L2  "WeChat " created Wed 09-30 10:00, assigned Thu 10-08 09:00, first contact Sat 10-10 10:00;
              potential, then decision Fri 10-09 10:00 (interested and needs_defined skipped).
  L3  wechat  created Fri 10-02 20:00 (first file said douyin / grade b; a later file updates it);
              interested 10-03, lost 10-05.
  L4  wechat  created 10-04T16:30Z = Mon 10-05 00:30 local (UTC week would be 09-28); no events.
  L5  "   "   created Tue 09-29 09:00 (missing channel -> unknown); interested 09-29 12:00.
  X9  no lead row: events potential Tue 09-22 09:00, interested 09-22 15:00 (consultant Zhao Min).
UR001
  U1  web     created Wed 09-30 23:30 (= 10-01 01:30 in Shanghai); interested 10-01 10:00,
              won Sun 10-04 11:30 (needs_defined and decision skipped).
  U2  web     created Thu 10-01 00:30 (= 09-30 18:30 UTC); assigned Fri 10-09 10:00; potential.
  U4  web     created Tue 10-06 10:00, won 10-05 10:00: won before created (anomaly).
Surveys (SH001): L1 9 of 10 on Sun 10-11 09:00, L2 4 of 5 (= 8 of 10) on Sat 10-10; one answer
about an unknown lead id (left out). Targets (SH001): leads 4 in September and 3 in October,
Li Na won 2 in October. Lost reason: L3's loss says "Price too high" (-> price). Activities
(SH001): L1 (Li Na) appointment "Show", showroom visit and test drive Mon 10-05; L2 (Li Na)
appointments "No show" Thu 10-08 and "show" Fri 10-09, test drive 10-09; L3 appointment by
" Wang Li " Sun 10-04 20:00 (no outcome) and a test drive without consultant at Mon 10-05 00:30.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import mart_fixtures as h
import psycopg
import pytest

pytestmark = pytest.mark.timeout(300)

AS_OF_AT = "2026-10-11T12:00:00+08:00"  # Sunday; 10:00 in Urumqi, the same local date
SH = timezone(timedelta(hours=8))  # Asia/Shanghai
UR = timezone(timedelta(hours=6))  # Asia/Urumqi


def sh(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def ur(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UR)


# --- the raw fixture ------------------------------------------------------------------------
# Each file: (dealer, object, file name, extracted_at, rows). A row is the CSV row as text.

# fmt: off
FILES = [
    ("SH001", "leads", "leads_2026-10-03.csv", "2026-10-03T00:00:00Z", [
        {"lead_id": "SH-L1", "created_at": "2026-09-28T10:00:00+08:00",
         "assigned_at": "2026-09-28T14:00:00+08:00", "channel": "wechat", "campaign": "autumn",
         "consultant": "Li Na", "grade": "a", "phone": "13800000001"},
        {"lead_id": "SH-L2", "created_at": "2026-09-30T10:00:00+08:00",
         "assigned_at": "2026-10-08T09:00:00+08:00", "channel": "WeChat ", "campaign": "autumn",
         "consultant": " Li Na ", "grade": "b"},
        {"lead_id": "SH-L3", "created_at": "2026-10-02T20:00:00+08:00", "assigned_at": None,
         "channel": "douyin", "campaign": None, "consultant": None, "grade": "b"},
        {"lead_id": "SH-L5", "created_at": "2026-09-29T09:00:00+08:00", "assigned_at": None,
         "channel": "   ", "grade": "c", "extra_column": "kept in payload"},
    ]),
    ("SH001", "leads", "leads_2026-10-06.csv", "2026-10-06T00:00:00Z", [
        # a later export updates SH-L3: the latest file wins
        {"lead_id": "SH-L3", "created_at": "2026-10-02T20:00:00+08:00", "assigned_at": None,
         "channel": "wechat", "campaign": "golden week", "consultant": " Wang Li ", "grade": "a "},
        {"lead_id": "SH-L4", "created_at": "2026-10-04T16:30:00Z", "assigned_at": None,
         "channel": "wechat"},
    ]),
    ("SH001", "stage_events", "stage_events_2026-10-03.csv", "2026-10-03T00:00:00Z", [
        {"lead_id": "SH-L1", "stage": "potential", "occurred_at": "2026-09-28T10:00:00+08:00"},
        {"lead_id": "SH-L1", "stage": "interested", "occurred_at": "2026-09-29T11:00:00+08:00"},
        {"lead_id": "SH-L1", "stage": "interested", "occurred_at": "2026-09-29T11:00:00+08:00"},
        {"lead_id": "SH-L1", "stage": "needs_defined", "occurred_at": "2026-09-30T15:00:00+08:00"},
        {"lead_id": "SH-L2", "stage": "potential", "occurred_at": "2026-09-30T10:00:00+08:00"},
        {"lead_id": "SH-L5", "stage": "interested", "occurred_at": "2026-09-29T12:00:00+08:00"},
        {"lead_id": "SH-X9", "stage": "interested", "occurred_at": "2026-09-22T15:00:00+08:00",
         "consultant": "Zhao Min"},
        {"lead_id": "SH-X9", "stage": "potential", "occurred_at": "2026-09-22T09:00:00+08:00"},
        {"lead_id": "SH-L3", "stage": "interested", "occurred_at": "2026-10-03T10:00:00+08:00"},
    ]),
    ("SH001", "stage_events", "stage_events_2026-10-11.csv", "2026-10-11T00:00:00Z", [
        # the same interested event exported again
        {"lead_id": "SH-L1", "stage": "interested", "occurred_at": "2026-09-29T11:00:00+08:00"},
        {"lead_id": "SH-L1", "stage": "won", "occurred_at": "2026-10-10T22:00:00+08:00"},
        {"lead_id": "SH-L1", "stage": "decision", "occurred_at": "2026-10-08T10:00:00+08:00"},
        {"lead_id": "SH-L2", "stage": "decision", "occurred_at": "2026-10-09T10:00:00+08:00"},
        {"lead_id": "SH-L3", "stage": "lost", "occurred_at": "2026-10-05T10:00:00+08:00",
         "lost_reason": "Price too high"},
    ]),
    ("SH001", "followups", "followups_2026-10-11.csv", "2026-10-11T00:00:00Z", [
        {"lead_id": "SH-L1", "occurred_at": "2026-09-29T09:00:00+08:00", "method": "Call",
         "consultant": "Li Na", "note": "first call"},
        {"lead_id": "SH-L1", "occurred_at": "2026-10-02T09:00:00+08:00", "method": "wechat",
         "consultant": "Li Na", "note": None},
        {"lead_id": "SH-L2", "occurred_at": "2026-10-10T10:00:00+08:00", "method": "call",
         "consultant": "Li Na", "note": None},
    ]),
    ("UR001", "leads", "leads_2026-10-07.csv", "2026-10-07T00:00:00Z", [
        {"lead_id": "U1", "created_at": "2026-09-30T23:30:00+06:00", "assigned_at": None,
         "channel": "web"},
        {"lead_id": "U2", "created_at": "2026-10-01T00:30:00+06:00",
         "assigned_at": "2026-10-09T10:00:00+06:00", "channel": "web", "consultant": "Ayxan"},
        {"lead_id": "U4", "created_at": "2026-10-06T10:00:00+06:00", "assigned_at": None,
         "channel": "web"},
    ]),
    ("UR001", "stage_events", "stage_events_2026-10-07.csv", "2026-10-07T00:00:00Z", [
        {"lead_id": "U1", "stage": "potential", "occurred_at": "2026-09-30T23:30:00+06:00"},
        {"lead_id": "U1", "stage": "interested", "occurred_at": "2026-10-01T10:00:00+06:00"},
        {"lead_id": "U1", "stage": "won", "occurred_at": "2026-10-04T11:30:00+06:00"},
        {"lead_id": "U2", "stage": "potential", "occurred_at": "2026-10-01T00:30:00+06:00"},
        {"lead_id": "U4", "stage": "won", "occurred_at": "2026-10-05T10:00:00+06:00"},
    ]),
]

FILES += [
    ("SH001", "surveys", "surveys_2026-10.csv", "2026-10-11T00:00:00Z", [
        {"lead_id": "SH-L1", "occurred_at": "2026-10-11T09:00:00+08:00", "score": "9",
         "scale_max": "10", "kind": "purchase", "comment": "好"},
        {"lead_id": "SH-L2", "occurred_at": "2026-10-10T12:00:00+08:00", "score": "4",
         "scale_max": "5", "kind": None},
        {"lead_id": "SH-NOBODY", "occurred_at": "2026-10-10T12:00:00+08:00", "score": "1",
         "scale_max": "10", "kind": "purchase"},
    ]),
    ("SH001", "targets", "targets_2026.csv", "2026-10-11T00:00:00Z", [
        {"month": "2026-09-01", "metric": "leads", "target": "4", "consultant": None},
        {"month": "2026-10-01", "metric": "leads", "target": "3", "consultant": None},
        {"month": "2026-10-01", "metric": "won", "target": "2", "consultant": "Li Na"},
    ]),
]

FILES += [
    ("SH001", "activities", "activities_2026-10.csv", "2026-10-11T00:00:00Z", [
        {"lead_id": "SH-L1", "activity": "appointment", "occurred_at": "2026-10-05T10:00:00+08:00",
         "consultant": "Li Na", "outcome": "Show"},
        {"lead_id": "SH-L1", "activity": "showroom_visit",
         "occurred_at": "2026-10-05T10:30:00+08:00", "consultant": "Li Na"},
        {"lead_id": "SH-L1", "activity": "test_drive", "occurred_at": "2026-10-05T11:00:00+08:00",
         "consultant": "Li Na"},
        {"lead_id": "SH-L2", "activity": "appointment", "occurred_at": "2026-10-08T10:00:00+08:00",
         "consultant": "Li Na", "outcome": "No show"},
        {"lead_id": "SH-L2", "activity": "appointment", "occurred_at": "2026-10-09T10:00:00+08:00",
         "consultant": "Li Na", "outcome": "show"},
        {"lead_id": "SH-L2", "activity": "test_drive", "occurred_at": "2026-10-09T11:00:00+08:00",
         "consultant": "Li Na"},
        {"lead_id": "SH-L3", "activity": "appointment", "occurred_at": "2026-10-04T20:00:00+08:00",
         "consultant": " Wang Li "},
        # no consultant on the row: the lead's (Wang Li); 16:30 UTC = Mon 10-05 00:30 local
        {"lead_id": "SH-L3", "activity": "test_drive", "occurred_at": "2026-10-04T16:30:00Z"},
    ]),
]

DEALERS = [
    ("SH001", "Shanghai Pudong Motors", "East", "Aurora", "Asia/Shanghai", True),
    ("UR001", "Urumqi Xinshi Auto", "West", "Borealis", "Asia/Urumqi", False),
]
# fmt: on


def _load_fixture(url: str) -> None:
    with psycopg.connect(url) as conn:
        h.insert_dealers(conn, DEALERS)
        h.insert_export_files(conn, FILES)


@pytest.fixture(scope="module")
def built(warehouse_url, tmp_path_factory):
    """A clean warehouse, the fixture loaded, ``dbt build`` run once; yields (url, seconds)."""
    h.reset_warehouse(warehouse_url)
    _load_fixture(warehouse_url)
    with h.module_data_dir(tmp_path_factory) as var_dir:
        started = time.monotonic()
        h.dbt_ok(["build"], warehouse_url, vars_={"as_of_at": AS_OF_AT})
        seconds = time.monotonic() - started
    assert (var_dir / "dbt" / "target" / "manifest.json").exists()
    yield warehouse_url, seconds


def _lead_key(dealer: str, lead_id: str) -> str:
    return hashlib.md5(f"{dealer}|dealer_export|{lead_id}".encode()).hexdigest()


# --- dim_dealerships --------------------------------------------------------------------------


def test_dim_dealerships(built):
    url, _ = built
    rows = h.fetch_rows(url, "select * from marts.dim_dealerships order by dealer_code")
    assert [tuple(r.values()) for r in rows] == DEALERS


# --- fct_leads -------------------------------------------------------------------------------

# fmt: off
FCT_COLUMNS = [
    "lead_key", "dealer_code", "source_system", "source_lead_id", "channel", "campaign",
    "consultant", "grade", "created_at", "assigned_at", "first_contact_at", "interested_at",
    "needs_defined_at", "decision_at", "won_at", "lost_at", "current_stage", "is_won", "is_lost",
    "cycle_days", "business_days_to_assign", "business_days_to_first_contact",
    "is_assignment_sla_met", "is_first_contact_sla_met", "has_cycle_anomaly",
    "is_inferred_from_events",
    # added after the contract columns (DESIGN.md §5: columns may be added)
    "lead_record_count", "model_of_interest", "lost_reason", "lost_reason_text", "amount",
    "currency",
    "anomaly_reason", "days_in_potential", "days_in_interested", "days_in_needs_defined",
    "days_in_decision",
    "phone_key",
    "email_key",
    "phone_masked",
    "email_masked",
    "customer_name_masked",
    "last_contact_at",
    "followup_count",
    "first_attempt_at",
    "delivered_at",
    "satisfaction_score",
    "refreshed_at",
]

EXPECTED_LEADS = {
    ("SH001", "SH-L1"): {
        "channel": "wechat", "campaign": "autumn", "consultant": "Li Na", "grade": "A",
        "created_at": sh("2026-09-28 10:00"), "assigned_at": sh("2026-09-28 14:00"),
        "first_contact_at": sh("2026-09-29 09:00"),
        "interested_at": sh("2026-09-29 11:00"), "needs_defined_at": sh("2026-09-30 15:00"),
        "decision_at": sh("2026-10-08 10:00"), "won_at": sh("2026-10-10 22:00"), "lost_at": None,
        "current_stage": "won", "is_won": True, "is_lost": False,
        # 09-28 10:00 -> 10-10 22:00 = 12 days 12 hours
        "cycle_days": Decimal("12.500000"),
        # assigned the same local day: 2 - 2 = 0; contacted Tue 09-29: 3 - 2 = 1 (<= 1: met)
        "business_days_to_assign": 0, "business_days_to_first_contact": 1,
        "is_assignment_sla_met": True, "is_first_contact_sla_met": True,
        "has_cycle_anomaly": False, "is_inferred_from_events": False, "lead_record_count": 1,
        # in stage: 09-28 10:00 -> 09-29 11:00 = 25 h; -> 09-30 15:00 = 28 h; -> 10-08 10:00 =
        # 7 d 19 h; -> 10-10 22:00 = 2 d 12 h
        "anomaly_reason": None, "days_in_potential": Decimal("1.041667"),
        "days_in_interested": Decimal("1.166667"), "days_in_needs_defined": Decimal("7.791667"),
        "days_in_decision": Decimal("2.500000"),
    },
    ("SH001", "SH-L2"): {
        "channel": "wechat", "campaign": "autumn", "consultant": "Li Na", "grade": "B",
        "created_at": sh("2026-09-30 10:00"), "assigned_at": sh("2026-10-08 09:00"),
        "first_contact_at": sh("2026-10-10 10:00"),
        # potential -> decision: the skipped stages take the decision time
        "interested_at": sh("2026-10-09 10:00"), "needs_defined_at": sh("2026-10-09 10:00"),
        "decision_at": sh("2026-10-09 10:00"), "won_at": None, "lost_at": None,
        "current_stage": "decision", "is_won": False, "is_lost": False, "cycle_days": None,
        # Wed 09-30 (4) -> Thu 10-08 (5) across National Day = 1: met;
        # Thu 10-08 (5) -> make-up Sat 10-10 (7) = 2: not met
        "business_days_to_assign": 1, "business_days_to_first_contact": 2,
        "is_assignment_sla_met": True, "is_first_contact_sla_met": False,
        "has_cycle_anomaly": False, "is_inferred_from_events": False,
        # 9 days in potential; interested and needs_defined skipped (NULL, not 0); still in decision
        "days_in_potential": Decimal("9.000000"), "days_in_interested": None,
        "days_in_needs_defined": None, "days_in_decision": None,
    },
    ("SH001", "SH-L3"): {
        # the later file's version: wechat, grade "a " -> A, consultant trimmed
        "channel": "wechat", "campaign": "golden week", "consultant": "Wang Li", "grade": "A",
        "created_at": sh("2026-10-02 20:00"), "assigned_at": None, "first_contact_at": None,
        "interested_at": sh("2026-10-03 10:00"), "needs_defined_at": None, "decision_at": None,
        "won_at": None, "lost_at": sh("2026-10-05 10:00"),
        "current_stage": "lost", "is_won": False, "is_lost": True, "cycle_days": None,
        "business_days_to_assign": None, "business_days_to_first_contact": None,
        "is_assignment_sla_met": None, "is_first_contact_sla_met": None,
        "has_cycle_anomaly": False, "is_inferred_from_events": False,
    },
    ("SH001", "SH-L4"): {
        "channel": "wechat", "campaign": None, "consultant": None, "grade": None,
        "created_at": sh("2026-10-05 00:30"), "assigned_at": None, "first_contact_at": None,
        "interested_at": None, "needs_defined_at": None, "decision_at": None, "won_at": None,
        "lost_at": None, "current_stage": "potential", "is_won": False, "is_lost": False,
        "cycle_days": None, "business_days_to_assign": None,
        "business_days_to_first_contact": None, "is_assignment_sla_met": None,
        "is_first_contact_sla_met": None, "has_cycle_anomaly": False,
        "is_inferred_from_events": False,
    },
    ("SH001", "SH-L5"): {
        "channel": "unknown", "campaign": None, "consultant": None, "grade": "C",
        "created_at": sh("2026-09-29 09:00"), "assigned_at": None, "first_contact_at": None,
        "interested_at": sh("2026-09-29 12:00"), "needs_defined_at": None, "decision_at": None,
        "won_at": None, "lost_at": None, "current_stage": "interested", "is_won": False,
        "is_lost": False, "cycle_days": None, "business_days_to_assign": None,
        "business_days_to_first_contact": None, "is_assignment_sla_met": None,
        "is_first_contact_sla_met": None, "has_cycle_anomaly": False,
        "is_inferred_from_events": False,
    },
    ("SH001", "SH-X9"): {
        # no lead row: created at its first event, channel unknown, consultant from its events
        "channel": "unknown", "campaign": None, "consultant": "Zhao Min", "grade": None,
        "created_at": sh("2026-09-22 09:00"), "assigned_at": None, "first_contact_at": None,
        "interested_at": sh("2026-09-22 15:00"), "needs_defined_at": None, "decision_at": None,
        "won_at": None, "lost_at": None, "current_stage": "interested", "is_won": False,
        "is_lost": False, "cycle_days": None, "business_days_to_assign": None,
        "business_days_to_first_contact": None, "is_assignment_sla_met": None,
        "is_first_contact_sla_met": None, "has_cycle_anomaly": False,
        "is_inferred_from_events": True,
    },
    ("UR001", "U1"): {
        "channel": "web", "campaign": None, "consultant": None, "grade": None,
        "created_at": ur("2026-09-30 23:30"), "assigned_at": None, "first_contact_at": None,
        "interested_at": ur("2026-10-01 10:00"), "needs_defined_at": ur("2026-10-04 11:30"),
        "decision_at": ur("2026-10-04 11:30"), "won_at": ur("2026-10-04 11:30"), "lost_at": None,
        "current_stage": "won", "is_won": True, "is_lost": False,
        # 09-30 23:30 -> 10-04 11:30 = 3 days 12 hours
        "cycle_days": Decimal("3.500000"),
        "business_days_to_assign": None, "business_days_to_first_contact": None,
        "is_assignment_sla_met": None, "is_first_contact_sla_met": None,
        "has_cycle_anomaly": False, "is_inferred_from_events": False,
        # potential 10.5 h; interested 10-01 10:00 -> (won) 10-04 11:30; the rest skipped
        "days_in_potential": Decimal("0.437500"), "days_in_interested": Decimal("3.062500"),
        "days_in_needs_defined": None, "days_in_decision": None,
    },
    ("UR001", "U2"): {
        "channel": "web", "campaign": None, "consultant": "Ayxan", "grade": None,
        "created_at": ur("2026-10-01 00:30"), "assigned_at": ur("2026-10-09 10:00"),
        "first_contact_at": None, "interested_at": None, "needs_defined_at": None,
        "decision_at": None, "won_at": None, "lost_at": None, "current_stage": "potential",
        "is_won": False, "is_lost": False, "cycle_days": None,
        # local Thu 10-01 (holiday, number 4) -> Fri 10-09 (6) = 2 > 1: not met
        "business_days_to_assign": 2, "business_days_to_first_contact": None,
        "is_assignment_sla_met": False, "is_first_contact_sla_met": None,
        "has_cycle_anomaly": False, "is_inferred_from_events": False,
    },
    ("UR001", "U4"): {
        "channel": "web", "campaign": None, "consultant": None, "grade": None,
        "created_at": ur("2026-10-06 10:00"), "assigned_at": None, "first_contact_at": None,
        "interested_at": ur("2026-10-05 10:00"), "needs_defined_at": ur("2026-10-05 10:00"),
        "decision_at": ur("2026-10-05 10:00"), "won_at": ur("2026-10-05 10:00"), "lost_at": None,
        "current_stage": "won", "is_won": True, "is_lost": False,
        # won one day before created: kept, flagged, every duration NULL (never negative)
        "cycle_days": None, "anomaly_reason": "won_before_created",
        "business_days_to_assign": None, "business_days_to_first_contact": None,
        "is_assignment_sla_met": None, "is_first_contact_sla_met": None,
        "has_cycle_anomaly": True, "is_inferred_from_events": False,
        "days_in_potential": None, "days_in_interested": None,
        "days_in_needs_defined": None, "days_in_decision": None,
    },
}
# fmt: on


def test_fct_leads_columns_are_the_contract(built):
    url, _ = built
    cols = h.fetch_rows(
        url,
        "select column_name from information_schema.columns"
        " where table_schema = 'marts' and table_name = 'fct_leads' order by ordinal_position",
    )
    assert [c["column_name"] for c in cols] == FCT_COLUMNS


def test_fct_leads_rows(built):
    url, _ = built
    rows = h.fetch_rows(url, "select * from marts.fct_leads")
    by_lead = {(r["dealer_code"], r["source_lead_id"]): r for r in rows}
    assert sorted(by_lead) == sorted(EXPECTED_LEADS)
    assert len(rows) == len(EXPECTED_LEADS)
    for (dealer, lead_id), expected in EXPECTED_LEADS.items():
        actual = by_lead[(dealer, lead_id)]
        assert actual["lead_key"] == _lead_key(dealer, lead_id)
        assert actual["source_system"] == "dealer_export"
        mismatched = {k: (actual[k], v) for k, v in expected.items() if actual[k] != v}
        assert not mismatched, f"{dealer}/{lead_id}: (actual, expected) {mismatched}"


def test_duplicate_events_and_lead_versions_collapse(built):
    url, _ = built
    events = h.fetch_rows(
        url,
        "select stage, count(*) as n from staging.stg_dealer_export__stage_events"
        " where dealer_code = 'SH001' and source_lead_id = 'SH-L1' group by stage",
    )
    # interested was exported 3 times (twice in file 1, once in file 2): kept once
    assert {e["stage"]: e["n"] for e in events} == {
        "potential": 1,
        "interested": 1,
        "needs_defined": 1,
        "decision": 1,
        "won": 1,
    }
    lead = h.fetch_rows(
        url,
        "select channel, file_name, source_payload ->> 'extra_column' as extra"
        " from staging.stg_dealer_export__leads where source_lead_id in ('SH-L3', 'SH-L5')"
        " order by source_lead_id",
    )
    assert lead == [
        {"channel": "wechat", "file_name": "leads_2026-10-06.csv", "extra": None},
        {"channel": "unknown", "file_name": "leads_2026-10-03.csv", "extra": "kept in payload"},
    ]


# --- mart_funnel_conversion -----------------------------------------------------------------

R = Decimal
# fmt: off
# (dealer, channel, grain, period_start):
#   (potential, interested, needs_defined, decision, won, lost,
#    p->i, i->nd, nd->d, d->won, lead->won)   rates rounded to 4 decimals, None = 0 denominator
EXPECTED_FUNNEL = {
    # SH001 wechat, local week of Mon 09-28 (09-28..10-04): L1, L2, L3 (L4 is 10-05 00:30 local).
    # interested L1 L2 L3 = 3; needs_defined L1 L2 = 2; decision L1 L2 = 2; won L1; lost L3.
    # 3/3 = 1, 2/3 = 0.6667, 2/2 = 1, 1/2 = 0.5, 1/3 = 0.3333
    ("SH001", "wechat", "week", date(2026, 9, 28)):
        (3, 3, 2, 2, 1, 1, R("1.0000"), R("0.6667"), R("1.0000"), R("0.5000"), R("0.3333")),
    # week of 10-05: L4 only, never past potential: 0/1 = 0, the rest 0/0 = NULL, 0/1 = 0
    ("SH001", "wechat", "week", date(2026, 10, 5)):
        (1, 0, 0, 0, 0, 0, R("0.0000"), None, None, None, R("0.0000")),
    # September: L1, L2: 2/2, 2/2, 2/2, 1/2, 1/2
    ("SH001", "wechat", "month", date(2026, 9, 1)):
        (2, 2, 2, 2, 1, 0, R("1.0000"), R("1.0000"), R("1.0000"), R("0.5000"), R("0.5000")),
    # October: L3 (interested, lost), L4: 1/2, 0/1, 0/0, 0/0, 0/2
    ("SH001", "wechat", "month", date(2026, 10, 1)):
        (2, 1, 0, 0, 0, 1, R("0.5000"), R("0.0000"), None, None, R("0.0000")),
    ("SH001", "wechat", "quarter", date(2026, 7, 1)):
        (2, 2, 2, 2, 1, 0, R("1.0000"), R("1.0000"), R("1.0000"), R("0.5000"), R("0.5000")),
    ("SH001", "wechat", "quarter", date(2026, 10, 1)):
        (2, 1, 0, 0, 0, 1, R("0.5000"), R("0.0000"), None, None, R("0.0000")),
    # SH001 unknown: X9 (week of 09-21, inferred from events) and L5 (week of 09-28)
    ("SH001", "unknown", "week", date(2026, 9, 21)):
        (1, 1, 0, 0, 0, 0, R("1.0000"), R("0.0000"), None, None, R("0.0000")),
    ("SH001", "unknown", "week", date(2026, 9, 28)):
        (1, 1, 0, 0, 0, 0, R("1.0000"), R("0.0000"), None, None, R("0.0000")),
    ("SH001", "unknown", "month", date(2026, 9, 1)):
        (2, 2, 0, 0, 0, 0, R("1.0000"), R("0.0000"), None, None, R("0.0000")),
    ("SH001", "unknown", "quarter", date(2026, 7, 1)):
        (2, 2, 0, 0, 0, 0, R("1.0000"), R("0.0000"), None, None, R("0.0000")),
    # UR001 web, Urumqi time: U1 09-30 23:30 (September), U2 10-01 00:30 (October; September in
    # UTC), U4 10-06. Week of 09-28: U1 (won, stages skipped) + U2: 1/2, 1/1, 1/1, 1/1, 1/2
    ("UR001", "web", "week", date(2026, 9, 28)):
        (2, 1, 1, 1, 1, 0, R("0.5000"), R("1.0000"), R("1.0000"), R("1.0000"), R("0.5000")),
    ("UR001", "web", "week", date(2026, 10, 5)):
        (1, 1, 1, 1, 1, 0, R("1.0000"), R("1.0000"), R("1.0000"), R("1.0000"), R("1.0000")),
    ("UR001", "web", "month", date(2026, 9, 1)):
        (1, 1, 1, 1, 1, 0, R("1.0000"), R("1.0000"), R("1.0000"), R("1.0000"), R("1.0000")),
    # October: U2 (potential) + U4 (won): 1/2, 1/1, 1/1, 1/1, 1/2
    ("UR001", "web", "month", date(2026, 10, 1)):
        (2, 1, 1, 1, 1, 0, R("0.5000"), R("1.0000"), R("1.0000"), R("1.0000"), R("0.5000")),
    ("UR001", "web", "quarter", date(2026, 7, 1)):
        (1, 1, 1, 1, 1, 0, R("1.0000"), R("1.0000"), R("1.0000"), R("1.0000"), R("1.0000")),
    ("UR001", "web", "quarter", date(2026, 10, 1)):
        (2, 1, 1, 1, 1, 0, R("0.5000"), R("1.0000"), R("1.0000"), R("1.0000"), R("0.5000")),
    # the year 2026 holds every cohort of a dealer x channel: the sum of its quarters.
    # SH001 wechat L1-L4: 4 potential, 3 interested, 2, 2, 1 won, 1 lost: 3/4, 2/3, 2/2, 1/2, 1/4
    ("SH001", "wechat", "year", date(2026, 1, 1)):
        (4, 3, 2, 2, 1, 1, R("0.7500"), R("0.6667"), R("1.0000"), R("0.5000"), R("0.2500")),
    ("SH001", "unknown", "year", date(2026, 1, 1)):
        (2, 2, 0, 0, 0, 0, R("1.0000"), R("0.0000"), None, None, R("0.0000")),
    # UR001 web U1, U2, U4: 3 potential, 2 reached every later stage (U1, U4 won): 2/3, 1, 1, 1, 2/3
    ("UR001", "web", "year", date(2026, 1, 1)):
        (3, 2, 2, 2, 2, 0, R("0.6667"), R("1.0000"), R("1.0000"), R("1.0000"), R("0.6667")),
}

FUNNEL_KEY = ["dealer_code", "channel", "period_grain", "period_start"]
FUNNEL_VALUES = [
    "leads_potential", "leads_interested", "leads_needs_defined", "leads_decision", "leads_won",
    "leads_lost", "rate_potential_to_interested", "rate_interested_to_needs_defined",
    "rate_needs_defined_to_decision", "rate_decision_to_won", "rate_lead_to_won",
]
RATE_NAMES = [
    "potential_to_interested", "interested_to_needs_defined", "needs_defined_to_decision",
    "decision_to_won", "lead_to_won",
]
MATURITY_COLUMNS = [
    "cohort_age_days", "is_period_complete", *[f"is_{r}_mature" for r in RATE_NAMES], "is_mature",
]
# fmt: on


def test_funnel_columns_are_the_contract(built):
    url, _ = built
    cols = h.fetch_rows(
        url,
        "select column_name, data_type from information_schema.columns where table_schema ="
        " 'marts' and table_name = 'mart_funnel_conversion' order by ordinal_position",
    )
    assert [c["column_name"] for c in cols] == FUNNEL_KEY + FUNNEL_VALUES + MATURITY_COLUMNS
    types = {c["column_name"]: c["data_type"] for c in cols}
    assert types["period_start"] == "date"
    assert {types[c] for c in FUNNEL_VALUES if c.startswith("rate_")} == {"numeric"}
    assert types["cohort_age_days"] == "integer"
    assert {types[c] for c in MATURITY_COLUMNS[1:]} == {"boolean"}


def test_funnel_rows_match_hand_computed(built):
    url, _ = built
    rows = h.fetch_rows(url, "select * from marts.mart_funnel_conversion")
    actual = {tuple(r[k] for k in FUNNEL_KEY): tuple(r[v] for v in FUNNEL_VALUES) for r in rows}
    assert len(rows) == len(actual)  # the grain is unique
    assert sorted(actual) == sorted(EXPECTED_FUNNEL)
    for key, expected in EXPECTED_FUNNEL.items():
        assert actual[key] == expected, key


def test_funnel_counts_never_increase_along_the_funnel(built):
    url, _ = built
    rows = h.fetch_rows(url, "select * from marts.mart_funnel_conversion")
    assert rows
    stages = FUNNEL_VALUES[:5]
    for row in rows:
        counts = [row[s] for s in stages]
        assert counts == sorted(counts, reverse=True), row
        assert row["leads_won"] + row["leads_lost"] <= row["leads_potential"], row


def test_period_starts_are_cut_in_local_time(built):
    url, _ = built
    rows = h.fetch_rows(
        url,
        "select period_grain, period_start, extract(isodow from period_start) as dow,"
        " extract(day from period_start) as dom, extract(month from period_start) as month"
        " from marts.mart_funnel_conversion",
    )
    for row in rows:
        if row["period_grain"] == "week":
            assert row["dow"] == 1, row  # a Monday
        else:
            assert row["dom"] == 1, row
        if row["period_grain"] == "quarter":
            assert row["month"] in (1, 4, 7, 10), row
    # SH-L4, created 2026-10-04T16:30Z (a Sunday in UTC), is Monday 00:30 in Shanghai: its cohort
    # is the week of 10-05 and October, never the UTC week of 09-28.
    l4 = h.fetch_rows(
        url,
        "select created_at, (created_at at time zone 'Asia/Shanghai')::date as local_date"
        " from marts.fct_leads where source_lead_id = 'SH-L4'",
    )
    assert l4 == [
        {"created_at": datetime(2026, 10, 4, 16, 30, tzinfo=UTC), "local_date": date(2026, 10, 5)}
    ]
    assert EXPECTED_FUNNEL[("SH001", "wechat", "week", date(2026, 10, 5))][0] == 1


# --- cohort maturity ----------------------------------------------------------------------------

# fmt: off
# As of Sun 10-11 (local date in both time zones), settings = group defaults (7/21/35/60/60):
# (dealer, channel, grain, period_start): (cohort_age_days, is_period_complete,
#   is_potential_to_interested_mature, is_interested_to_needs_defined_mature, is_mature)
EXPECTED_MATURITY = {
    # week 09-21..09-27: 10-11 - 09-27 = 14 days: >= 7, < 21
    ("SH001", "unknown", "week", date(2026, 9, 21)): (14, True, True, False, False),
    # week 09-28..10-04: 10-11 - 10-04 = 7 days: exactly old enough for potential -> interested
    ("SH001", "wechat", "week", date(2026, 9, 28)): (7, True, True, False, False),
    ("UR001", "web", "week", date(2026, 9, 28)): (7, True, True, False, False),
    # week 10-05..10-11: the as-of date is its last day: open, age 0
    ("SH001", "wechat", "week", date(2026, 10, 5)): (0, False, False, False, False),
    # September (last day 09-30): 11 days; October and Q4 open; Q3 (last day 09-30): 11 days
    ("SH001", "wechat", "month", date(2026, 9, 1)): (11, True, True, False, False),
    ("SH001", "wechat", "month", date(2026, 10, 1)): (0, False, False, False, False),
    ("UR001", "web", "quarter", date(2026, 7, 1)): (11, True, True, False, False),
    ("UR001", "web", "quarter", date(2026, 10, 1)): (0, False, False, False, False),
}
# fmt: on


def test_funnel_cohort_maturity(built):
    url, _ = built
    rows = h.fetch_rows(url, "select * from marts.mart_funnel_conversion")
    actual = {tuple(r[k] for k in FUNNEL_KEY): r for r in rows}
    for key, expected in EXPECTED_MATURITY.items():
        row = actual[key]
        assert (
            row["cohort_age_days"], row["is_period_complete"],
            row["is_potential_to_interested_mature"], row["is_interested_to_needs_defined_mature"],
            row["is_mature"],
        ) == expected, key  # fmt: skip
    # nothing in the fixture is 60 days old: no cohort is mature for lead -> won
    assert not any(r["is_mature"] or r["is_lead_to_won_mature"] for r in rows)
    # is_mature is exactly "every rate mature"
    for row in rows:
        assert row["is_mature"] == all(row[f"is_{r}_mature"] for r in RATE_NAMES), row


# --- activity vs cohort ---------------------------------------------------------------------------


def test_activity_counts_what_happened_in_the_period(built):
    url, _ = built
    rows = h.fetch_rows(
        url,
        "select * from marts.mart_funnel_activity where dealer_code = 'SH001'"
        " and channel = 'wechat' and period_grain = 'month'",
    )
    actual = {r["period_start"]: r for r in rows}
    cols = (
        "entered_potential", "entered_interested", "entered_needs_defined", "entered_decision",
        "entered_won", "entered_lost", "won_in_period", "is_period_complete",
    )  # fmt: skip
    # September: L1, L2 created; L1 interested 09-29 and needs_defined 09-30; nothing won
    assert tuple(actual[date(2026, 9, 1)][c] for c in cols) == (2, 1, 1, 0, 0, 0, 0, True)
    # October: L3, L4 created; L3 interested 10-03; L2 skips to decision 10-09 (interested and
    # needs_defined with it); L1 decision 10-08 and WON 10-10; L3 lost 10-05
    assert tuple(actual[date(2026, 10, 1)][c] for c in cols) == (2, 2, 1, 2, 1, 1, 1, False)
    # the same win in the cohort view: L1 counts for September, when it was created
    cohort = h.fetch_rows(
        url,
        "select period_start, leads_won from marts.mart_funnel_conversion where dealer_code ="
        " 'SH001' and channel = 'wechat' and period_grain = 'month' order by period_start",
    )
    assert [(r["period_start"], r["leads_won"]) for r in cohort] == [
        (date(2026, 9, 1), 1),
        (date(2026, 10, 1), 0),
    ]
    # over all time both views count every win once
    totals = h.fetch_rows(
        url,
        "select (select sum(won_in_period) from marts.mart_funnel_activity"
        "        where period_grain = 'quarter') as activity,"
        " (select sum(leads_won) from marts.mart_funnel_conversion"
        "        where period_grain = 'quarter') as cohort,"
        " (select count(*) from marts.fct_leads where is_won) as won",
    )[0]
    assert totals["activity"] == totals["cohort"] == totals["won"] == 3


# --- monitoring: Wilson bounds --------------------------------------------------------------------


def _wilson(successes: int, trials: int, z: float = 1.644854) -> tuple[Decimal, Decimal]:
    """One-sided 95 % Wilson bounds, by the textbook formula, rounded like the mart."""
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * (p * (1 - p) / trials + z * z / (4 * trials * trials)) ** 0.5 / (1 + z * z / trials)
    return (
        round(Decimal(str(max(0.0, centre - half))), 4),
        round(Decimal(str(min(1.0, centre + half))), 4),
    )


def test_monitoring_mart_rates_and_wilson_bounds(built):
    url, _ = built
    (row,) = h.fetch_rows(
        url,
        "select * from marts.mart_funnel_monitoring where dealer_code = 'SH001'"
        " and period_grain = 'week' and period_start = '2026-09-28'",
    )
    # all channels of SH001's week of 09-28: wechat L1 L2 L3 + unknown L5 = 4 potential;
    # interested 4 (L1 L2 L3 L5); needs_defined 2 (L1 L2); decision 2; won 1 (L1); lost 1 (L3)
    counts = tuple(row[f"leads_{s}"] for s in (
        "potential", "interested", "needs_defined", "decision", "won", "lost"))  # fmt: skip
    assert counts == (4, 4, 2, 2, 1, 1)
    worked = {
        # rate: (successes, trials, rate)
        "potential_to_interested": (4, 4, R("1.0000")),
        "interested_to_needs_defined": (2, 4, R("0.5000")),
        "needs_defined_to_decision": (2, 2, R("1.0000")),
        "decision_to_won": (1, 2, R("0.5000")),
        "lead_to_won": (1, 4, R("0.2500")),
    }
    for rate, (k, n, value) in worked.items():
        assert row[f"rate_{rate}"] == value, rate
        assert (row[f"rate_{rate}_lower"], row[f"rate_{rate}_upper"]) == _wilson(k, n), rate
    # by hand for 2 of 4 (z^2 = 2.705545): centre (0.5 + 0.338193) / 1.676386 = 0.5,
    # half = 1.644854 * sqrt(0.0625 + 0.042274) / 1.676386 = 0.317600
    # -> [0.182400, 0.817600] -> [0.1824, 0.8176]
    bounds = (
        row["rate_interested_to_needs_defined_lower"],
        row["rate_interested_to_needs_defined_upper"],
    )
    assert bounds == (R("0.1824"), R("0.8176"))
    # week of 09-28 is 7 days old: only potential -> interested is mature
    assert (row["cohort_age_days"], row["is_period_complete"]) == (7, True)
    assert row["is_potential_to_interested_mature"] and not row["is_decision_to_won_mature"]


# --- the run summary ------------------------------------------------------------------------------


def test_run_summary_shows_open_and_young_cohorts(built):
    from dealerfunnel.reporting import format_funnel, last_weeks_funnel

    url, _ = built
    rows = last_weeks_funnel(url)
    text = format_funnel(rows)
    lines = {tuple(line.split()[:2]): line for line in text.splitlines()[2:-1]}
    # SH001 week of 10-05 (L4 only) is still open: status open, age 0, its 0/1 rate provisional
    open_week = lines[("SH001", "2026-10-05")].split()
    assert open_week[2:4] == ["open", "0"]
    assert open_week[10] == "(0.0%)"  # p->i
    # SH001 week of 09-21 (X9) is 14 days old: young; p->i mature (>= 7) shown plain, the
    # others immature in brackets or "-" without a denominator
    young = lines[("SH001", "2026-09-21")].split()
    assert young[2:4] == ["young", "14"]
    assert young[10:] == ["100.0%", "(0.0%)", "-", "-", "(0.0%)"]
    # UR001's week of 09-28 is 7 days old: p->i 1/2 mature, the others provisional
    ur_week = lines[("UR001", "2026-09-28")].split()
    assert ur_week[2:4] == ["young", "7"]
    assert ur_week[10:] == ["50.0%", "(100.0%)", "(100.0%)", "(100.0%)", "(50.0%)"]
    assert "young" in text.splitlines()[-1] and "(12.0%)" in text.splitlines()[-1]


# --- what HQ reviews: satisfaction, targets, the dealer ranking ---------------------------------


def test_satisfaction_reaches_the_leads_and_the_scorecard(built):
    url, _ = built
    leads = h.fetch_rows(
        url,
        "select source_lead_id, satisfaction_score from marts.fct_leads"
        " where satisfaction_score is not null order by 1",
    )
    # L1 9 of 10; L2 4 of 5 = 8 of 10; the answer about SH-NOBODY matches no lead
    assert [(r["source_lead_id"], r["satisfaction_score"]) for r in leads] == [
        ("SH-L1", Decimal("9.0000")),
        ("SH-L2", Decimal("8.0000")),
    ]
    (li_na,) = h.fetch_rows(
        url,
        "select satisfaction_score, survey_responses, amount_won from"
        " marts.mart_consultant_scorecard where dealer_code = 'SH001' and consultant = 'Li Na'"
        " and month_start = '2026-10-01'",
    )
    # both answers were given in October about Li Na's leads: (9 + 8) / 2; no won amount exported
    assert li_na == {
        "satisfaction_score": Decimal("8.5000"),
        "survey_responses": 2,
        "amount_won": None,
    }


def test_targets_attainment(built):
    url, _ = built
    rows = h.fetch_rows(
        url,
        "select consultant, metric, period_grain, period_start, target, actual, attainment,"
        " months_with_target, is_period_complete from marts.mart_targets_attainment"
        " order by consultant, metric, period_grain, period_start",
    )
    got = [tuple(r.values()) for r in rows]
    # SH001 leads created in local September: L1 09-28, L5 09-29, L2 09-30, X9 09-22 (inferred from
    # its events) = 4 of 4; October: L3 10-02, L4 10-05 00:30 local = 2 of 3; Q3, Q4 a month each;
    # the year 6 of 7 over 2 months. Li Na won in October: L1 (10-10) = 1 of 2. As of 10-11 only
    # September and Q3 are complete.
    assert got == [
        ("(all)", "leads", "month", date(2026, 9, 1), 4, 4, Decimal("1.0000"), 1, True),
        ("(all)", "leads", "month", date(2026, 10, 1), 3, 2, Decimal("0.6667"), 1, False),
        ("(all)", "leads", "quarter", date(2026, 7, 1), 4, 4, Decimal("1.0000"), 1, True),
        ("(all)", "leads", "quarter", date(2026, 10, 1), 3, 2, Decimal("0.6667"), 1, False),
        ("(all)", "leads", "year", date(2026, 1, 1), 7, 6, Decimal("0.8571"), 2, False),
        ("Li Na", "won", "month", date(2026, 10, 1), 2, 1, Decimal("0.5000"), 1, False),
        ("Li Na", "won", "quarter", date(2026, 10, 1), 2, 1, Decimal("0.5000"), 1, False),
        ("Li Na", "won", "year", date(2026, 1, 1), 2, 1, Decimal("0.5000"), 1, False),
    ]


def test_dealer_ranking(built):
    url, _ = built
    rows = h.fetch_rows(
        url,
        "select dealer_code, metric, metric_value, dealer_rank, dealers_ranked,"
        " previous_period_value, change_vs_previous_period from marts.mart_dealer_ranking"
        " where period_grain = 'month' and period_start = '2026-10-01'"
        " and metric in ('leads', 'won_in_period', 'satisfaction_score')"
        " order by metric, dealer_code",
    )
    got = {(r["metric"], r["dealer_code"]): tuple(r.values())[2:] for r in rows}
    # leads in October: SH001 L3, L4 = 2 (September 4: -50 %); UR001 U2, U4 = 2 (September U1 = 1:
    # +100 %): a tie, both rank 1; the group 4 against 5 in September: -20 %
    assert got[("leads", "SH001")] == (2, 1, 2, 4, Decimal("-0.5000"))
    assert got[("leads", "UR001")] == (2, 1, 2, 1, Decimal("1.0000"))
    assert got[("leads", "(group)")] == (4, None, 2, 5, Decimal("-0.2000"))
    # won in October: UR001 U1 (10-04) and U4 (10-05, an anomaly, still counted) = 2, SH001 L1 = 1;
    # nothing was won in September: the change on 0 is NULL
    assert got[("won_in_period", "UR001")] == (2, 1, 2, 0, None)
    assert got[("won_in_period", "SH001")] == (1, 2, 2, 0, None)
    assert got[("won_in_period", "(group)")] == (3, None, 2, 0, None)
    # satisfaction: SH001's two October answers (9 and 8); UR001 has none (not ranked)
    assert got[("satisfaction_score", "SH001")] == (Decimal("8.5000"), 1, 1, None, None)
    assert got[("satisfaction_score", "UR001")] == (None, None, 1, None, None)
    assert got[("satisfaction_score", "(group)")] == (Decimal("8.5000"), None, 1, None, None)
    # every dealer and the group total, once per period and metric
    (count,) = h.fetch_rows(
        url,
        "select count(*) as n, count(distinct (period_grain, period_start)) as periods"
        " from marts.mart_dealer_ranking",
    )
    assert count["n"] == count["periods"] * 3 * 5


def test_lost_reasons(built):
    url, _ = built
    rows = h.fetch_rows(url, "select * from marts.mart_lost_reasons order by dealer_code")
    # The one lost lead of the fixture: SH001 L3 (wechat), lost Mon 10-05 10:00 local with
    # "Price too high" (lost_reason_mapping -> price) after reaching interested (10-03): one loss in
    # October, the whole month's losses (1 of 1); October is open on 10-11.
    assert rows == [
        {
            "dealer_code": "SH001",
            "channel": "wechat",
            "lost_reason": "price",
            "month_start": date(2026, 10, 1),
            "leads_lost": 1,
            "share_of_month_lost": Decimal("1.0000"),
            "lost_from_potential": 0,
            "lost_from_interested": 1,
            "lost_from_needs_defined": 0,
            "lost_from_decision": 0,
            "is_period_complete": False,
        }
    ]


def test_showroom_activity(built):
    url, _ = built
    rows = h.fetch_rows(
        url,
        "select consultant, week_start, appointments, appointments_shown, appointments_no_show,"
        " show_up_rate, showroom_visits, test_drives, test_drive_leads, test_drive_leads_won,"
        " rate_test_drive_to_won, cohort_age_days, is_period_complete, is_mature"
        " from marts.mart_showroom_activity where dealer_code = 'SH001'"
        " order by consultant, week_start",
    )
    got = [tuple(r.values()) for r in rows]
    # Li Na, week of Mon 10-05: appointments L1 "Show", L2 "No show", L2 "show" = 3, 2 shown of 3
    # known = 0.6667; 1 visit; test drives L1 and L2 (2 leads), L1 won = 1 of 2. The week ends Sun
    # 10-11, the as-of day: open, age 0, not mature.
    # Wang Li, week of 09-28: L3's appointment Sun 10-04 20:00, no outcome -> show-up NULL; the week
    # ended 10-04: age 10-11 - 10-04 = 7 < maturity_days_decision_to_won 60: complete, not mature.
    # Wang Li, week of 10-05: L3's test drive (the lead's consultant), L3 lost -> 0 of 1 won.
    assert got == [
        (
            "Li Na",
            date(2026, 10, 5),
            3,
            2,
            1,
            Decimal("0.6667"),
            1,
            2,
            2,
            1,
            Decimal("0.5000"),
            0,
            False,
            False,
        ),
        ("Wang Li", date(2026, 9, 28), 1, 0, 0, None, 0, 0, 0, 0, None, 7, True, False),
        (
            "Wang Li",
            date(2026, 10, 5),
            0,
            0,
            0,
            None,
            0,
            1,
            1,
            0,
            Decimal("0.0000"),
            0,
            False,
            False,
        ),
    ]
    assert h.fetch_rows(url, "select count(*) as n from marts.mart_showroom_activity") == [{"n": 3}]

"""The funnel-policy marts (DESIGN.md §2, §5) against a hand-worked fixture.

One module-scoped fixture loads the raw rows below into a fresh warehouse, seeds dbt, adds a
consultant rename, and runs ``dbt build`` once; the tests read the marts. The last test appends
late and updated records, runs the incremental models, then a full refresh, and compares.

Every expected figure below is worked out by hand from the fixture (the arithmetic is in the
comments), never copied from the models. March 2026 has no Chinese public holiday, so business
days are plain Monday-Friday. Times are Asia/Shanghai (UTC+8) for both dealers.

HZ001 (East, Aurora), no manager in the registry, settings = group defaults (SLA 1 business day,
grade A every <= 3 days, after sales: first visit within 24 h, a visit within 1 week, first-service
reminder in the 14 days before day 90, 1 month / 1 quarter +-3 days):
  H1  Mon 03-02 10:00 meta_lead_ads / meta_spring, "Chen Jie", grade A, assigned 03-02 11:00,
      phone "+86 139 1234 5678".
  H2  Wed 03-04 09:00 google_ads / g_brand, phone "139-1234-5678" (= H1's), e-mail Zhang.Wei@QQ.com
  H3  Fri 03-06 15:00 walk_in, phone "0086 13700000000", e-mail " zhang.wei@qq.com" (= H2's)
      -> H1, H2, H3 are ONE lead (H1 the earliest): phone H1~H2, e-mail H2~H3 (transitive).
      Events (out of order, one duplicated): H1 potential 03-02 10:00, interested 03-03 10:00;
      H2 needs_defined 03-05 10:00, decision 03-09 10:00 (twice); H3 won 03-12 10:00.
      Follow-ups: H1 03-02 15:00, H3 03-04 09:00, H1 03-08 10:00, H2 03-09 11:00 (before the win);
      after the win, after-sales (purpose after_sales) H1 03-14 10:00, 03-19 12:00, 04-16 09:00.
  H4  Tue 03-03 09:00 google_ads / g_brand, "Chen  Jie" (double space), grade B, assigned Thu
      03-05 10:00; potential 03-03 09:00 then straight to won Tue 03-10 09:00; follow-up Mon 03-09.
  H6  Fri 03-20 10:00, no channel, unassigned; won 03-19 10:00: won BEFORE created.
  X7  no lead row: potential Mon 03-16 09:00, interested 03-16 12:00, consultant "Old Name"
      (renamed "New Name" by the consultant_renames seed); follow-up Wed 03-25 10:00.
  Ad spend: Meta meta_spring 03-02 "100.50" + 03-03 "49.50"; Google g_brand 03-03 30,000,000
  micros, g_generic 03-05 5,000,000 micros (a campaign without leads).
  Latest activity (data as of): the follow-up of 04-16 09:00.
WX001 (East, Aurora), referral, no consultant, only won events:
  W1 created 03-10 10:00 won 03-30 10:00 (20 d); W2 03-11 10:00 -> 03-16 10:00 (5 d);
  W3 03-12 10:00 -> 03-13 10:00 (1 d); W4 03-12 10:00 -> 03-13 22:00 (1.5 d).
"""

from __future__ import annotations

import hashlib
import json
import statistics
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import mart_fixtures as h
import psycopg
import pytest

from dealerfunnel.transform.runner import run_dbt

pytestmark = pytest.mark.timeout(300)

SH = timezone(timedelta(hours=8))
D = Decimal


def sh(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def _lead(lead_id, created, channel=None, campaign=None, consultant=None, grade=None,
          assigned=None, phone=None, email=None):  # fmt: skip
    return {
        "lead_id": lead_id, "created_at": f"{created}+08:00",
        "assigned_at": f"{assigned}+08:00" if assigned else None, "channel": channel,
        "campaign": campaign, "consultant": consultant, "grade": grade, "phone": phone,
        "email": email,
    }  # fmt: skip


def _event(lead_id, stage, at, consultant=None):
    return {"lead_id": lead_id, "stage": stage, "occurred_at": f"{at}+08:00",
            "consultant": consultant}  # fmt: skip


def _followup(lead_id, at, consultant=None, purpose=None):
    return {"lead_id": lead_id, "occurred_at": f"{at}+08:00", "method": "call",
            "consultant": consultant, "note": None, "purpose": purpose}  # fmt: skip


# fmt: off
FILES = [
    ("HZ001", "leads", "leads_1.csv", "2026-04-17T00:00:00Z", [
        _lead("H1", "2026-03-02T10:00", "meta_lead_ads", "meta_spring", "Chen Jie", "A",
              "2026-03-02T11:00", phone="+86 139 1234 5678"),
        _lead("H2", "2026-03-04T09:00", "google_ads", "g_brand", phone="139-1234-5678",
              email="Zhang.Wei@QQ.com "),
        _lead("H3", "2026-03-06T15:00", "walk_in", phone="0086 13700000000",
              email=" zhang.wei@qq.com"),
        _lead("H4", "2026-03-03T09:00", "google_ads", "g_brand", "Chen  Jie", "B",
              "2026-03-05T10:00", phone="13800001111"),
        _lead("H6", "2026-03-20T10:00", "  "),
    ]),
    ("HZ001", "stage_events", "stage_events_1.csv", "2026-04-17T00:00:00Z", [
        _event("H3", "won", "2026-03-12T10:00"),
        _event("H2", "decision", "2026-03-09T10:00"),
        _event("H1", "interested", "2026-03-03T10:00"),
        _event("H2", "needs_defined", "2026-03-05T10:00"),
        _event("H1", "potential", "2026-03-02T10:00"),
        _event("H2", "decision", "2026-03-09T10:00"),
        _event("H4", "won", "2026-03-10T09:00"),
        _event("H4", "potential", "2026-03-03T09:00"),
        _event("H6", "won", "2026-03-19T10:00"),
        _event("X7", "interested", "2026-03-16T12:00", "Old Name"),
        _event("X7", "potential", "2026-03-16T09:00", "Old Name"),
    ]),
    ("HZ001", "followups", "followups_1.csv", "2026-04-17T00:00:00Z", [
        _followup("H1", "2026-03-02T15:00", "Chen Jie"),
        _followup("H3", "2026-03-04T09:00", "Chen Jie"),
        _followup("H1", "2026-03-08T10:00", "Chen Jie"),
        _followup("H2", "2026-03-09T11:00", "Chen Jie"),
        _followup("H1", "2026-03-14T10:00", "Chen Jie", "after_sales"),
        _followup("H1", "2026-03-19T12:00", "Chen Jie", "after_sales"),
        _followup("H1", "2026-04-16T09:00", "Chen Jie", "after_sales"),
        _followup("H4", "2026-03-09T10:00", "Chen Jie"),
        _followup("X7", "2026-03-25T10:00", "Old Name"),
    ]),
    ("WX001", "leads", "leads_1.csv", "2026-04-17T00:00:00Z", [
        _lead("W1", "2026-03-10T10:00", "referral"),
        _lead("W2", "2026-03-11T10:00", "referral"),
        _lead("W3", "2026-03-12T10:00", "referral"),
        _lead("W4", "2026-03-12T10:00", "referral"),
    ]),
    ("WX001", "stage_events", "stage_events_1.csv", "2026-04-17T00:00:00Z", [
        _event("W1", "won", "2026-03-30T10:00"),
        _event("W2", "won", "2026-03-16T10:00"),
        _event("W3", "won", "2026-03-13T10:00"),
        _event("W4", "won", "2026-03-13T22:00"),
    ]),
]

DEALERS = [
    ("HZ001", "Hangzhou Motors", "East", "Aurora", "Asia/Shanghai", True),
    ("WX001", "Wuxi Motors", "East", "Aurora", "Asia/Shanghai", True),
]

RENAMES = [("HZ001", "Old Name", "New Name")]

META_INSIGHTS = [  # (account, payload) as the Insights API returns it
    ("act_1", {"account_id": "1", "campaign_id": "m1", "campaign_name": "meta_spring",
               "date_start": "2026-03-02", "date_stop": "2026-03-02", "spend": "100.50",
               "impressions": "1000", "clicks": "10", "account_currency": "CNY"}),
    ("act_1", {"account_id": "1", "campaign_id": "m1", "campaign_name": "meta_spring",
               "date_start": "2026-03-03", "date_stop": "2026-03-03", "spend": "49.50",
               "impressions": "500", "clicks": "5", "account_currency": "CNY"}),
]
GOOGLE_COSTS = [  # (customer, payload) as a GAQL searchStream row
    ("111", {"customer": {"id": "111", "currencyCode": "CNY"},
             "campaign": {"id": "g1", "name": "g_brand"}, "segments": {"date": "2026-03-03"},
             "metrics": {"costMicros": "30000000", "impressions": "300", "clicks": "3"}}),
    ("111", {"customer": {"id": "111", "currencyCode": "CNY"},
             "campaign": {"id": "g2", "name": "g_generic"}, "segments": {"date": "2026-03-05"},
             "metrics": {"costMicros": "5000000"}}),
]

# Appended before the incremental run: a late event, an updated lead, a repeat enquiry.
LATE_FILES = [
    ("HZ001", "leads", "leads_2.csv", "2026-04-20T00:00:00Z", [
        # H6 exported again with its channel filled in: the later version wins
        _lead("H6", "2026-03-20T10:00", "referral"),
        # the same person as H4 (phone formatted differently), a later enquiry: merges into H4
        _lead("H9", "2026-03-25T09:00", "walk_in", phone="+86 138-0000-1111"),
    ]),
    ("HZ001", "stage_events", "stage_events_2.csv", "2026-04-20T00:00:00Z", [
        # a late event that happened long ago: H4 was interested on 03-04
        _event("H4", "interested", "2026-03-04T09:00"),
        # and X7 is lost after the earlier snapshot
        _event("X7", "lost", "2026-04-18T10:00"),
    ]),
]
# fmt: on


def _insert_ad_spend(conn: psycopg.Connection) -> None:
    api = "%s, %s, null, %s, 'HZ001', %s, %s, '2026-04-17T00:00:00Z'"
    for account, payload in META_INSIGHTS:
        record = f"{payload['campaign_id']}|{payload['date_start']}"
        conn.execute(
            "insert into raw.meta__insights (record_id, account_id, record_updated_at, payload,"
            f" _dealer_code, _source, _batch_id, _extracted_at) values ({api})",
            (record, account, json.dumps(payload), "meta", uuid.uuid4()),
        )
    for account, payload in GOOGLE_COSTS:
        record = f"{payload['campaign']['id']}|{payload['segments']['date']}"
        conn.execute(
            "insert into raw.google_ads__campaign_costs (record_id, account_id,"
            " record_updated_at, payload, _dealer_code, _source, _batch_id, _extracted_at)"
            f" values ({api})",
            (record, account, json.dumps(payload), "google_ads", uuid.uuid4()),
        )


@pytest.fixture(scope="module")
def built(warehouse_url, tmp_path_factory):
    """Fixture loaded, seeds + the rename mapping, ``dbt build`` once; yields (url, target)."""
    h.reset_warehouse(warehouse_url)
    with psycopg.connect(warehouse_url) as conn:
        h.insert_dealers(conn, DEALERS)
        h.insert_export_files(conn, FILES)
        _insert_ad_spend(conn)
    with h.module_data_dir(tmp_path_factory) as var_dir:
        run_dbt(["seed"], warehouse_url)
        with psycopg.connect(warehouse_url) as conn:
            conn.cursor().executemany(
                "insert into seeds.consultant_renames values (%s, %s, %s)", RENAMES
            )
        output = h.dbt_ok(["build", "--exclude", "resource_type:seed"], warehouse_url)
    # the data-quality warning for the lead won before it was created (H6)
    assert "WARN=1" in output, output[-2000:]
    yield warehouse_url, var_dir


def _key(dealer: str, lead_id: str) -> str:
    return hashlib.md5(f"{dealer}|dealer_export|{lead_id}".encode()).hexdigest()


# --- identity resolution ----------------------------------------------------------------------


def test_one_person_through_three_records_is_one_lead(built):
    url, _ = built
    mapping = h.fetch_rows(
        url,
        "select source_lead_id, lead_key, is_primary_record, normalized_phone, normalized_email"
        " from intermediate.int_lead_records_matched_to_leads where dealer_code = 'HZ001'"
        " order by source_lead_id",
    )
    by_id = {m["source_lead_id"]: m for m in mapping}
    # every source record is traceable: H1..H4, H6 (lead rows) and X7 (events only)
    assert sorted(by_id) == ["H1", "H2", "H3", "H4", "H6", "X7"]
    for record in ("H1", "H2", "H3"):
        assert by_id[record]["lead_key"] == _key("HZ001", "H1"), record
    assert [r for r, m in by_id.items() if m["is_primary_record"]] == ["H1", "H4", "H6", "X7"]
    # "+86 139 1234 5678" and "139-1234-5678" -> 13912345678; "0086 13700000000" -> 11 digits
    assert by_id["H1"]["normalized_phone"] == by_id["H2"]["normalized_phone"] == "13912345678"
    assert by_id["H3"]["normalized_phone"] == "13700000000"
    assert by_id["H2"]["normalized_email"] == by_id["H3"]["normalized_email"] == "zhang.wei@qq.com"

    lead = h.fetch_rows(
        url, "select * from marts.fct_leads where lead_key = %s", (_key("HZ001", "H1"),)
    )
    assert len(lead) == 1
    h1 = lead[0]
    # identity and first touch from H1; stages from all three records' events
    assert (h1["source_lead_id"], h1["channel"], h1["campaign"], h1["consultant"]) == (
        "H1", "meta_lead_ads", "meta_spring", "Chen Jie",
    )  # fmt: skip
    assert h1["lead_record_count"] == 3
    assert h1["created_at"] == sh("2026-03-02T10:00")
    assert h1["interested_at"] == sh("2026-03-03T10:00")  # H1's event
    assert h1["needs_defined_at"] == sh("2026-03-05T10:00")  # H2's event
    assert h1["decision_at"] == sh("2026-03-09T10:00")  # H2's (duplicated) event
    assert h1["won_at"] == sh("2026-03-12T10:00")  # H3's event
    assert h1["first_contact_at"] == sh("2026-03-02T15:00")
    # 03-02 10:00 -> 03-12 10:00
    assert h1["cycle_days"] == D("10.000000")
    # HZ001 has 4 resolved leads (H1, H4, H6, X7), not 6 records
    assert h.fetch_rows(
        url, "select count(*) as n from marts.fct_leads where dealer_code = 'HZ001'"
    ) == [{"n": 4}]


# --- odd input ---------------------------------------------------------------------------------


def test_odd_input_what_the_marts_do(built):
    url, _ = built
    leads = {
        r["source_lead_id"]: r
        for r in h.fetch_rows(url, "select * from marts.fct_leads where dealer_code = 'HZ001'")
    }
    # Skipped stages: H4 went potential -> won; every skipped stage takes the won time.
    h4 = leads["H4"]
    assert h4["interested_at"] == h4["needs_defined_at"] == h4["decision_at"] == h4["won_at"]
    assert h4["won_at"] == sh("2026-03-10T09:00")
    assert h4["consultant"] == "Chen Jie"  # "Chen  Jie": whitespace collapsed, same consultant
    # Won before created: kept (is_won), flagged, no cycle (NULL, never negative); a warn-level
    # dbt test lists it.
    h6 = leads["H6"]
    assert (h6["cycle_days"], h6["has_cycle_anomaly"], h6["is_won"]) == (None, True, True)
    assert h6["anomaly_reason"] == "won_before_created"
    # Missing channel ("  ") -> 'unknown'.
    assert h6["channel"] == "unknown"
    # Events but no lead row: an inferred lead created at its first event, channel unknown;
    # its consultant "Old Name" is shown under the renamed "New Name" (consultant_renames seed).
    x7 = leads["X7"]
    assert (x7["is_inferred_from_events"], x7["created_at"], x7["channel"], x7["consultant"]) == (
        True, sh("2026-03-16T09:00"), "unknown", "New Name",
    )  # fmt: skip
    audit = h.fetch_rows(
        url, "select source_lead_id from dbt_test__audit.assert_no_leads_won_before_created"
    )
    assert audit == [{"source_lead_id": "H6"}]


# --- mart_sales_cycle --------------------------------------------------------------------------


def test_sales_cycle(built):
    url, _ = built
    rows = h.fetch_rows(
        url,
        "select * from marts.mart_sales_cycle where period_grain = 'month'"
        " and period_start = '2026-03-01'",
    )
    actual = {(r["dealer_code"], r["channel"]): r for r in rows}
    # WX001 referral, won in March: cycles from the fixture (days)
    cycles = [
        (sh("2026-03-30T10:00") - sh("2026-03-10T10:00")).total_seconds() / 86400,  # 20
        (sh("2026-03-16T10:00") - sh("2026-03-11T10:00")).total_seconds() / 86400,  # 5
        (sh("2026-03-13T10:00") - sh("2026-03-12T10:00")).total_seconds() / 86400,  # 1
        (sh("2026-03-13T22:00") - sh("2026-03-12T10:00")).total_seconds() / 86400,  # 1.5
    ]
    wx = actual[("WX001", "referral")]
    assert wx["won_in_period"] == 4
    # avg 27.5 / 4 = 6.875; median (1.5 + 5) / 2 = 3.25; p90 at 2.7: 5 + 0.7 * 15 = 15.5
    assert wx["cycle_days_avg"] == round(D(str(statistics.mean(cycles))), 4) == D("6.8750")
    assert wx["cycle_days_median"] == round(D(str(statistics.median(cycles))), 4) == D("3.2500")
    assert wx["cycle_days_p90"] == round(D(str(h.percentile_cont(cycles, 0.9))), 4) == D("15.5000")
    # HZ001 meta_lead_ads: H1 only, 10 days; in stage: potential 03-02 -> 03-03 = 1, interested
    # 03-03 -> 03-05 = 2, needs_defined 03-05 -> 03-09 = 4, decision 03-09 -> 03-12 = 3
    h1 = actual[("HZ001", "meta_lead_ads")]
    cycle = ("won_in_period", "cycle_days_avg", "cycle_days_median", "cycle_days_p90")
    assert tuple(h1[c] for c in cycle) == (1, D("10.0000"), D("10.0000"), D("10.0000"))
    assert (
        h1["days_in_potential_avg"], h1["days_in_interested_avg"],
        h1["days_in_needs_defined_avg"], h1["days_in_decision_avg"],
    ) == (D("1.0000"), D("2.0000"), D("4.0000"), D("3.0000"))  # fmt: skip
    # HZ001 unknown: H6, won before created: counted, but no cycle figure
    h6 = actual[("HZ001", "unknown")]
    assert (h6["won_in_period"], h6["leads_with_cycle_anomaly"], h6["cycle_days_avg"]) == (
        1,
        1,
        None,
    )
    assert h6["cycle_days_p90"] is None
    assert sorted(actual) == [
        ("HZ001", "google_ads"), ("HZ001", "meta_lead_ads"), ("HZ001", "unknown"),
        ("WX001", "referral"),
    ]  # fmt: skip


# --- mart_sla_compliance -----------------------------------------------------------------------

SLA_COLUMNS = [
    "assignments_due", "assignments_met", "assignment_sla_rate", "first_contacts_due",
    "first_contacts_met", "first_contact_sla_rate", "cadence_followups_due",
    "cadence_followups_on_time", "cadence_on_time_rate", "cadence_followups_early",
    "interested_lead_weeks", "interested_lead_weeks_met", "interested_contact_rate",
]  # fmt: skip
NONE_DUE = (0, 0, None)
# fmt: off
EXPECTED_SLA = {
    # Assignments are the manager's duty; neither dealer names one: '(dealer)'.
    #  HZ001 week of Mon 03-02: H1 created Mon, assigned Mon (0 <= 1) met, decided 03-02; H4 created
    #  Tue 03-03, assigned Thu 03-05 = 2 business days: missed, deadline = start of Thu 03-05.
    ("HZ001", "manager", "(dealer)", date(2026, 3, 2)):
        (2, 1, D("0.5000"), *NONE_DUE, *NONE_DUE, 0, *NONE_DUE),
    #  X7 (events only) created Mon 03-16, never assigned: deadline start of Wed 03-18.
    ("HZ001", "manager", "(dealer)", date(2026, 3, 16)):
        (1, 0, D("0.0000"), *NONE_DUE, *NONE_DUE, 0, *NONE_DUE),
    #  H6 created Fri 03-20, never assigned: deadline start of Tue 03-24.
    ("HZ001", "manager", "(dealer)", date(2026, 3, 23)):
        (1, 0, D("0.0000"), *NONE_DUE, *NONE_DUE, 0, *NONE_DUE),
    #  WX001: W1 Tue 03-10 -> deadline Thu 03-12, W2 Wed 03-11 -> Fri 03-13 (week 03-09); W3, W4 Thu
    #  03-12 -> Mon 03-16 (week 03-16).
    ("WX001", "manager", "(dealer)", date(2026, 3, 9)):
        (2, 0, D("0.0000"), *NONE_DUE, *NONE_DUE, 0, *NONE_DUE),
    ("WX001", "manager", "(dealer)", date(2026, 3, 16)):
        (2, 0, D("0.0000"), *NONE_DUE, *NONE_DUE, 0, *NONE_DUE),
    # Chen Jie, week of Mon 03-02:
    #  first contact H1: assigned Mon 03-02, first follow-up Mon 03-02 15:00 (0): met;
    #  grade A cadence of lead H1 (max 3 days; A from its lead row since created): contacts 03-02
    #    15:00, 03-04 09:00 (1.75 d: on time, decided 03-04), 03-08 10:00 (from 03-04 09:00 = 4.04
    #    d: late; due 03-07 09:00 -> decided Sat 03-07), 03-09 11:00 (1.04 d: on time, decided 03-09
    #    -> next week); the next due after 03-09 11:00 is 03-12 11:00, after the win at 03-12 10:00:
    #    no check (the after-sales calls are not sales contacts). None sooner than 1 day: 0 early.
    ("HZ001", "consultant", "Chen Jie", date(2026, 3, 2)):
        (*NONE_DUE, 1, 1, D("1.0000"), 2, 1, D("0.5000"), 0, *NONE_DUE),
    # Chen Jie, week of 03-09: first contact H4: assigned Thu 03-05, contacted Mon 03-09 = 2 > 1:
    #  missed, deadline = start of Mon 03-09; cadence check 3 of H1 (on time, 03-09). H4 is grade
    #  B (max 7 d): its only contact 03-09 10:00 + 7 d is after its win 03-10: no check.
    ("HZ001", "consultant", "Chen Jie", date(2026, 3, 9)):
        (*NONE_DUE, 1, 0, D("0.0000"), 1, 1, D("1.0000"), 0, *NONE_DUE),
    # X7 (New Name) interested from Mon 03-16 12:00 (after the week's start), never leaves and has
    # no grade (the weekly rule governs): whole weeks 03-23, 03-30, 04-06 (04-13 ends after the
    # data's last activity 04-16 09:00: not decided). Its only follow-up, 03-25, is in week 03-23:
    # 1 >= 1 met; the others 0 contacts: missed.
    ("HZ001", "consultant", "New Name", date(2026, 3, 23)):
        (*NONE_DUE, *NONE_DUE, *NONE_DUE, 0, 1, 1, D("1.0000")),
    ("HZ001", "consultant", "New Name", date(2026, 3, 30)):
        (*NONE_DUE, *NONE_DUE, *NONE_DUE, 0, 1, 0, D("0.0000")),
    ("HZ001", "consultant", "New Name", date(2026, 4, 6)):
        (*NONE_DUE, *NONE_DUE, *NONE_DUE, 0, 1, 0, D("0.0000")),
}
# fmt: on


def test_sla_compliance(built):
    url, _ = built
    rows = h.fetch_rows(url, "select * from marts.mart_sla_compliance")
    actual = {
        (r["dealer_code"], r["responsible_role"], r["responsible"], r["week_start"]): tuple(
            r[c] for c in SLA_COLUMNS
        )
        for r in rows
    }
    assert len(actual) == len(rows)
    assert sorted(actual) == sorted(EXPECTED_SLA)
    for key, expected in EXPECTED_SLA.items():
        assert actual[key] == expected, key
    # consultant names the consultant on consultant rows only
    for r in rows:
        expected = r["responsible"] if r["responsible_role"] == "consultant" else None
        assert r["consultant"] == expected, r


# --- mart_post_sale_followups ------------------------------------------------------------------


def test_post_sale_followups(built):
    url, _ = built
    rows = h.fetch_rows(
        url,
        "select followup_type, due_at, due_date, done_at, is_done, is_on_time, is_due,"
        " has_delivery_date, clock_started_at"
        " from marts.mart_post_sale_followups where lead_key = %s order by followup_number",
        (_key("HZ001", "H1"),),
    )
    won = sh("2026-03-12T10:00")
    # No delivery activity: the clock starts at won_at and the rows say so.
    assert {(r["has_delivery_date"], r["clock_started_at"]) for r in rows} == {(False, won)}
    assert [{k: v for k, v in r.items() if k not in ("has_delivery_date", "clock_started_at")}
            for r in rows] == [
        # within 24 h: due 03-13 10:00; the first after-sales call is 03-14 10:00: done, late
        {"followup_type": "first_visit", "due_at": won + timedelta(hours=24),
         "due_date": date(2026, 3, 13), "done_at": sh("2026-03-14T10:00"), "is_done": True,
         "is_on_time": False, "is_due": True},
        # within a week: due 03-19 10:00; the next call after the first visit is 03-19 12:00: late
        {"followup_type": "week_visit", "due_at": won + timedelta(days=7),
         "due_date": date(2026, 3, 19), "done_at": sh("2026-03-19T12:00"), "is_done": True,
         "is_on_time": False, "is_due": True},
        # first service due at day 90 (06-10 10:00), reminder window from day 76; not yet due
        {"followup_type": "first_service_reminder", "due_at": won + timedelta(days=90),
         "due_date": date(2026, 6, 10), "done_at": None, "is_done": False, "is_on_time": False,
         "is_due": False},
        # 1 month: due 04-12 10:00, window 04-09 10:00 .. 04-15 10:00; the call of 04-16 09:00 is
        # outside it: not done, and the window closed before the data's last activity (04-16)
        {"followup_type": "month_visit", "due_at": sh("2026-04-12T10:00"),
         "due_date": date(2026, 4, 12), "done_at": None, "is_done": False, "is_on_time": False,
         "is_due": True},
        # 1 quarter: due 06-12; its window has not closed by the data's last activity
        {"followup_type": "quarter_visit", "due_at": sh("2026-06-12T10:00"),
         "due_date": date(2026, 6, 12), "done_at": None, "is_done": False, "is_on_time": False,
         "is_due": False},
    ]  # fmt: skip
    # 7 won leads (H1, H4, H6, W1-W4) x 5 required follow-ups
    assert h.fetch_rows(url, "select count(*) as n from marts.mart_post_sale_followups") == [
        {"n": 35}
    ]


# --- mart_channel_roi --------------------------------------------------------------------------


def test_channel_roi(built):
    url, _ = built
    rows = h.fetch_rows(
        url,
        "select dealer_code, channel, campaign, month_start, spend, leads, leads_won,"
        " cost_per_lead, cost_per_won from marts.mart_channel_roi",
    )
    actual = {(r["dealer_code"], r["channel"], r["campaign"]): r for r in rows}
    assert {r["month_start"] for r in rows} == {date(2026, 3, 1)}
    # Meta meta_spring: 100.50 + 49.50 = 150.00 for lead H1 (won): 150 per lead and per won.
    # H2 (google_ads / g_brand) is H1's repeat enquiry, so it is not a g_brand lead.
    assert actual[("HZ001", "meta_lead_ads", "meta_spring")] == {
        "dealer_code": "HZ001", "channel": "meta_lead_ads", "campaign": "meta_spring",
        "month_start": date(2026, 3, 1), "spend": D("150.0000"), "leads": 1, "leads_won": 1,
        "cost_per_lead": D("150.0000"), "cost_per_won": D("150.0000"),
    }  # fmt: skip
    # Google g_brand: 30,000,000 micros = 30.00, one lead (H4), won
    g_brand = actual[("HZ001", "google_ads", "g_brand")]
    assert (g_brand["spend"], g_brand["leads"], g_brand["cost_per_lead"]) == (
        D("30.0000"), 1, D("30.0000"),
    )  # fmt: skip
    # g_generic: 5.00 spent, no lead: cost per lead undefined
    g_generic = actual[("HZ001", "google_ads", "g_generic")]
    assert (g_generic["spend"], g_generic["leads"], g_generic["cost_per_lead"]) == (
        D("5.0000"), 0, None,
    )  # fmt: skip
    # no spend source: spend NULL, not 0. H6 + X7 = 2 leads, H6 won.
    unknown = actual[("HZ001", "unknown", "(none)")]
    assert (unknown["spend"], unknown["leads"], unknown["leads_won"], unknown["cost_per_won"]) == (
        None, 2, 1, None,
    )  # fmt: skip
    assert actual[("WX001", "referral", "(none)")]["leads"] == 4
    assert len(actual) == 5


# --- mart_consultant_scorecard -----------------------------------------------------------------


def test_consultant_scorecard(built):
    url, _ = built
    rows = h.fetch_rows(url, "select * from marts.mart_consultant_scorecard order by 1, 2, 3")
    actual = {(r["dealer_code"], r["consultant"], r["month_start"]): r for r in rows}
    assert sorted(actual) == [
        ("HZ001", "Chen Jie", date(2026, 3, 1)),
        ("HZ001", "Chen Jie", date(2026, 4, 1)),
        ("HZ001", "New Name", date(2026, 3, 1)),
        ("HZ001", "New Name", date(2026, 4, 1)),
    ]
    march = actual[("HZ001", "Chen Jie", date(2026, 3, 1))]
    # assigned in March: H1, H4, both won: 2/2; cycles 10 and 7 -> 8.5
    # first contact 1 of 2, cadence 2 of 3 (see EXPECTED_SLA); no assignment SLA (the manager's)
    # post-sale due in March: H1 first visit + week visit (both late), H4 first visit (due 03-11)
    # + week visit (due 03-17), never done: 0 of 4
    assert "assignment_sla_rate" not in march
    assert {k: march[k] for k in (
        "leads_assigned", "leads_won", "win_rate", "cycle_days_avg",
        "first_contact_sla_rate", "cadence_on_time_rate", "interested_contact_rate",
        "post_sale_followup_rate", "leads_interested", "rate_decision_to_won", "satisfaction_score",
    )} == {
        "leads_assigned": 2, "leads_won": 2, "win_rate": D("1.0000"),
        "cycle_days_avg": D("8.5000"),
        "first_contact_sla_rate": D("0.5000"), "cadence_on_time_rate": D("0.6667"),
        "interested_contact_rate": None, "post_sale_followup_rate": D("0.0000"),
        "leads_interested": 2, "rate_decision_to_won": D("1.0000"), "satisfaction_score": None,
    }  # fmt: skip
    # the cohort's maturity (as of the run's start, months after March 2026): win_rate is final
    assert (march["is_period_complete"], march["is_mature"]) == (True, True)
    april = actual[("HZ001", "Chen Jie", date(2026, 4, 1))]
    # H1's month visit (due 04-12, window closed 04-15) and H4's (due 04-10, window closed 04-13)
    # not done
    assert (april["leads_assigned"], april["post_sale_followups_due"]) == (0, 2)
    assert april["post_sale_followup_rate"] == D("0.0000")
    new_name = actual[("HZ001", "New Name", date(2026, 3, 1))]
    # X7 (no assignment time: counted in its created month), interested, not won: 0/1;
    # interested week 03-23 (ends Sun 03-29) met: 1/1
    assert (new_name["leads_assigned"], new_name["win_rate"]) == (1, D("0.0000"))
    assert new_name["interested_contact_rate"] == D("1.0000")
    # weeks 03-30 and 04-06 end in April (Sundays 04-05, 04-12), both missed
    assert actual[("HZ001", "New Name", date(2026, 4, 1))]["interested_contact_rate"] == D("0.0000")


# --- mart_group_overview -----------------------------------------------------------------------


def test_group_overview_rolls_up_dealers(built):
    url, _ = built
    rows = h.fetch_rows(
        url,
        "select * from marts.mart_group_overview where period_grain = 'month'"
        " and period_start = '2026-03-01'",
    )
    assert len(rows) == 1
    row = rows[0]
    # created in March: HZ001 H1, H4, H6, X7 + WX001 W1-W4 = 8; interested: all but none = 8
    # (H4, H6 and the W leads reached won, so every earlier stage); needs_defined/decision/won:
    # all but X7 = 7
    assert (row["region"], row["brand"], row["dealers"]) == ("East", "Aurora", 2)
    assert (
        row["leads_potential"], row["leads_interested"], row["leads_needs_defined"],
        row["leads_decision"], row["leads_won"], row["leads_lost"],
    ) == (8, 8, 7, 7, 7, 0)  # fmt: skip
    # 8/8, 7/8, 7/7, 7/7, 7/8
    assert (
        row["rate_potential_to_interested"], row["rate_interested_to_needs_defined"],
        row["rate_needs_defined_to_decision"], row["rate_decision_to_won"],
        row["rate_lead_to_won"],
    ) == (D("1.0000"), D("0.8750"), D("1.0000"), D("1.0000"), D("0.8750"))  # fmt: skip
    # won in March: 7; cycles without the anomaly H6: 10, 7, 20, 5, 1, 1.5
    cycles = [10, 7, 20, 5, 1, 1.5]
    assert row["won_in_period"] == 7
    # no as_of_at var here: the as-of time is the run's start, long after March 2026 ended, so
    # every dealer's March cohort is complete and older than 60 days
    assert (row["is_period_complete"], row["is_mature"]) == (True, True)
    assert row["cohort_age_days"] >= 60
    # avg 44.5 / 6 = 7.41667; median (5 + 7) / 2 = 6; p90 at 4.5 of [1, 1.5, 5, 7, 10, 20] = 15
    assert row["cycle_days_avg"] == round(D(sum(cycles)) / len(cycles), 4) == D("7.4167")
    assert row["cycle_days_median"] == round(D(str(statistics.median(cycles))), 4) == D("6.0000")
    assert row["cycle_days_p90"] == round(D(str(h.percentile_cont(cycles, 0.9))), 4) == D("15.0000")


# --- settings ----------------------------------------------------------------------------------


def test_every_dealer_has_every_setting(built):
    url, _ = built
    rows = h.fetch_rows(
        url,
        "select dealer_code, count(*) as n, bool_or(is_overridden) as overridden"
        " from intermediate.int_funnel_settings_resolved group by dealer_code order by 1",
    )
    # one value per setting of the seed's group defaults (the list grows with new settings)
    (defaults,) = h.fetch_rows(
        url,
        "select count(*) as n from seeds.funnel_settings"
        " where coalesce(btrim(dealer_code), '') = ''",
    )
    assert defaults["n"] >= 21  # 16 policy settings + the 5 maturity ages, at least
    n = defaults["n"]
    assert rows == [
        {"dealer_code": "HZ001", "n": n, "overridden": False},
        {"dealer_code": "WX001", "n": n, "overridden": False},
    ]


# --- incremental == full refresh (last: it appends to the fixture) ----------------------------

MART_KEYS = {
    "fct_leads": "lead_key",
    "mart_funnel_conversion": "dealer_code, channel, period_grain, period_start",
    "mart_sales_cycle": "dealer_code, channel, period_grain, period_start",
    "mart_sla_compliance": "dealer_code, responsible_role, responsible, week_start",
    "mart_followup_methods": "dealer_code, consultant, month_start, purpose, contact_method",
    "mart_followup_monitoring": "dealer_code, grade",
    "mart_channel_roi": "dealer_code, channel, campaign, month_start",
    "mart_consultant_scorecard": "dealer_code, consultant, month_start",
    "mart_post_sale_followups": "post_sale_followup_key",
    "mart_group_overview": "region, brand, period_grain, period_start",
}


def _snapshot(url: str) -> dict[str, list[dict]]:
    """Every mart's rows; refreshed_at (when a row was last computed) aside."""
    return {
        mart: [
            {k: v for k, v in row.items() if k != "refreshed_at"}
            for row in h.fetch_rows(url, f"select * from marts.{mart} order by {key}")
        ]
        for mart, key in MART_KEYS.items()
    }


def test_incremental_run_equals_full_refresh(built):
    url, var_dir = built
    with psycopg.connect(url) as conn:
        h.insert_export_files(conn, LATE_FILES)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEALERFUNNEL_DATA_DIR", str(var_dir))
        run_dbt(["run"], url)
        target = Path(var_dir, "dbt", "target")
        model = Path("dealer_funnel", "models", "intermediate", "int_stage_events_unioned.sql")
        compiled_sql = (target / "compiled" / model).read_text()
        run_sql = (target / "run" / model).read_text()
        incremental = _snapshot(url)
        run_dbt(["run", "--full-refresh"], url)
        full = _snapshot(url)
    # the run really was incremental: a filtered delete+insert into the existing table
    assert "interval '15 minutes'" in compiled_sql and "delete from" in run_sql
    for mart in MART_KEYS:
        assert incremental[mart] == full[mart], mart

    leads = {r["source_lead_id"]: r for r in full["fct_leads"]}
    # the update won: H6 now has its channel; the late event moved H4's interested_at earlier;
    # H9 (same phone as H4) merged into H4; X7 is lost
    assert leads["H6"]["channel"] == "referral"
    assert leads["H4"]["interested_at"] == sh("2026-03-04T09:00")
    assert leads["H4"]["lead_record_count"] == 2 and "H9" not in leads
    assert (leads["X7"]["current_stage"], leads["X7"]["is_lost"]) == ("lost", True)
    # X7 lost on 04-18: its interested weeks are still 03-23, 03-30 and 04-06 (04-13 ends 04-20)
    weeks = h.fetch_rows(
        url,
        "select week_start from marts.mart_sla_compliance where consultant = 'New Name'"
        " and interested_lead_weeks > 0 order by 1",
    )
    assert [w["week_start"] for w in weeks] == [
        date(2026, 3, 23),
        date(2026, 3, 30),
        date(2026, 4, 6),
    ]

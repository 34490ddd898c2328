"""The follow-up, SLA and after-sales rules of DESIGN.md §2 against a hand-worked fixture.

One module-scoped fixture loads the raw rows below, seeds dbt with two per-dealer overrides,
sets a manager in the registry and runs ``dbt build`` once; the tests read the marts (and the
SLA checks they are built on), and one runs the real overdue alert rule on the built mart.

Every expected figure is worked out by hand in the comments. All dealers are in Asia/Shanghai
(UTC+8); times below are local. March 2026 has no Chinese public holiday; Qingming is Sat 04-04
to Mon 04-06 (days off). Consultant everywhere: "Li Na".

FA001 (manager "Ma Li", group defaults: Monday-Friday, SLA 1 business day, C every <= 28 days,
D every <= 90 days, first after-sales visit within 24 h, a visit within 1 week):
  C1  grade C (lead row), created Mon 03-02 10:00, assigned 10:30, interested 12:00; contacts
      every 3 weeks: 03-02 11:00 (call), 03-23 11:00 (sms), 04-13, 05-04, 05-25 11:00 (calls).
  D1  grade D, created Sat 03-07 10:00, assigned 10:30, one contact Sat 03-07 12:00 (grade D).
  G1  grade B, created Mon 04-13 10:00, assigned 10:30; contacts 04-13 11:00 (grade B), 04-23
      11:00 (grade C: the grade changes mid-month), 05-12 11:00, 06-05 11:00.
  N1  no grade, created Tue 03-10 10:00, assigned 10:30; a call 03-10 11:00 with no answer, then
      a reached WeChat 03-12 15:00.
  A1  created Fri 03-06 10:00, assigned Mon 03-09 09:00 (no follow-up).
  P1  created Mon 03-16 10:00, assigned 10:30, won Wed 04-01 10:00, delivered Fri 04-03 15:00
      (the Friday before Qingming); a SALES call Sat 04-04 10:00, after-sales calls Tue 04-07
      09:00 and Thu 04-09 10:00.
  Z9  created Wed 06-10 12:00: the dealer's latest data (as of 06-10 12:00). D1's only contact is
      95 days old then.
FW001 (no manager; post_sale_first_visit_working_days = 1): W1 as P1 (created, won, delivered,
  after-sales calls 04-07 09:00 and 04-09 10:00); latest data 04-09 10:00.
FS001 (no manager; working_weekdays = 123456, Saturday is a working day): S1 created Fri 03-06
  10:00, assigned Mon 03-09 09:00 (as A1); latest data 03-09 09:00.
FL001 (no manager, group defaults): L1 is open and interested for two years. Created Mon
  2024-06-03 10:00, assigned 10:30, no grade on the lead row, interested 12:00. Sales contacts:
  2024-06-03 11:00, Wed 06-12 11:00, Wed 06-19 11:00, Fri 06-21 11:00; Wed 2025-01-08 11:00 sets
  grade B; Wed 2025-03-05 11:00 sets grade F (not A-D: ungraded again); an unanswered call Wed
  2025-06-04 11:00; Wed 2026-05-20 11:00; Tue 2026-06-09 11:00. Z2 created Wed 2026-06-10 12:00:
  the dealer's latest data.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import mart_fixtures as h
import psycopg
import pytest

from dealerfunnel.alerts.evaluators import evaluate_overdue
from dealerfunnel.alerts.rules import load_rules
from dealerfunnel.transform.runner import run_dbt

pytestmark = pytest.mark.timeout(300)

SH = timezone(timedelta(hours=8))
D = Decimal
LI = "Li Na"


def sh(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def _lead(lead_id, created, assigned=None, grade=None):
    return {"lead_id": lead_id, "created_at": f"{created}+08:00",
            "assigned_at": f"{assigned}+08:00" if assigned else None, "channel": "walk_in",
            "consultant": LI if assigned else None, "grade": grade}  # fmt: skip


def _event(lead_id, stage, at):
    return {"lead_id": lead_id, "stage": stage, "occurred_at": f"{at}+08:00", "consultant": LI}


def _fu(lead_id, at, method="call", outcome="reached", grade=None, purpose=None, recorded=None):
    return {"lead_id": lead_id, "occurred_at": f"{at}+08:00", "method": method,
            "consultant": LI, "note": None, "outcome": outcome, "grade": grade,
            "purpose": purpose,
            "recorded_at": f"{recorded}+08:00" if recorded else None}  # fmt: skip


def _delivered(lead_id, at):
    return {"lead_id": lead_id, "activity": "delivered", "occurred_at": f"{at}+08:00",
            "consultant": LI}  # fmt: skip


# fmt: off
FILES = [
    ("FA001", "leads", "leads.csv", "2026-06-11T00:00:00Z", [
        _lead("C1", "2026-03-02T10:00", "2026-03-02T10:30", "C"),
        _lead("D1", "2026-03-07T10:00", "2026-03-07T10:30", "D"),
        _lead("G1", "2026-04-13T10:00", "2026-04-13T10:30", "B"),
        _lead("N1", "2026-03-10T10:00", "2026-03-10T10:30"),
        _lead("A1", "2026-03-06T10:00", "2026-03-09T09:00"),
        _lead("P1", "2026-03-16T10:00", "2026-03-16T10:30"),
        _lead("Z9", "2026-06-10T12:00"),
    ]),
    ("FA001", "stage_events", "stage_events.csv", "2026-06-11T00:00:00Z", [
        _event("C1", "interested", "2026-03-02T12:00"),
        _event("P1", "won", "2026-04-01T10:00"),
    ]),
    ("FA001", "followups", "followups.csv", "2026-06-11T00:00:00Z", [
        _fu("C1", "2026-03-02T11:00", recorded="2026-03-02T18:00"),
        _fu("C1", "2026-03-23T11:00", method="sms", recorded="2026-03-24T09:00"),
        _fu("C1", "2026-04-13T11:00"),
        _fu("C1", "2026-05-04T11:00"),
        _fu("C1", "2026-05-25T11:00"),
        _fu("D1", "2026-03-07T12:00", grade="D"),
        _fu("G1", "2026-04-13T11:00", grade="B"),
        _fu("G1", "2026-04-23T11:00", grade="C"),
        _fu("G1", "2026-05-12T11:00"),
        _fu("G1", "2026-06-05T11:00"),
        _fu("N1", "2026-03-10T11:00", outcome="no_answer", recorded="2026-03-10T11:05"),
        _fu("N1", "2026-03-12T15:00", method="wechat"),
        _fu("P1", "2026-04-04T10:00", purpose="sales"),
        _fu("P1", "2026-04-07T09:00", purpose="after_sales"),
        _fu("P1", "2026-04-09T10:00", purpose="after_sales"),
    ]),
    ("FA001", "activities", "activities.csv", "2026-06-11T00:00:00Z", [
        _delivered("P1", "2026-04-03T15:00"),
    ]),
    ("FW001", "leads", "leads.csv", "2026-06-11T00:00:00Z", [
        _lead("W1", "2026-03-16T10:00", "2026-03-16T10:30"),
    ]),
    ("FW001", "stage_events", "stage_events.csv", "2026-06-11T00:00:00Z", [
        _event("W1", "won", "2026-04-01T10:00"),
    ]),
    ("FW001", "followups", "followups.csv", "2026-06-11T00:00:00Z", [
        _fu("W1", "2026-04-07T09:00", purpose="after_sales"),
        _fu("W1", "2026-04-09T10:00", purpose="after_sales"),
    ]),
    ("FW001", "activities", "activities.csv", "2026-06-11T00:00:00Z", [
        _delivered("W1", "2026-04-03T15:00"),
    ]),
    ("FS001", "leads", "leads.csv", "2026-06-11T00:00:00Z", [
        _lead("S1", "2026-03-06T10:00", "2026-03-09T09:00"),
    ]),
    ("FL001", "leads", "leads.csv", "2026-06-11T00:00:00Z", [
        _lead("L1", "2024-06-03T10:00", "2024-06-03T10:30"),
        _lead("Z2", "2026-06-10T12:00"),
    ]),
    ("FL001", "stage_events", "stage_events.csv", "2026-06-11T00:00:00Z", [
        _event("L1", "interested", "2024-06-03T12:00"),
    ]),
    ("FL001", "followups", "followups.csv", "2026-06-11T00:00:00Z", [
        _fu("L1", "2024-06-03T11:00"),
        _fu("L1", "2024-06-12T11:00"),
        _fu("L1", "2024-06-19T11:00"),
        _fu("L1", "2024-06-21T11:00"),
        _fu("L1", "2025-01-08T11:00", grade="B"),
        _fu("L1", "2025-03-05T11:00", grade="F"),
        _fu("L1", "2025-06-04T11:00", outcome="no_answer"),
        _fu("L1", "2026-05-20T11:00"),
        _fu("L1", "2026-06-09T11:00"),
    ]),
]
# fmt: on

DEALERS = [
    ("FA001", "Hangzhou Followup Motors", "East", "Aurora", "Asia/Shanghai", True),
    ("FW001", "Wuxi Workday Motors", "East", "Aurora", "Asia/Shanghai", True),
    ("FS001", "Suzhou Saturday Motors", "East", "Aurora", "Asia/Shanghai", True),
    ("FL001", "Linhai Longrun Motors", "East", "Aurora", "Asia/Shanghai", True),
]
OVERRIDES = [
    ("FS001", "working_weekdays", "123456"),
    ("FW001", "post_sale_first_visit_working_days", "1"),
]


@pytest.fixture(scope="module")
def built(warehouse_url, tmp_path_factory):
    """Fixture loaded, seeds + the overrides, ``dbt build`` once; yields the warehouse URL."""
    h.reset_warehouse(warehouse_url)
    with psycopg.connect(warehouse_url) as conn:
        h.insert_dealers(conn, DEALERS)
        conn.execute("update ops.dealers set manager = 'Ma Li' where dealer_code = 'FA001'")
        h.insert_export_files(conn, FILES)
    with h.module_data_dir(tmp_path_factory):
        run_dbt(["seed"], warehouse_url)
        with psycopg.connect(warehouse_url) as conn:
            conn.cursor().executemany(
                "insert into seeds.funnel_settings values (%s, %s, %s)", OVERRIDES
            )
        h.dbt_ok(["build", "--exclude", "resource_type:seed"], warehouse_url)
    yield warehouse_url


def _lead_key(url: str, dealer: str, lead_id: str) -> str:
    (row,) = h.fetch_rows(
        url,
        "select lead_key from marts.fct_leads where dealer_code = %s and source_lead_id = %s",
        (dealer, lead_id),
    )
    return row["lead_key"]


def _checks(url: str, dealer: str, lead_id: str, check_type: str) -> list[dict]:
    return h.fetch_rows(
        url,
        "select check_number, due_at, done_at, is_met, is_early, responsible_role, responsible"
        " from intermediate.int_sla_checks_evaluated"
        " where lead_key = %s and check_type = %s order by check_number",
        (_lead_key(url, dealer, lead_id), check_type),
    )


# --- one governing rule per lead and time ------------------------------------------------------


def test_c_lead_contacted_every_three_weeks_breaches_neither_rule(built):
    url = built
    cadence = _checks(url, "FA001", "C1", "grade_cadence")
    # contacts 21 days apart, C allows 28 (and asks for at least 14): each of the first four is
    # followed in time; the fifth (05-25 11:00) is due 06-22 11:00, after the data (06-10): open
    assert [(c["check_number"], c["due_at"], c["is_met"], c["is_early"]) for c in cadence] == [
        (1, sh("2026-03-30T11:00"), True, False),
        (2, sh("2026-04-20T11:00"), True, False),
        (3, sh("2026-05-11T11:00"), True, False),
        (4, sh("2026-06-01T11:00"), True, False),
    ]
    assert {(c["responsible_role"], c["responsible"]) for c in cadence} == {("consultant", LI)}
    # C1 is interested and graded all along: the weekly contact rule never judges it (the old
    # rule marked every week without a contact, e.g. 03-09 .. 03-16, in breach)
    assert _checks(url, "FA001", "C1", "interested_week") == []
    # and it is not overdue
    c_row = h.fetch_rows(
        url,
        "select open_leads, overdue_leads from marts.mart_followup_monitoring"
        " where dealer_code = 'FA001' and grade = 'C'",
    )
    # C1 (last contact 05-25 + 28 d = 06-22) and G1 (06-05 + 28 d = 07-03): open, not overdue
    assert c_row == [{"open_leads": 2, "overdue_leads": 0}]


def test_d_lead_overdue_at_day_95_fires(built):
    url = built
    rows = h.fetch_rows(
        url,
        "select dealer_code, grade, as_of_at, as_of_date, cadence_max_days, open_leads,"
        " overdue_leads, max_days_overdue from marts.mart_followup_monitoring order by 1, 2",
    )
    fa = {r["grade"]: r for r in rows if r["dealer_code"] == "FA001"}
    # as of Z9's creation 06-10 12:00; D1's contact Sat 03-07 12:00 + 90 days = Fri 06-05 12:00:
    # 95 days after the contact, 5 days overdue, whatever the lead's age
    assert fa["D"] == {
        "dealer_code": "FA001", "grade": "D", "as_of_at": sh("2026-06-10T12:00"),
        "as_of_date": date(2026, 6, 10), "cadence_max_days": D("90"), "open_leads": 1,
        "overdue_leads": 1, "max_days_overdue": D("5.00"),
    }  # fmt: skip
    assert (fa["A"]["open_leads"], fa["B"]["open_leads"]) == (0, 0)
    assert [fa[g]["cadence_max_days"] for g in "ABC"] == [D("3"), D("7"), D("28")]
    # every grade of every dealer (4 dealers x A-D) has a row; nothing is overdue elsewhere
    assert len(rows) == 16
    assert sum(r["overdue_leads"] for r in rows) == 1
    # the cadence check behind it: due 06-05 12:00, no next contact: missed
    (check,) = _checks(url, "FA001", "D1", "grade_cadence")
    assert (check["due_at"], check["done_at"], check["is_met"]) == (
        sh("2026-06-05T12:00"), None, False,
    )  # fmt: skip

    # the alert rule as committed (threshold 0) only compares the mart's figure
    (rule,) = [r for r in load_rules() if r.type == "overdue_followups"]
    with psycopg.connect(url) as conn:
        verdicts = evaluate_overdue(conn, rule, datetime.now(UTC))
    fired = [(v.dealer_code, v.subject, v.observed) for v in verdicts if v.breached]
    assert fired == [("FA001", "grade=D", 1)]
    (d1,) = [v for v in verdicts if v.breached]
    assert (d1.threshold, d1.period_start, d1.detail["source"]) == (
        0, date(2026, 6, 10), "marts.mart_followup_monitoring",
    )  # fmt: skip
    assert len(verdicts) == 16  # every dealer x grade is judged, so recoveries are seen


def test_grade_change_from_b_to_c_mid_month(built):
    url = built
    history = h.fetch_rows(
        url,
        "select grade, valid_from, valid_to, is_current"
        " from intermediate.int_lead_grades_historized"
        " where lead_key = %s order by valid_from",
        (_lead_key(url, "FA001", "G1"),),
    )
    # B from the lead row (created 04-13 10:00; the first contact's B changes nothing), C from
    # the contact of 04-23 11:00
    assert history == [
        {"grade": "B", "valid_from": sh("2026-04-13T10:00"), "valid_to": sh("2026-04-23T11:00"),
         "is_current": False},
        {"grade": "C", "valid_from": sh("2026-04-23T11:00"), "valid_to": None,
         "is_current": True},
    ]  # fmt: skip
    cadence = _checks(url, "FA001", "G1", "grade_cadence")
    assert [(c["check_number"], c["due_at"], c["done_at"], c["is_met"]) for c in cadence] == [
        # judged as B (<= 7 days): 04-13 -> 04-23 is 10 days: missed (as C it would be on time)
        (1, sh("2026-04-20T11:00"), sh("2026-04-23T11:00"), False),
        # judged as C (<= 28 days): 04-23 -> 05-12 is 19 days, 05-12 -> 06-05 is 24: on time
        (2, sh("2026-05-21T11:00"), sh("2026-05-12T11:00"), True),
        (3, sh("2026-06-09T11:00"), sh("2026-06-05T11:00"), True),
    ]


def test_lead_interested_for_two_years_is_judged_every_ungraded_week(built):
    url = built
    weeks = _checks(url, "FL001", "L1", "interested_week")
    # Whole local weeks (Mon 00:00 to Mon 00:00) wholly interested and wholly without an A-D grade:
    #  ungraded from interested (Mon 2024-06-03 12:00, so that week is not whole) to the B of Wed
    #  2025-01-08 11:00: Mondays 2024-06-10 .. 2024-12-30 (203 days = 29 weeks on: 30 weeks);
    #  graded B until the F of Wed 2025-03-05 11:00: no week (the weeks of 01-06 and 03-03 are
    #  partly graded); ungraded from then to the data (Wed 2026-06-10 12:00): Mondays 2025-03-10
    #  .. 2026-06-01 (2026-03-09 is 52 weeks on, 2026-06-01 12 more: 65 weeks); the week of
    #  2026-06-08 ends after the data: not decided.
    first = [date(2024, 6, 10) + timedelta(weeks=i) for i in range(30)]
    second = [date(2025, 3, 10) + timedelta(weeks=i) for i in range(65)]
    assert (first[-1], second[-1]) == (date(2024, 12, 30), date(2026, 6, 1))
    mondays = [w["due_at"].astimezone(SH).date() - timedelta(days=7) for w in weeks]
    assert mondays == first + second
    assert [w["check_number"] for w in weeks] == [
        (monday - date(2000, 1, 3)).days // 7 for monday in first + second
    ]
    # met (at least 1 reached sales contact): 2024-06-10 (06-12), 2024-06-17 (06-19 and 06-21),
    # 2026-05-18 (05-20); 2025-06-02 had only an unanswered call: missed, like the other 91
    met = {
        w["due_at"].astimezone(SH).date() - timedelta(days=7): w["done_at"]
        for w in weeks
        if w["is_met"]
    }
    assert met == {
        date(2024, 6, 10): sh("2024-06-12T11:00"),
        date(2024, 6, 17): sh("2024-06-21T11:00"),
        date(2026, 5, 18): sh("2026-05-20T11:00"),
    }
    assert {(w["responsible_role"], w["responsible"]) for w in weeks} == {("consultant", LI)}
    counts = h.fetch_rows(
        url,
        "select week_start, contact_count from intermediate.int_sla_checks_evaluated"
        " where lead_key = %s and check_type = 'interested_week'"
        " and week_start in ('2024-06-17', '2025-06-02') order by week_start",
        (_lead_key(url, "FL001", "L1"),),
    )
    assert counts == [
        {"week_start": date(2024, 6, 17), "contact_count": 2},
        {"week_start": date(2025, 6, 2), "contact_count": 0},
    ]
    # the marts: 95 lead-weeks, 3 met, in the weekly mart; June 2024 in the scorecard holds the
    # weeks whose Sunday is in June: 06-10, 06-17 and 06-24 (2 met: 2 ÷ 3)
    (sla,) = h.fetch_rows(
        url,
        "select sum(interested_lead_weeks) as weeks, sum(interested_lead_weeks_met) as met,"
        " count(*) filter (where interested_lead_weeks > 0) as rows"
        " from marts.mart_sla_compliance where dealer_code = 'FL001' and consultant = %s",
        (LI,),
    )
    assert sla == {"weeks": 95, "met": 3, "rows": 95}
    (june,) = h.fetch_rows(
        url,
        "select interested_lead_weeks, interested_contact_rate from"
        " marts.mart_consultant_scorecard where dealer_code = 'FL001' and consultant = %s"
        " and month_start = '2024-06-01'",
        (LI,),
    )
    assert june == {"interested_lead_weeks": 3, "interested_contact_rate": D("0.6667")}


def test_first_contact_needs_a_reached_customer(built):
    url = built
    (lead,) = h.fetch_rows(
        url,
        "select first_attempt_at, first_contact_at, business_days_to_first_contact,"
        " is_first_contact_sla_met from marts.fct_leads where source_lead_id = 'N1'",
    )
    # the unanswered call of Tue 03-10 11:00 is an attempt; the first contact is the reached
    # WeChat of Thu 03-12: Tue -> Thu = 2 business days > 1
    assert lead == {
        "first_attempt_at": sh("2026-03-10T11:00"), "first_contact_at": sh("2026-03-12T15:00"),
        "business_days_to_first_contact": 2, "is_first_contact_sla_met": False,
    }  # fmt: skip
    (check,) = _checks(url, "FA001", "N1", "first_contact")
    # due by the end of Wed 03-11 (start of Thu), charged to the consultant
    assert (check["due_at"], check["done_at"], check["is_met"], check["responsible"]) == (
        sh("2026-03-12T00:00"), sh("2026-03-12T15:00"), False, LI,
    )  # fmt: skip


# --- SLAs charged to the person responsible, per-dealer working calendar ----------------------


def test_assignment_is_the_managers_and_saturday_can_be_a_working_day(built):
    url = built
    leads = {
        r["source_lead_id"]: r
        for r in h.fetch_rows(
            url,
            "select source_lead_id, business_days_to_assign, is_assignment_sla_met"
            " from marts.fct_leads where source_lead_id in ('A1', 'S1')",
        )
    }
    # Fri 03-06 -> Mon 03-09: Monday-Friday dealer 1 business day (met); at FS001 Saturday works:
    # Sat and Mon = 2 (missed)
    assert (leads["A1"]["business_days_to_assign"], leads["A1"]["is_assignment_sla_met"]) == (
        1,
        True,
    )
    assert (leads["S1"]["business_days_to_assign"], leads["S1"]["is_assignment_sla_met"]) == (
        2,
        False,
    )
    (a1,) = _checks(url, "FA001", "A1", "assignment")
    (s1,) = _checks(url, "FS001", "S1", "assignment")
    # FA001's manager answers for A1; FS001 names none: '(dealer)'. S1's allowance ends on the
    # working Saturday 03-07, so it was due by the start of Mon 03-09 (A1's by Tue 03-10).
    assert (a1["responsible_role"], a1["responsible"], a1["due_at"], a1["is_met"]) == (
        "manager", "Ma Li", sh("2026-03-10T00:00"), True,
    )  # fmt: skip
    assert (s1["responsible_role"], s1["responsible"], s1["due_at"], s1["is_met"]) == (
        "manager", "(dealer)", sh("2026-03-09T00:00"), False,
    )  # fmt: skip
    rows = h.fetch_rows(
        url,
        "select consultant, assignments_due, assignments_met, first_contacts_due"
        " from marts.mart_sla_compliance where dealer_code = 'FS001'"
        " and responsible_role = 'manager' and responsible = '(dealer)'"
        " and week_start = '2026-03-09'",
    )
    assert rows == [
        {"consultant": None, "assignments_due": 1, "assignments_met": 0, "first_contacts_due": 0}
    ]
    # the scorecard charges consultants only: no assignment SLA in it
    columns = {r["column_name"] for r in h.fetch_rows(
        url,
        "select column_name from information_schema.columns where table_schema = 'marts'"
        " and table_name = 'mart_consultant_scorecard'",
    )}  # fmt: skip
    assert "first_contact_sla_rate" in columns
    assert not {"assignment_sla_rate", "assignments_due"} & columns


# --- after sales -------------------------------------------------------------------------------


def test_delivery_on_the_friday_before_a_holiday(built):
    url = built
    query = (
        "select followup_type, clock_started_at, has_delivery_date, due_at, done_at, is_on_time"
        " from marts.mart_post_sale_followups where lead_key = %s and followup_number <= 2"
        " order by followup_number"
    )
    delivered = sh("2026-04-03T15:00")
    p1 = h.fetch_rows(url, query, (_lead_key(url, "FA001", "P1"),))
    assert p1 == [
        # 24 h: due Sat 04-04 15:00; the sales call of 04-04 10:00 is not an after-sales visit;
        # the first after-sales call is Tue 04-07 09:00: late
        {"followup_type": "first_visit", "clock_started_at": delivered, "has_delivery_date": True,
         "due_at": sh("2026-04-04T15:00"), "done_at": sh("2026-04-07T09:00"),
         "is_on_time": False},
        # within a week (due 04-10 15:00), after the first visit: Thu 04-09 10:00, on time
        {"followup_type": "week_visit", "clock_started_at": delivered, "has_delivery_date": True,
         "due_at": sh("2026-04-10T15:00"), "done_at": sh("2026-04-09T10:00"),
         "is_on_time": True},
    ]  # fmt: skip
    w1 = h.fetch_rows(url, query, (_lead_key(url, "FW001", "W1"),))
    assert w1 == [
        # 1 working day: Sat 04-04 to Mon 04-06 are Qingming days off, the next working day is
        # Tue 04-07, so the visit is due by its end (the start of Wed 04-08): on time
        {"followup_type": "first_visit", "clock_started_at": delivered, "has_delivery_date": True,
         "due_at": sh("2026-04-08T00:00"), "done_at": sh("2026-04-07T09:00"),
         "is_on_time": True},
        # the week visit comes after the first visit's deadline (04-08): 04-09 10:00, on time
        {"followup_type": "week_visit", "clock_started_at": delivered, "has_delivery_date": True,
         "due_at": sh("2026-04-10T15:00"), "done_at": sh("2026-04-09T10:00"),
         "is_on_time": True},
    ]  # fmt: skip


# --- method mix and same-day recording ---------------------------------------------------------


def test_method_mix_per_consultant_and_month(built):
    url = built
    rows = h.fetch_rows(
        url,
        "select contact_method, is_main_channel, followups, contacts, attempts,"
        " share_of_followups, followups_with_recorded_at, followups_recorded_same_day,"
        " recorded_same_day_rate from marts.mart_followup_methods where dealer_code = 'FA001'"
        " and consultant = %s and month_start = '2026-03-01' and purpose = 'sales'"
        " order by contact_method",
        (LI,),
    )
    # March, sales: calls C1 03-02 (recorded same day), D1 03-07 (no recorded_at), N1 03-10 (no
    # answer, recorded same day); SMS C1 03-23 (recorded the next day); WeChat N1 03-12. 5 in all.
    assert rows == [
        {"contact_method": "call", "is_main_channel": True, "followups": 3, "contacts": 2,
         "attempts": 1, "share_of_followups": D("0.6000"), "followups_with_recorded_at": 2,
         "followups_recorded_same_day": 2, "recorded_same_day_rate": D("1.0000")},
        {"contact_method": "sms", "is_main_channel": False, "followups": 1, "contacts": 1,
         "attempts": 0, "share_of_followups": D("0.2000"), "followups_with_recorded_at": 1,
         "followups_recorded_same_day": 0, "recorded_same_day_rate": D("0.0000")},
        {"contact_method": "wechat", "is_main_channel": True, "followups": 1, "contacts": 1,
         "attempts": 0, "share_of_followups": D("0.2000"), "followups_with_recorded_at": 0,
         "followups_recorded_same_day": 0, "recorded_same_day_rate": None},
    ]  # fmt: skip

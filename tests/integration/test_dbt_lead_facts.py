"""Impossible durations, stage durations, re-enquiries, new lead facts (DESIGN.md §2, §3, §5).

One module-scoped fixture loads the hand-made dealer export below into a fresh warehouse and runs
``dbt build`` once; the tests read the result. Every expected figure is worked out by hand here.
One dealer, NB001 (Asia/Shanghai, UTC+8), group-default settings: clock_skew_minutes 10,
reenquiry_new_lead_days 90. 2026-03-02 is a Monday; March 2026 has no public holiday.

Stage durations, channel web, all won in March (days in potential / interested / needs_defined /
decision; "-" = skipped: no event at that stage before the next stage was reached -> NULL, not 0):
  S1 created 03-02 10:00: interested 03-03, needs_defined 03-05, decision 03-09, won 03-12 (10:00)
     -> 1 / 2 / 4 / 3, cycle 10. Won with amount "259,900.00", currency "cny"; model "Model Y".
  S2 created 03-02 10:00: interested 03-04, decision 03-06, won 03-07 -> 2 / 2 / - / 1, cycle 5.
     Won with amount "abc" (not a number: NULL).
  S3 created 03-03 10:00: won 03-05 straight away -> 2 / - / - / -, cycle 2.
  S4 created 03-03 10:00: interested 03-03 22:00, needs_defined 03-04 10:00, decision 03-10,
     won 03-20 -> 0.5 / 0.5 / 6 / 10, cycle 17.
  S5 created 03-04 10:00: interested 03-05, needs_defined 03-06, won 03-16 -> 1 / 1 / 10 / -,
     cycle 12.

Impossible durations, channel phone, all created Tue 03-10 10:00:
  A1 won 03-09 10:00                                  -> won_before_created
  A2 interested 09:55 (5 min early: clock skew, 0 days), decision 03-12 10:00, won 03-13 10:00
     -> not flagged: potential 0, interested 2 d 5 min, needs_defined skipped, decision 1, cycle 3
  A3 interested 03-10 09:00 (1 h early), won 03-15    -> stage_before_created
  A4 won 03-12 10:00, lost 03-20 10:00                -> lost_after_won
  A5 assigned 03-09 10:00                             -> assigned_before_created
  A6 assigned 03-10 11:00, first follow-up 03-09 10:00 -> contact_before_created
  A7 assigned Wed 03-11 10:00, first follow-up 03-10 12:00 (before the assignment, after creation)
     -> not flagged; 1 business day to assign, 0 (not -1) to first contact, SLA met.

Re-enquiries, channel walk_in, T = Sat 2026-01-10 10:00: four people, each with a first record
created 01-05 10:00 and closed at T, and a second record with the same phone:
  R89a lost at T (lost_reason " price too high " -> price, model "SUV Z");
       R89b at T + 89 d (model "Sedan X")
     -> same lead (key of R89a), model_of_interest "Sedan X" (the latest record's)
  R90a lost at T; R90b at T + 90 d exactly -> same lead: "more than 90 days" starts a new one
  R91a lost at T; R91b at T + 91 d -> a new lead, keyed by R91b, the person's 2nd lead
  RWa won at T (amount 189900 CNY); RWb at T + 91 d -> a new lead after a win
"""

from __future__ import annotations

import hashlib
import statistics
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import mart_fixtures as h
import psycopg
import pytest

pytestmark = pytest.mark.timeout(300)

SH = timezone(timedelta(hours=8))
D = Decimal
DEALER = "NB001"
T = datetime(2026, 1, 10, 10, 0, tzinfo=SH)


def sh(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def _iso(value: str | datetime) -> str:
    return value.isoformat() if isinstance(value, datetime) else f"{value}+08:00"


def _lead(lead_id, created, channel, assigned=None, phone=None, model=None):
    return {"lead_id": lead_id, "created_at": _iso(created),
            "assigned_at": _iso(assigned) if assigned else None, "channel": channel,
            "phone": phone, "model_of_interest": model}  # fmt: skip


def _event(lead_id, stage, at, **extra):
    return {"lead_id": lead_id, "stage": stage, "occurred_at": _iso(at), **extra}


def _followup(lead_id, at):
    return {"lead_id": lead_id, "occurred_at": _iso(at), "method": "call", "consultant": None}


# fmt: off
LEADS = [
    _lead("S1", "2026-03-02T10:00", "web", model="Model Y"),
    _lead("S2", "2026-03-02T10:00", "web"),
    _lead("S3", "2026-03-03T10:00", "web"),
    _lead("S4", "2026-03-03T10:00", "web"),
    _lead("S5", "2026-03-04T10:00", "web"),
    *[_lead(f"A{n}", "2026-03-10T10:00", "phone") for n in (1, 2, 3, 4)],
    _lead("A5", "2026-03-10T10:00", "phone", assigned="2026-03-09T10:00"),
    _lead("A6", "2026-03-10T10:00", "phone", assigned="2026-03-10T11:00"),
    _lead("A7", "2026-03-10T10:00", "phone", assigned="2026-03-11T10:00"),
    _lead("R89a", "2026-01-05T10:00", "walk_in", phone="13900000089", model="SUV Z"),
    _lead("R89b", T + timedelta(days=89), "walk_in", phone="139 0000 0089", model="Sedan X"),
    _lead("R90a", "2026-01-05T10:00", "walk_in", phone="13900000090"),
    _lead("R90b", T + timedelta(days=90), "walk_in", phone="+86 139 0000 0090"),
    _lead("R91a", "2026-01-05T10:00", "walk_in", phone="13900000091"),
    _lead("R91b", T + timedelta(days=91), "walk_in", phone="13900000091"),
    _lead("RWa", "2026-01-05T10:00", "walk_in", phone="13900000092"),
    _lead("RWb", T + timedelta(days=91), "walk_in", phone="13900000092"),
]
EVENTS = [
    _event("S1", "potential", "2026-03-02T10:00"),
    _event("S1", "interested", "2026-03-03T10:00"),
    _event("S1", "needs_defined", "2026-03-05T10:00"),
    _event("S1", "decision", "2026-03-09T10:00"),
    _event("S1", "won", "2026-03-12T10:00", amount="259,900.00", currency="cny"),
    _event("S2", "interested", "2026-03-04T10:00"),
    _event("S2", "decision", "2026-03-06T10:00"),
    _event("S2", "won", "2026-03-07T10:00", amount="abc"),
    _event("S3", "won", "2026-03-05T10:00"),
    _event("S4", "interested", "2026-03-03T22:00"),
    _event("S4", "needs_defined", "2026-03-04T10:00"),
    _event("S4", "decision", "2026-03-10T10:00"),
    _event("S4", "won", "2026-03-20T10:00"),
    _event("S5", "interested", "2026-03-05T10:00"),
    _event("S5", "needs_defined", "2026-03-06T10:00"),
    _event("S5", "won", "2026-03-16T10:00"),
    _event("A1", "won", "2026-03-09T10:00"),
    _event("A2", "interested", "2026-03-10T09:55"),
    _event("A2", "decision", "2026-03-12T10:00"),
    _event("A2", "won", "2026-03-13T10:00"),
    _event("A3", "interested", "2026-03-10T09:00"),
    _event("A3", "won", "2026-03-15T10:00"),
    _event("A4", "won", "2026-03-12T10:00"),
    _event("A4", "lost", "2026-03-20T10:00"),
    _event("R89a", "lost", T, lost_reason=" price too high "),
    _event("R90a", "lost", T),
    _event("R91a", "lost", T),
    _event("RWa", "won", T, amount="189900", currency="CNY"),
]
FOLLOWUPS = [
    _followup("A6", "2026-03-09T10:00"),
    _followup("A7", "2026-03-10T12:00"),
]
# fmt: on


def _load(conn: psycopg.Connection) -> None:
    h.insert_dealers(conn, [(DEALER, "Ningbo Motors", "East", "Aurora", "Asia/Shanghai", True)])
    for obj, rows in [("leads", LEADS), ("stage_events", EVENTS), ("followups", FOLLOWUPS)]:
        h.insert_export_file(conn, DEALER, obj, f"{obj}_1.csv", "2026-05-01T00:00:00Z", rows)


@pytest.fixture(scope="module")
def built(warehouse_url, tmp_path_factory):
    """The fixture loaded and ``dbt build`` run once; yields the database URL."""
    h.reset_warehouse(warehouse_url)
    with psycopg.connect(warehouse_url) as conn:
        _load(conn)
    with h.module_data_dir(tmp_path_factory):
        h.dbt_ok(["build"], warehouse_url)
    return warehouse_url


def _key(lead_id: str) -> str:
    return hashlib.md5(f"{DEALER}|dealer_export|{lead_id}".encode()).hexdigest()


def _leads(url: str) -> dict[str, dict]:
    return {r["source_lead_id"]: r for r in h.fetch_rows(url, "select * from marts.fct_leads")}


def _d4(value: float) -> Decimal:
    return round(D(str(value)), 4)


DURATIONS = (
    "cycle_days", "days_in_potential", "days_in_interested", "days_in_needs_defined",
    "days_in_decision", "business_days_to_assign", "business_days_to_first_contact",
)  # fmt: skip


# --- impossible durations ----------------------------------------------------------------------


def test_impossible_durations_are_flagged_kept_and_have_no_duration(built):
    leads = _leads(built)
    reasons = {lead: leads[lead]["anomaly_reason"] for lead in leads if lead.startswith("A")}
    assert reasons == {
        "A1": "won_before_created", "A2": None, "A3": "stage_before_created",
        "A4": "lost_after_won", "A5": "assigned_before_created",
        "A6": "contact_before_created", "A7": None,
    }  # fmt: skip
    for lead, reason in reasons.items():
        row = leads[lead]
        assert row["has_cycle_anomaly"] is (reason is not None), lead
        if reason:  # kept, every duration NULL
            assert {c: row[c] for c in DURATIONS} == dict.fromkeys(DURATIONS), lead
    # A1 is won (counted as won) although its won_at precedes created_at
    a1 = leads["A1"]
    assert (a1["is_won"], a1["won_at"] < a1["created_at"]) == (True, True)
    assert (leads["A4"]["is_won"], leads["A4"]["is_lost"]) == (True, False)
    # A2: an interested event 5 minutes before creation is clock skew: 0 days, not negative
    a2 = leads["A2"]
    assert (a2["cycle_days"], a2["days_in_potential"]) == (D("3.000000"), D("0.000000"))
    # interested 03-10 09:55 -> decision 03-12 10:00 = 2 days 5 minutes; needs_defined skipped
    assert a2["days_in_interested"] == round(D(2) + D(5) / D(1440), 6) == D("2.003472")
    assert (a2["days_in_needs_defined"], a2["days_in_decision"]) == (None, D("1.000000"))
    # A7: Tue 03-10 -> Wed 03-11 = 1 business day; contacted before the assignment: 0, SLA met
    a7 = leads["A7"]
    assert (a7["business_days_to_assign"], a7["business_days_to_first_contact"]) == (1, 0)
    assert a7["is_first_contact_sla_met"] is True


def test_flagged_leads_count_but_stay_out_of_the_cycle_figures(built):
    cohort = h.fetch_rows(
        built,
        "select leads_potential, leads_won from marts.mart_funnel_conversion"
        " where channel = 'phone' and period_grain = 'month' and period_start = '2026-03-01'",
    )
    # created in March: A1..A7; won: A1, A2, A3, A4 (flagged or not, all counted)
    assert cohort == [{"leads_potential": 7, "leads_won": 4}]
    [cycle] = h.fetch_rows(
        built,
        "select * from marts.mart_sales_cycle"
        " where channel = 'phone' and period_grain = 'month' and period_start = '2026-03-01'",
    )
    # won in March: A1 (03-09), A4 (03-12), A2 (03-13), A3 (03-15); flagged: A1, A3, A4;
    # every cycle and stage figure is A2's alone
    assert (cycle["won_in_period"], cycle["leads_with_cycle_anomaly"]) == (4, 3)
    assert (cycle["cycle_days_avg"], cycle["cycle_days_median"], cycle["cycle_days_p90"]) == (
        D("3.0000"), D("3.0000"), D("3.0000"),
    )  # fmt: skip
    assert cycle["days_in_potential_avg"] == D("0.0000")
    assert cycle["days_in_needs_defined_avg"] is None  # A2 skipped it


def test_no_mart_shows_a_negative_duration(built):
    # the planted anomaly is really there upstream: A1 won a day before it was created
    [raw] = h.fetch_rows(
        built,
        "select won_at - created_at as span from intermediate.int_leads_resolved"
        " inner join intermediate.int_stage_events_pivoted_to_leads using (lead_key)"
        " where source_lead_id = 'A1'",
    )
    assert raw["span"] == timedelta(days=-1)
    columns = h.fetch_rows(
        built,
        "select table_name, column_name from information_schema.columns"
        " where table_schema = 'marts'"
        " and data_type in ('numeric', 'integer', 'bigint', 'smallint', 'double precision', 'real')"
        " and (position('days' in column_name) > 0 or position('hours' in column_name) > 0)"
        " order by table_name, column_name",
    )
    scanned = {(c["table_name"], c["column_name"]) for c in columns}
    assert {
        ("fct_leads", "cycle_days"), ("fct_leads", "days_in_decision"),
        ("fct_leads", "business_days_to_first_contact"), ("mart_sales_cycle", "cycle_days_avg"),
        ("mart_sales_cycle", "days_in_decision_p90"),
    } <= scanned  # fmt: skip
    negatives = {}
    with psycopg.connect(built) as conn:
        for table, column in sorted(scanned):
            query = f'select count(*) from marts."{table}" where "{column}" < 0'
            count = conn.execute(query).fetchone()[0]
            if count:
                negatives[(table, column)] = count
    assert negatives == {}


# --- stage durations ---------------------------------------------------------------------------

# days in potential / interested / needs_defined / decision per lead, None = skipped (see above)
STAGE_DAYS = {
    "S1": (1, 2, 4, 3),
    "S2": (2, 2, None, 1),
    "S3": (2, None, None, None),
    "S4": (0.5, 0.5, 6, 10),
    "S5": (1, 1, 10, None),
}
STAGES = ("potential", "interested", "needs_defined", "decision")


def test_a_skipped_stage_is_null_not_zero(built):
    leads = _leads(built)
    for lead, expected in STAGE_DAYS.items():
        actual = tuple(leads[lead][f"days_in_{stage}"] for stage in STAGES)
        assert actual == tuple(
            None if days is None else round(D(str(days)), 6) for days in expected
        ), lead


def test_stage_statistics_leave_skipped_stages_out(built):
    [row] = h.fetch_rows(
        built,
        "select * from marts.mart_sales_cycle"
        " where channel = 'web' and period_grain = 'month' and period_start = '2026-03-01'",
    )
    cycles = [10, 5, 2, 17, 12]
    assert row["won_in_period"] == 5
    assert (row["cycle_days_avg"], row["cycle_days_median"], row["cycle_days_p90"]) == (
        _d4(statistics.mean(cycles)), _d4(statistics.median(cycles)),
        _d4(h.percentile_cont(cycles, 0.9)),
    )  # fmt: skip
    for index, stage in enumerate(STAGES):
        spent = [days[index] for days in STAGE_DAYS.values() if days[index] is not None]
        assert (
            row[f"days_in_{stage}_avg"], row[f"days_in_{stage}_median"], row[f"days_in_{stage}_p90"]
        ) == (
            _d4(statistics.mean(spent)), _d4(statistics.median(spent)),
            _d4(h.percentile_cont(spent, 0.9)),
        ), stage  # fmt: skip
    # by hand: decision spent by S1, S2, S4 only: [1, 3, 10] -> avg 14/3, median 3,
    # p90 at 1.8: 3 + 0.8 * 7 = 8.6 (counting S3 and S5 as 0 would give a median of 1)
    assert (row["days_in_decision_avg"], row["days_in_decision_median"]) == (
        D("4.6667"), D("3.0000"),
    )  # fmt: skip
    assert row["days_in_decision_p90"] == D("8.6000")
    # needs_defined spent by S1, S4, S5: [4, 6, 10] -> median 6 (with S2, S3 as 0: 4)
    assert row["days_in_needs_defined_median"] == D("6.0000")


# --- re-enquiries ------------------------------------------------------------------------------


def test_reenquiry_window_boundaries(built):
    records = {
        r["source_lead_id"]: r
        for r in h.fetch_rows(
            built,
            "select source_lead_id, lead_key, person_key, person_lead_number, lead_record_count"
            " from intermediate.int_lead_records_matched_to_leads"
            " where left(source_lead_id, 1) = 'R'",
        )
    }
    # 89 and exactly 90 days after the loss: the same lead, keyed by the first record as before
    for person in ("R89", "R90"):
        first, second = records[f"{person}a"], records[f"{person}b"]
        assert first["lead_key"] == second["lead_key"] == _key(f"{person}a"), person
        assert second["lead_record_count"] == 2 and second["person_lead_number"] == 1
    # 91 days after a loss, and 91 days after a win: a new lead of the same person
    for person in ("R91", "RW"):
        first, second = records[f"{person}a"], records[f"{person}b"]
        assert first["lead_key"] == _key(f"{person}a"), person
        assert second["lead_key"] == _key(f"{person}b"), person
        assert second["person_key"] == first["person_key"] == _key(f"{person}a")
        assert (first["person_lead_number"], second["person_lead_number"]) == (1, 2)
        assert first["lead_record_count"] == second["lead_record_count"] == 1

    leads = _leads(built)
    walk_in = sorted(lead for lead, row in leads.items() if row["channel"] == "walk_in")
    assert walk_in == ["R89a", "R90a", "R91a", "R91b", "RWa", "RWb"]
    # the old lead stays lost / won; the new one starts afresh at its own creation
    assert (leads["R91a"]["current_stage"], leads["RWa"]["current_stage"]) == ("lost", "won")
    r91b = leads["R91b"]
    assert (r91b["created_at"], r91b["current_stage"], r91b["lost_at"]) == (
        T + timedelta(days=91), "potential", None,
    )  # fmt: skip
    assert (leads["R89a"]["lead_record_count"], leads["R89a"]["current_stage"]) == (2, "lost")


# --- new lead facts ----------------------------------------------------------------------------


def test_model_amount_and_lost_reason_reach_fct_leads(built):
    leads = _leads(built)
    s1 = leads["S1"]
    assert (s1["model_of_interest"], s1["amount"], s1["currency"]) == (
        "Model Y", D("259900.00"), "CNY",
    )  # fmt: skip
    # "abc" is not an amount: NULL, the lead still won
    assert (leads["S2"]["amount"], leads["S2"]["is_won"]) == (None, True)
    assert (leads["RWa"]["amount"], leads["RWa"]["currency"]) == (D("189900"), "CNY")
    # R89a + R89b: the latest record's model; the lost event's reason, canonical (seed
    # lost_reason_mapping: "price too high" -> price) and as the source wrote it, trimmed
    r89 = leads["R89a"]
    assert (r89["model_of_interest"], r89["lost_reason"], r89["lost_reason_text"]) == (
        "Sedan X", "price", "price too high",
    )  # fmt: skip
    s3 = leads["S3"]
    assert (s3["model_of_interest"], s3["lost_reason"], s3["lost_reason_text"]) == (None,) * 3

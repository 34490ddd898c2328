"""Mart checks live once: what dbt asserts on a mart is not repeated in the GX mart suites.

Every check that was removed from ``expectations/mart_*.yml`` because dbt already asserts it is
listed below with the dbt test or enforced contract that asserts it (same or stronger), so no
assertion is lost silently; and no GX mart suite repeats a dbt check again. Within dbt, a column
the enforced contract declares not null has no not_null test: PostgreSQL refuses the null.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from dealerfunnel.quality.gates import load_suite_specs

ROOT = Path(__file__).resolve().parents[3]
MARTS = ROOT / "dbt_project" / "models" / "marts"


def _models() -> dict[str, dict[str, Any]]:
    models: dict[str, dict[str, Any]] = {}
    for path in sorted(MARTS.glob("_marts__*.yml")):
        for model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models", []):
            models[model["name"]] = model
    return models


MODELS = _models()


def _column(model: str, column: str) -> dict[str, Any]:
    (found,) = [c for c in MODELS[model]["columns"] if c["name"] == column]
    return found


def _tests(entry: dict[str, Any]) -> dict[str, Any]:
    """{test name: its arguments} of a model's or a column's data_tests."""
    out: dict[str, Any] = {}
    for test in entry.get("data_tests", []):
        if isinstance(test, str):
            out[test] = {}
        else:
            ((name, body),) = test.items()
            out[name] = (body or {}).get("arguments", {})
    return out


def _constrained_not_null(model: str, column: str) -> bool:
    """The contract (enforced) declares the column not null: PostgreSQL refuses a null."""
    constraints = _column(model, column).get("constraints", [])
    return MODELS[model]["config"]["contract"]["enforced"] is True and any(
        c.get("type") == "not_null" for c in constraints
    )


def _primary_key(model: str, column: str) -> bool:
    """The contract (enforced) makes the column alone the primary key: PostgreSQL refuses a
    duplicate."""
    constraints = MODELS[model].get("constraints", [])
    return MODELS[model]["config"]["contract"]["enforced"] is True and any(
        c.get("type") == "primary_key" and c.get("columns") == [column] for c in constraints
    )


def _in_order(columns: list[str], earlier: str, later: str) -> bool:
    return earlier in columns and later in columns and columns.index(earlier) < columns.index(later)


def assert_dbt_asserts(model: str, kind: str, *args: Any) -> None:
    if kind == "contract":  # column presence and types
        assert MODELS[model]["config"]["contract"]["enforced"] is True
        names = {c["name"] for c in MODELS[model]["columns"]}
        assert set(args[0]) <= names
        assert all("data_type" in c for c in MODELS[model]["columns"])
    elif kind == "not_null":
        column = args[0]
        assert "not_null" in _tests(_column(model, column)) or _constrained_not_null(model, column)
    elif kind == "unique":
        assert "unique" in _tests(_column(model, args[0])) or _primary_key(model, args[0])
    elif kind == "accepted_values":
        assert set(_tests(_column(model, args[0]))["accepted_values"]["values"]) == set(args[1])
    elif kind == "range":  # dbt's range is the same or narrower
        column, low, high = args
        found = _tests(_column(model, column))["accepted_range"]
        assert found["min_value"] >= low
        assert high is None or found["max_value"] <= high
    elif kind == "unique_combination_of_columns":
        found = _tests(MODELS[model])[kind]["combination_of_columns"]
        assert set(found) == set(args[0])
    elif kind in ("not_increasing_along", "reached_in_order"):
        assert _in_order(_tests(MODELS[model])[kind]["columns"], *args)
    else:  # pragma: no cover - a typo in the table below
        raise AssertionError(kind)


FUNNEL = ["leads_potential", "leads_interested", "leads_needs_defined", "leads_decision"]
# (mart, kind, arguments): the GX checks removed from the mart suites, and what dbt asserts instead.
# fmt: off
REMOVED_FROM_GX = [
    # mart_dim_dealerships
    ("dim_dealerships", "contract",
     ["dealer_code", "dealer_name", "region", "brand", "timezone", "is_registered"]),
    ("dim_dealerships", "unique", "dealer_code"),
    ("dim_dealerships", "not_null", "dealer_code"),
    ("dim_dealerships", "not_null", "timezone"),
    # mart_fct_leads
    ("fct_leads", "contract",
     ["lead_key", "dealer_code", "source_system", "source_lead_id", "channel", "campaign",
      "consultant", "grade", "created_at", "assigned_at", "first_contact_at", "interested_at",
      "needs_defined_at", "decision_at", "won_at", "lost_at", "current_stage", "is_won",
      "is_lost", "cycle_days", "business_days_to_assign", "business_days_to_first_contact",
      "is_assignment_sla_met", "is_first_contact_sla_met"]),
    ("fct_leads", "unique", "lead_key"),
    ("fct_leads", "not_null", "lead_key"),
    ("fct_leads", "unique_combination_of_columns",
     ["dealer_code", "source_system", "source_lead_id"]),
    ("fct_leads", "not_null", "channel"),
    ("fct_leads", "not_null", "created_at"),
    ("fct_leads", "accepted_values", "current_stage",
     ["potential", "interested", "needs_defined", "decision", "won", "lost"]),
    ("fct_leads", "reached_in_order", "decision_at", "won_at"),
    ("fct_leads", "reached_in_order", "needs_defined_at", "decision_at"),
    ("fct_leads", "reached_in_order", "interested_at", "needs_defined_at"),
    # mart_funnel_conversion
    ("mart_funnel_conversion", "contract",
     ["dealer_code", "channel", "period_grain", "period_start", *FUNNEL, "leads_won",
      "leads_lost", "rate_potential_to_interested", "rate_interested_to_needs_defined",
      "rate_needs_defined_to_decision", "rate_decision_to_won", "rate_lead_to_won"]),
    ("mart_funnel_conversion", "unique_combination_of_columns",
     ["dealer_code", "channel", "period_grain", "period_start"]),
    ("mart_funnel_conversion", "accepted_values", "period_grain",
     ["week", "month", "quarter", "year"]),
    ("mart_funnel_conversion", "not_null", "channel"),
    ("mart_funnel_conversion", "not_null", "period_start"),
    ("mart_funnel_conversion", "range", "leads_potential", 0, None),
    ("mart_funnel_conversion", "not_increasing_along", "leads_potential", "leads_interested"),
    ("mart_funnel_conversion", "not_increasing_along", "leads_interested", "leads_needs_defined"),
    ("mart_funnel_conversion", "not_increasing_along", "leads_needs_defined", "leads_decision"),
    ("mart_funnel_conversion", "not_increasing_along", "leads_decision", "leads_won"),
    ("mart_funnel_conversion", "range", "rate_potential_to_interested", 0, 1),
    ("mart_funnel_conversion", "range", "rate_interested_to_needs_defined", 0, 1),
    ("mart_funnel_conversion", "range", "rate_needs_defined_to_decision", 0, 1),
    ("mart_funnel_conversion", "range", "rate_decision_to_won", 0, 1),
    ("mart_funnel_conversion", "range", "rate_lead_to_won", 0, 1),
    # mart_sales_cycle
    ("mart_sales_cycle", "contract",
     ["dealer_code", "channel", "period_grain", "period_start", "won_in_period", "cycle_days_avg",
      "cycle_days_median", "cycle_days_p90"]),
    ("mart_sales_cycle", "unique_combination_of_columns",
     ["dealer_code", "channel", "period_grain", "period_start"]),
    ("mart_sales_cycle", "accepted_values", "period_grain", ["week", "month", "quarter", "year"]),
    ("mart_sales_cycle", "range", "won_in_period", 0, None),
    ("mart_sales_cycle", "range", "cycle_days_avg", 0, None),
    # mart_sla_compliance
    ("mart_sla_compliance", "contract",
     ["dealer_code", "consultant", "week_start", "assignments_due", "assignments_met",
      "first_contacts_due", "first_contacts_met"]),
    ("mart_sla_compliance", "not_null", "dealer_code"),
    ("mart_sla_compliance", "unique_combination_of_columns",
     ["dealer_code", "responsible_role", "responsible", "week_start"]),
    # mart_channel_roi
    ("mart_channel_roi", "contract",
     ["dealer_code", "channel", "campaign", "spend", "leads", "leads_won", "cost_per_lead",
      "cost_per_won"]),
    ("mart_channel_roi", "not_null", "channel"),
    ("mart_channel_roi", "range", "spend", 0, None),
    # mart_consultant_scorecard
    ("mart_consultant_scorecard", "contract",
     ["dealer_code", "consultant", "leads_assigned", "leads_won", "win_rate", "cycle_days_avg"]),
    ("mart_consultant_scorecard", "not_null", "dealer_code"),
    ("mart_consultant_scorecard", "range", "win_rate", 0, 1),
    # leads_assigned >= leads_won: the chain leads_assigned >= ... >= leads_won, nulls failing
    ("mart_consultant_scorecard", "not_increasing_along", "leads_assigned", "leads_won"),
    # mart_post_sale_followups (GX suite deleted: every check is dbt's)
    ("mart_post_sale_followups", "contract",
     ["dealer_code", "lead_key", "due_at", "done_at", "is_on_time"]),
    ("mart_post_sale_followups", "not_null", "dealer_code"),
    # mart_group_overview (GX suite deleted: every check is dbt's)
    ("mart_group_overview", "contract",
     ["region", "brand", "period_grain", "period_start", *FUNNEL, "leads_won"]),
    ("mart_group_overview", "not_increasing_along", "leads_potential", "leads_won"),
]
# fmt: on


@pytest.mark.parametrize(
    ("model", "kind", "args"),
    [(m, k, a) for m, k, *a in REMOVED_FROM_GX],
    ids=[f"{m}-{k}-{a[0] if isinstance(a[0], str) else len(a[0])}" for m, k, *a in REMOVED_FROM_GX],
)
def test_dbt_asserts_what_the_gx_mart_suites_no_longer_do(model, kind, args):
    assert_dbt_asserts(model, kind, *args)


# GX expectation -> the dbt test kind that makes it a repeat on a contract-enforced mart.
REPEATS = {
    "expect_table_columns_to_match_set": None,  # always a repeat: the contract lists columns
    "expect_column_values_to_not_be_null": "not_null",
    "expect_column_values_to_be_unique": "unique",
    "expect_column_values_to_be_in_set": "accepted_values",
}


def test_no_gx_mart_suite_repeats_a_dbt_check():
    for spec in load_suite_specs():
        if spec.schema != "marts":
            continue
        assert MODELS[spec.table]["config"]["contract"]["enforced"] is True
        for exp in spec.expectations:
            kind = exp["type"]
            assert kind != "expect_table_columns_to_match_set", spec.name
            if kind in REPEATS and "mostly" not in exp["kwargs"]:
                column = _column(spec.table, exp["kwargs"]["column"])
                assert REPEATS[kind] not in _tests(column), (spec.name, exp)
                if REPEATS[kind] == "not_null":
                    assert not _constrained_not_null(spec.table, column["name"]), (spec.name, exp)
                if REPEATS[kind] == "unique":
                    assert not _primary_key(spec.table, column["name"]), (spec.name, exp)


def test_no_mart_column_tests_what_its_contract_enforces():
    """A not_null test of a column the enforced contract declares not null can never fail (the
    table refuses the row): it would only cost a scan of the table in every build (issue #13)."""
    doubled = [
        (model, column["name"])
        for model, spec in MODELS.items()
        for column in spec["columns"]
        if _constrained_not_null(model, column["name"]) and "not_null" in _tests(column)
    ]
    constrained = [
        (model, column["name"])
        for model, spec in MODELS.items()
        for column in spec["columns"]
        if _constrained_not_null(model, column["name"])
    ]
    assert len(constrained) > 100 and doubled == []

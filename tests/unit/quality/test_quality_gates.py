"""Gate result bookkeeping and suite planning, without a database or Great Expectations run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from dealerfunnel.quality import gates
from dealerfunnel.quality.gates import CheckFailure, GateResult, SuiteSpec, check_key


def _failure(severity: str) -> CheckFailure:
    return CheckFailure(
        source="gx",
        suite="s",
        expectation="expect_x",
        check_name="s: expect_x(a)",
        check_key=check_key("gx", "s", "expect_x", {"column": "a"}),
        kwargs={"column": "a"},
        severity=severity,
        observed=1,
    )


def test_failures_are_stored_as_dicts_by_severity():
    result = GateResult(success=True)
    result.add_failure(_failure("warning"))
    assert result.success and result.warnings[0]["kwargs"] == {"column": "a"}
    result.add_failure(_failure("blocking").as_dict())
    assert not result.success and result.blocking_failures[0]["severity"] == "blocking"
    merged = GateResult(success=True, evaluated=2).merge(result)
    assert not merged.success and len(merged.warnings) == 1 and merged.evaluated == 2
    assert set(merged.as_dict()) == {
        "success", "blocking_failures", "warnings", "evaluated", "data_docs_index", "skipped",
        "infos",
    }  # fmt: skip
    # info: an expected condition, reported only (no failure, no warning, no alert)
    merged.add_failure(_failure("info"))
    assert len(merged.infos) == 1 and len(merged.warnings) == 1


def test_check_key_ignores_batch_id_and_describe_check():
    assert check_key("gx", "s", "n", {"column": "a", "batch_id": "x"}) == check_key(
        "gx", "s", "n", {"column": "a"}
    )
    assert gates.describe_check("expect_x", {"column_A": "a", "column_B": "b"}) == (
        "expect_x(a, b)"
    )
    assert gates.describe_check("expect_table_row_count_to_be_between", {}) == (
        "expect_table_row_count_to_be_between"
    )


def _spec(name: str, *, required: bool = True, skip_when_empty: bool = False) -> SuiteSpec:
    expectations = [
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}},
    ]
    return SuiteSpec(
        name, "marts", name, expectations, Path(f"{name}.yml"), required, skip_when_empty
    )


def test_plan_suites_maps_schemas_and_handles_missing_and_empty_tables(monkeypatch):
    state = {
        ("cand", "present"): 1,
        ("cand", "missing_required"): None,
        ("cand", "missing_optional"): None,
        ("cand", "empty"): 0,
    }
    seen = {}

    def fake_state(url, tables):
        seen["tables"] = tables
        return {t: state[t] for t in tables}

    monkeypatch.setattr(gates, "_table_state", fake_state)
    specs = [
        _spec("present"),
        _spec("missing_required"),
        _spec("missing_optional", required=False),
        _spec("empty", skip_when_empty=True),
    ]
    result = GateResult(success=True)
    runs = gates.plan_suites("postgresql://x", specs, {"marts": "cand"}, result)
    assert seen["tables"] == set(state)
    assert [(r.spec.name, r.qualified_table, len(r.expectations)) for r in runs] == [
        ("present", "cand.present", 2),
        ("empty", "cand.empty", 1),
    ]
    assert not result.success
    assert result.blocking_failures[0]["check_name"] == "table cand.missing_required exists"
    assert [s["reason"] for s in result.skipped] == [
        "table missing",
        "table empty: 1 row-level expectations not run",
    ]


def test_relative_times_resolve():
    now = datetime(2026, 1, 2, tzinfo=UTC)
    assert gates.resolve_kwargs({"min_value": "now-1d", "column": "now_x"}, now) == {
        "min_value": "2026-01-01T00:00:00+00:00",
        "column": "now_x",
    }


def test_observed_lists_the_values_of_a_distinct_value_expectation():
    # an aggregate expectation: its observed value
    assert gates._observed({"observed_value": 12, "unexpected_count": 3}) == 12
    # a map expectation: the share of unexpected rows, not its sample
    assert gates._observed({"unexpected_percent": 25.0, "partial_unexpected_list": ["E"]}) == 25.0
    # a distinct-value expectation (observed_value None, no percent): the values themselves,
    # sorted (GX lists them in no set order)
    listed = {"observed_value": None, "unexpected_count": 2, "partial_unexpected_list": ["b", "a"]}
    assert gates._observed(listed) == "a; b"
    # GX lists at most 20: the rest are counted (23 unexpected - 20 listed = 3 more)
    values = [f"v{i:02d}" for i in reversed(range(20))]
    capped = {"unexpected_count": 23, "partial_unexpected_list": values}
    assert gates._observed(capped) == "; ".join(sorted(values)) + "; and 3 more"
    assert gates._observed(capped).startswith("v00; v01;")
    assert gates._observed({"unexpected_count": 0, "partial_unexpected_list": []}) == 0
    assert gates._observed({}) is None

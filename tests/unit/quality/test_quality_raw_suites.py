"""Raw checks live once: what dbt's source tests assert on a raw table is not repeated in the
GX raw suites (issue #13: the raw gate runs before every build, so a repeat costs every run).

The checks removed from ``expectations/raw_*.yml`` are listed below with the dbt source test
that asserts the same thing (``dbt_project/models/staging/*/_*__sources.yml``; severity error,
so blocking in ``dbt build``, before anything is published). The raw tables' NOT NULL columns
assert the not_null ones a third time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from dealerfunnel.quality.gates import load_suite_specs

ROOT = Path(__file__).resolve().parents[3]


def _source_tests() -> dict[tuple[str, str], dict[str, Any]]:
    """{(raw table, column): {dbt test: arguments}} of every source, error severity only."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted((ROOT / "dbt_project" / "models" / "staging").glob("*/_*__sources.yml")):
        for source in yaml.safe_load(path.read_text(encoding="utf-8")).get("sources", []):
            for table in source.get("tables", []):
                for column in table.get("columns") or []:
                    for test in column.get("data_tests") or []:
                        name = test if isinstance(test, str) else next(iter(test))
                        body = {} if isinstance(test, str) else (test[name] or {})
                        if (body.get("config") or {}).get("severity", "error") != "error":
                            continue
                        key = (table["name"], column["name"])
                        out.setdefault(key, {})[name] = body.get("arguments", body)
    return out


SOURCE_TESTS = _source_tests()

# (raw table, column, GX expectation) removed from the raw suites -> the dbt source test
REMOVED = {
    ("dealer_export__leads", "lead_id", "not_null"): "not_null",
    ("dealer_export__leads", "created_at", "not_null"): "not_null",
    ("dealer_export__leads", "_dealer_code", "not_null"): "not_null",
    ("dealer_export__stage_events", "lead_id", "not_null"): "not_null",
    ("dealer_export__stage_events", "occurred_at", "not_null"): "not_null",
    ("dealer_export__stage_events", "stage", "in_set"): "accepted_values",
    ("dealer_export__followups", "lead_id", "not_null"): "not_null",
    ("dealer_export__followups", "occurred_at", "not_null"): "not_null",
    ("dealer_export__activities", "lead_id", "not_null"): "not_null",
    ("dealer_export__activities", "occurred_at", "not_null"): "not_null",
    ("dealer_export__activities", "activity", "in_set"): "accepted_values",
    ("dealer_export__surveys", "lead_id", "not_null"): "not_null",
    ("dealer_export__surveys", "occurred_at", "not_null"): "not_null",
    ("dealer_export__surveys", "score", "not_null"): "not_null",
    ("dealer_export__surveys", "kind", "in_set"): "accepted_values",
    ("dealer_export__targets", "month", "not_null"): "not_null",
    ("dealer_export__targets", "target", "not_null"): "not_null",
    ("dealer_export__targets", "metric", "in_set"): "accepted_values",
    ("google_ads__campaign_costs", "_dealer_code", "not_null"): "not_null",
    ("google_ads__lead_form_submissions", "_dealer_code", "not_null"): "not_null",
    ("meta__insights", "_dealer_code", "not_null"): "not_null",
    ("meta__leads", "_dealer_code", "not_null"): "not_null",
}


@pytest.mark.parametrize(("table", "column", "check"), sorted(REMOVED))
def test_a_removed_raw_check_is_asserted_by_a_dbt_source_test(table, column, check):
    assert REMOVED[(table, column, check)] in SOURCE_TESTS.get((table, column), {})


def test_no_raw_suite_repeats_a_dbt_source_test():
    kinds = {
        "expect_column_values_to_not_be_null": "not_null",
        "expect_column_values_to_be_in_set": "accepted_values",
    }
    repeated = []
    for spec in load_suite_specs():
        if spec.schema != "raw":
            continue
        for exp in spec.expectations:
            kwargs = exp.get("kwargs") or {}
            test = kinds.get(exp["type"])
            if test is None or "mostly" in kwargs or exp.get("severity") in ("warning", "info"):
                continue  # a partial or report-only check is not what dbt asserts
            dbt = SOURCE_TESTS.get((spec.table, kwargs.get("column")), {})
            if test in dbt and (
                test == "not_null" or sorted(dbt[test]["values"]) == sorted(kwargs["value_set"])
            ):
                repeated.append((spec.name, exp["type"], kwargs.get("column")))
    assert repeated == []

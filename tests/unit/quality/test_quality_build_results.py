"""dbt's run_results.json and sources.json classified into gate failures by config/quality.yml."""

from __future__ import annotations

import json
from pathlib import Path

from dealerfunnel.quality.build_results import run_results_gate
from dealerfunnel.quality.config import QualityConfig


def _write(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_failing_tests_and_model_errors_become_failures(tmp_path):
    path = _write(
        tmp_path / "run_results.json",
        {
            "results": [
                {"unique_id": "test.dealer_funnel.not_null_fct_leads_lead_key.5c3e",
                 "status": "fail", "failures": 3},
                {"unique_id": "test.dealer_funnel.accepted_range_x.1", "status": "warn",
                 "failures": 1},
                {"unique_id": "model.dealer_funnel.fct_leads", "status": "error",
                 "message": "boom"},
                {"unique_id": "model.dealer_funnel.dim_dealerships", "status": "success"},
                {"unique_id": "unit_test.dealer_funnel.fct_leads.t", "status": "pass"},
            ]
        },
    )  # fmt: skip
    result = run_results_gate(path, QualityConfig())
    assert result.evaluated == 5
    assert not result.success
    blocking = {f["expectation"]: f for f in result.blocking_failures}
    assert set(blocking) == {"not_null_fct_leads_lead_key", "fct_leads"}
    failed_test = blocking["not_null_fct_leads_lead_key"]
    assert failed_test["source"] == "dbt_test" and failed_test["observed"] == 3
    assert failed_test["check_key"] == (
        "dbt_test:test.dealer_funnel.not_null_fct_leads_lead_key.5c3e"
    )
    assert blocking["fct_leads"]["source"] == "dbt_model"
    assert blocking["fct_leads"]["observed"] == "boom"
    assert [w["expectation"] for w in result.warnings] == ["accepted_range_x"]
    assert list(failed_test) == [
        "source", "suite", "expectation", "check_name", "check_key", "kwargs", "severity",
        "observed",
    ]  # fmt: skip


def test_ignored_status_and_missing_file(tmp_path):
    config = QualityConfig(dbt_tests={"fail": "ignore", "warn": "ignore", "error": "ignore"})
    path = _write(
        tmp_path / "run_results.json",
        {"results": [{"unique_id": "test.p.t.1", "status": "fail", "failures": 1}]},
    )
    assert run_results_gate(path, config).success
    missing = run_results_gate(tmp_path / "nope.json", QualityConfig())
    assert not missing.success
    assert missing.blocking_failures[0]["check_key"] == "gate:dbt:run_results"

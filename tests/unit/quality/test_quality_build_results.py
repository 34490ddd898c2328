"""dbt's run_results.json and sources.json classified into gate failures by config/quality.yml."""

from __future__ import annotations

import json
from pathlib import Path

from dealerfunnel.quality.build_results import freshness_gate, run_results_gate
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


def test_freshness_gate(tmp_path):
    path = _write(
        tmp_path / "sources.json",
        {
            "results": [
                {"unique_id": "source.dealer_funnel.meta.meta__leads", "status": "warn",
                 "max_loaded_at_time_ago_in_s": 3 * 86400, "criteria": {"warn_after": {}}},
                {"unique_id": "source.dealer_funnel.meta.meta__insights", "status": "pass"},
                {"unique_id": "source.dealer_funnel.hubspot.hubspot__deals",
                 "status": "runtime error", "error": "relation missing"},
            ]
        },
    )  # fmt: skip
    result = freshness_gate(path, QualityConfig())
    assert result.evaluated == 3 and result.success  # freshness is warning by default
    by_key = {w["check_key"]: w for w in result.warnings}
    stale = by_key["dbt_freshness:source.dealer_funnel.meta.meta__leads"]
    assert stale["observed"] == "72.0h since last load"
    assert stale["kwargs"]["source"] == "meta.meta__leads"
    assert by_key["dbt_freshness:source.dealer_funnel.hubspot.hubspot__deals"]["observed"] == (
        "relation missing"
    )


def test_freshness_gate_skips_sources_not_configured(tmp_path):
    """A run with only files configured: the empty API sources are not stale, just unused."""
    path = _write(
        tmp_path / "sources.json",
        {
            "results": [
                {"unique_id": "source.dealer_funnel.meta.meta__leads",
                 "status": "runtime error", "error": "no rows"},
                {"unique_id": "source.dealer_funnel.hubspot.hubspot__deals", "status": "error",
                 "max_loaded_at_time_ago_in_s": 900 * 86400},
                {"unique_id": "source.dealer_funnel.dealer_export.dealer_export__leads",
                 "status": "warn", "max_loaded_at_time_ago_in_s": 3 * 86400},
            ]
        },
    )  # fmt: skip
    result = freshness_gate(path, QualityConfig(), configured={"dealer_export"})
    assert result.evaluated == 1
    assert [w["check_key"] for w in result.warnings] == [
        "dbt_freshness:source.dealer_funnel.dealer_export.dealer_export__leads"
    ]
    only_files = freshness_gate(path, QualityConfig(), configured={"dealer_export", "x"})
    assert not any("meta" in w["check_key"] for w in only_files.warnings)


def test_freshness_gate_without_sources_json(tmp_path):
    result = freshness_gate(tmp_path / "sources.json", QualityConfig())
    assert result.success
    assert [w["check_key"] for w in result.warnings] == ["dbt_freshness:sources_json"]
    silent = QualityConfig(source_freshness={"runtime error": "ignore"})
    assert freshness_gate(tmp_path / "sources.json", silent).warnings == []

"""Great Expectations really validates warehouse tables; blocking vs warning severities."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from dealerfunnel.quality import QualityGateFailed, load_suite_specs, run_gate
from dealerfunnel.quality.tasks import finish_gate
from dealerfunnel.settings import ConfigError


def gate(suites: list[str], *, checkpoint_name: str, url: str) -> dict:
    """Run a gate the way the DAG tasks do: validate, record, raise on blocking."""
    result = run_gate(url, suites, checkpoint_name=checkpoint_name)
    return finish_gate(url, checkpoint_name, result)


def _insert_leads(url: str, rows: list[tuple[str, str | None, bool]]) -> None:
    """(lead_id, assigned_at or None, duplicate row number?) into raw.dealer_export__leads."""
    batch = uuid.uuid4()
    with (
        psycopg.connect(url) as conn,
        conn.cursor().copy(
            "copy raw.dealer_export__leads (lead_id, created_at, assigned_at, payload,"
            " _dealer_code, _source, _batch_id, _extracted_at, _file_name, _file_sha256,"
            " _row_number) from stdin"
        ) as copy,
    ):
        for i, (lead_id, assigned, _dup) in enumerate(rows, start=1):
            copy.write_row(
                (
                    lead_id,
                    "2026-05-04T01:00:00Z",
                    assigned,
                    "{}",
                    "SH001",
                    "dealer_export",
                    batch,
                    datetime.now(UTC),
                    "leads.csv",
                    "abc",
                    i,
                )
            )


def test_clean_table_passes_and_builds_data_docs(clean_warehouse, data_dir):
    _insert_leads(clean_warehouse, [(f"L{i}", "2026-05-04T02:00:00Z", False) for i in range(10)])
    result = run_gate(clean_warehouse, ["raw_dealer_export__leads"], checkpoint_name="t_clean")
    assert result.success
    assert result.blocking_failures == [] and result.warnings == []
    assert result.evaluated == 5  # the suite's 5 expectations (not_null ones are dbt's)
    index = Path(result.data_docs_index.removeprefix("file://"))
    assert index.exists() and index.is_relative_to(data_dir)


def test_info_only_reports_and_blocking_fails(clean_warehouse, data_dir):
    # 5 of 10 unassigned: the info expectation (mostly 0.8; assigned_at is optional) fails:
    # reported, not a warning (no alert); nothing blocking does.
    _insert_leads(
        clean_warehouse,
        [(f"L{i}", None if i % 2 else "2026-05-04T02:00:00Z", False) for i in range(10)],
    )
    result = run_gate(clean_warehouse, ["raw_dealer_export__leads"], checkpoint_name="t_warn")
    assert result.success and result.warnings == []
    assert [w["kwargs"]["column"] for w in result.infos] == ["assigned_at"]
    assert result.infos[0]["observed"] == pytest.approx(50.0)

    # An empty table breaks the blocking row-count expectation: the gate task raises.
    with psycopg.connect(clean_warehouse, autocommit=True) as conn:
        conn.execute("truncate raw.dealer_export__leads")
    with pytest.raises(QualityGateFailed, match="expect_table_row_count_to_be_between"):
        gate(["raw_dealer_export__leads"], checkpoint_name="t_block", url=clean_warehouse)


def test_missing_mart_is_skipped_and_empty_api_table_runs_table_checks(clean_warehouse, data_dir):
    # mart_sales_cycle is not built yet (required: false); raw.meta__leads exists but is empty
    # (skip_when_empty: only the column-set and row-count expectations run).
    result = run_gate(
        clean_warehouse, ["mart_sales_cycle", "raw_meta__leads"], checkpoint_name="t_skip"
    )
    assert result.success and result.evaluated == 2
    reasons = {s["suite"]: s["reason"] for s in result.skipped}
    assert reasons["mart_sales_cycle"] == "table missing"
    assert reasons["raw_meta__leads"].startswith("table empty")
    # A required suite whose table is missing is a blocking failure, not a crash.
    result = run_gate(
        clean_warehouse,
        ["mart_funnel_conversion"],
        checkpoint_name="t_required",
    )
    assert not result.success
    assert result.blocking_failures[0]["expectation"] == "table_exists"


def test_relative_time_kwargs_resolve_at_run_time():
    from dealerfunnel.quality.gates import resolve_kwargs

    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    out = resolve_kwargs({"column": "x", "min_value": "now-48h", "max_value": "now"}, now)
    assert out == {
        "column": "x",
        "min_value": "2026-11-21T12:00:00+00:00",
        "max_value": "2026-11-23T12:00:00+00:00",
    }


def test_bad_suite_file_names_the_entry(tmp_path):
    (tmp_path / "bad.yml").write_text(
        "suite: s\ntable: raw.t\nexpectations:\n"
        "  - type: expect_column_values_to_not_be_null\n    kwargs: {column: a}\n"
        "  - type: expect_the_moon\n    kwargs: {}\n"
    )
    with pytest.raises(ConfigError, match=r"bad.yml: expectations\[1\].type: unknown expectation"):
        load_suite_specs(folder=tmp_path)
    (tmp_path / "bad.yml").write_text(
        "suite: s\ntable: raw.t\nexpectations:\n"
        "  - type: expect_column_values_to_not_be_null\n    kwargs: {column: a}\n"
        "    severity: fatal\n"
    )
    with pytest.raises(ConfigError, match=r"expectations\[0\].severity"):
        load_suite_specs(folder=tmp_path)


def test_every_committed_suite_is_valid():
    specs = load_suite_specs()
    names = {s.name for s in specs}
    assert names >= {"raw_dealer_export__leads", "mart_funnel_conversion"}
    # every raw table has a suite
    from dealerfunnel.warehouse.schema import API_RAW_TABLES

    tables = {f"{s.schema}.{s.table}" for s in specs}
    for name in [*API_RAW_TABLES, "dealer_export__stage_events", "dealer_export__followups"]:
        assert f"raw.{name}" in tables
    # Marts: dbt's tests and enforced contracts cover columns, keys and accepted values, so a
    # mart has a GX suite only for what dbt does not check (tests/unit/quality/
    # test_quality_mart_suites.py checks the dbt side). These still hold GX-only checks:
    for mart in (
        "dim_dealerships",
        "fct_leads",
        "mart_funnel_conversion",
        "mart_sales_cycle",
        "mart_sla_compliance",
        "mart_channel_roi",
        "mart_consultant_scorecard",
    ):
        assert f"marts.{mart}" in tables
    # Freshness has one home, the dbt model mart_source_freshness: no GX suite checks it.
    for spec in specs:
        for exp in spec.expectations:
            assert not any(str(v).startswith("now") for v in exp.get("kwargs", {}).values()), (
                spec.name,
                exp,
            )


def test_mart_gate_runs_with_the_remaining_suites(clean_warehouse, data_dir):
    # No mart is built: the required mart suites fail on the missing table, the optional ones
    # are skipped, and suites deleted from expectations/ are simply not run.
    from dealerfunnel.quality.gates import suite_names_for_schema

    suites = suite_names_for_schema("marts")
    assert "mart_group_overview" not in suites and "mart_post_sale_followups" not in suites
    result = run_gate(clean_warehouse, suites, checkpoint_name="t_marts")
    assert result.evaluated == 0
    assert {f["suite"] for f in result.blocking_failures} == {
        "mart_dim_dealerships",
        "mart_fct_leads",
        "mart_funnel_conversion",
    }
    assert {s["suite"] for s in result.skipped} == set(suites) - {
        "mart_dim_dealerships",
        "mart_fct_leads",
        "mart_funnel_conversion",
    }

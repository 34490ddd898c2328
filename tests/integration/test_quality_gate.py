"""Great Expectations really validates warehouse tables; blocking vs warning severities."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest

from dealerfunnel.quality import QualityGateFailed, load_suite_specs, run_gate
from dealerfunnel.quality.tasks import gate
from dealerfunnel.settings import ConfigError


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
                    "2026-05-05T00:00:00Z",
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
    assert result.evaluated == 6
    index = Path(result.data_docs_index.removeprefix("file://"))
    assert index.exists() and index.is_relative_to(data_dir)


def test_warning_only_notifies_and_blocking_fails(clean_warehouse, data_dir):
    # 5 of 10 unassigned: the warning expectation (mostly 0.8) fails, nothing blocking does.
    _insert_leads(
        clean_warehouse,
        [(f"L{i}", None if i % 2 else "2026-05-04T02:00:00Z", False) for i in range(10)],
    )
    result = run_gate(clean_warehouse, ["raw_dealer_export__leads"], checkpoint_name="t_warn")
    assert result.success
    assert [w["kwargs"]["column"] for w in result.warnings] == ["assigned_at"]
    assert result.warnings[0]["observed"] == pytest.approx(50.0)

    # An empty table breaks the blocking row-count expectation: the gate task raises.
    with psycopg.connect(clean_warehouse, autocommit=True) as conn:
        conn.execute("truncate raw.dealer_export__leads")
    with pytest.raises(QualityGateFailed, match="expect_table_row_count_to_be_between"):
        gate(["raw_dealer_export__leads"], checkpoint_name="t_block", url=clean_warehouse)


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
    assert {s.name for s in specs} >= {"raw_dealer_export__leads", "mart_funnel_conversion"}

"""XLSX exports, and a landing location on object storage (Airflow ObjectStoragePath)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from openpyxl import Workbook

from dealerfunnel.landing import load_landing
from dealerfunnel.landing.parsing import FileRejected, read_xlsx


def _xlsx(path: Path, rows: list[list]) -> None:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)


def test_read_xlsx_turns_cells_into_csv_text(tmp_path):
    _xlsx(
        tmp_path / "leads.xlsx",
        [
            ["lead_id", "created_at", "phone", "score", "is_vip", "note"],
            ["X-1", datetime(2026, 5, 4, 9, 30), 13800138000, 0.5, True, None],
            [None, None, None, None, None, None],  # empty row: skipped
            ["X-2", "2026-05-04T10:00:00+08:00", "+86 138 0013 8001", 2, False, "hi"],
        ],
    )
    table = read_xlsx((tmp_path / "leads.xlsx").read_bytes())
    assert table.header == ["lead_id", "created_at", "phone", "score", "is_vip", "note"]
    assert [r.line for r in table.records] == [2, 4]  # worksheet rows
    assert table.blank_lines == 1
    assert table.records[0].text == "X-1,2026-05-04 09:30:00,13800138000,0.5,true,"
    assert [r.fields for r in table.records] == [
        ["X-1", "2026-05-04 09:30:00", "13800138000", "0.5", "true", ""],
        ["X-2", "2026-05-04T10:00:00+08:00", "+86 138 0013 8001", "2", "false", "hi"],
    ]


def test_read_xlsx_rejects_a_non_workbook():
    with pytest.raises(FileRejected, match="not a readable XLSX workbook"):
        read_xlsx(b"lead_id,created_at\n1,2026-05-04\n")


def _landing(root: Path) -> None:
    dealer = root / "SH001"
    dealer.mkdir(parents=True)
    _xlsx(
        dealer / "leads_2026-05.xlsx",
        [
            ["lead_id", "created_at", "channel", "extra_col"],
            ["SH001-1", datetime(2026, 5, 4, 9, 30), "walk_in", "kept"],
            ["SH001-2", "yesterday", "walk_in", None],  # unparseable -> quarantine
        ],
    )
    (dealer / "stage_events_2026-05.csv").write_text(
        "lead_id,stage,occurred_at\nSH001-1,意向客户,2026-05-05 10:00:00\n", encoding="utf-8"
    )
    (dealer / "followups_bad.xlsx").write_bytes(b"not a workbook")


def _counts(url):
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select (select count(*) from raw.dealer_export__leads),"
            " (select count(*) from raw.dealer_export__stage_events),"
            " (select count(*) from ops.quarantine),"
            " (select count(*) from ops.landed_files)"
        ).fetchone()


def test_xlsx_files_load_with_quarantine_and_conservation(clean_warehouse, tmp_path):
    _landing(tmp_path / "landing")
    report = load_landing(clean_warehouse, tmp_path / "landing")
    files = {f["file"]: f for f in report["dealers"]["SH001"]["files"]}
    assert files["leads_2026-05.xlsx"]["rows_loaded"] == 1
    assert files["leads_2026-05.xlsx"]["rows_quarantined"] == 1
    assert files["followups_bad.xlsx"]["status"] == "rejected"
    assert "not a readable XLSX workbook" in files["followups_bad.xlsx"]["reason"]
    with psycopg.connect(clean_warehouse) as conn:
        created_at, payload = conn.execute(
            "select created_at, payload from raw.dealer_export__leads"
        ).fetchone()
        reasons = [r[0] for r in conn.execute("select reason from ops.quarantine order by 1")]
    # 09:30 Asia/Shanghai (the dealer's zone) is 01:30 UTC
    assert created_at == datetime(2026, 5, 4, 1, 30, tzinfo=UTC)
    assert payload["extra_col"] == "kept" and payload["channel"] == "walk_in"
    assert any("created_at" in r and "yesterday" in r for r in reasons)
    assert _counts(clean_warehouse) == (1, 1, 2, 3)


def test_landing_on_object_storage_path(clean_warehouse, tmp_path):
    """The same files through ObjectStoragePath (fsspec ``file://``) load identically, once."""
    _landing(tmp_path / "bucket" / "landing")
    location = f"file://{tmp_path / 'bucket' / 'landing'}"
    first = load_landing(clean_warehouse, location)
    assert first["totals"]["files_loaded"] == 2 and first["totals"]["files_rejected"] == 1
    assert _counts(clean_warehouse) == (1, 1, 2, 3)
    second = load_landing(clean_warehouse, location)
    assert second["totals"]["files_skipped"] == 3
    assert _counts(clean_warehouse) == (1, 1, 2, 3)


def test_landing_dir_setting_accepts_urls(monkeypatch, tmp_path):
    from dealerfunnel.settings import landing_dir

    monkeypatch.setenv("LANDING_DIR", "s3://dealer-exports/landing")
    assert landing_dir() == "s3://dealer-exports/landing"
    monkeypatch.setenv("LANDING_DIR", str(tmp_path))
    assert landing_dir() == tmp_path

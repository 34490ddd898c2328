"""Warehouse reachability and the embedded fallback."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg

from dealerfunnel.warehouse import ensure_schema
from dealerfunnel.warehouse.schema import API_RAW_TABLES


def _cli(*args, env_extra):
    env = dict(os.environ, **env_extra)
    return subprocess.run(
        [sys.executable, "-m", "dealerfunnel.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_unreachable_warehouse_fails_fast_with_masked_one_line_error(tmp_path):
    # 10.255.255.1 would hang without a timeout; use a closed loopback port to stay local.
    proc = _cli(
        "run",
        env_extra={
            "WAREHOUSE_URL": "postgresql://etl:Sup3rS3cret@127.0.0.1:1/leads_wh",
            "DEALERFUNNEL_DATA_DIR": str(tmp_path),
        },
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1
    assert "host=127.0.0.1" in lines[0] and "database=leads_wh" in lines[0]
    assert "Sup3rS3cret" not in proc.stderr + proc.stdout
    assert "***" in lines[0]


def test_embedded_warehouse_starts_when_url_unset(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "WAREHOUSE_URL"}
    env.update(DEALERFUNNEL_DATA_DIR=str(tmp_path))
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "dealerfunnel.cli", "check-warehouse"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        assert "host=" in proc.stdout and str(tmp_path) in proc.stdout.replace("%2F", "/")
    finally:
        subprocess.run(
            [sys.executable, "-m", "dealerfunnel.cli", "stop-warehouse"], env=env, timeout=60
        )


def test_schema_is_idempotent(clean_warehouse):
    def tables():
        with psycopg.connect(clean_warehouse) as conn:
            return conn.execute(
                "select table_schema, table_name from information_schema.tables"
                " where table_schema in ('raw', 'ops') order by 1, 2"
            ).fetchall()

    before = tables()
    ensure_schema(clean_warehouse)
    ensure_schema(clean_warehouse)
    assert tables() == before
    raw = {name for schema, name in before if schema == "raw"}
    assert set(API_RAW_TABLES) <= raw
    assert {
        "dealer_export__leads",
        "dealer_export__stage_events",
        "dealer_export__followups",
    } <= raw
    ops = {name for schema, name in before if schema == "ops"}
    assert {"dealers", "load_batches", "landed_files", "quarantine", "watermarks", "alerts"} <= ops


OLD_FILE_RAW_DDL = """
    create table raw.dealer_export__leads (
        lead_id text not null,
        created_at timestamptz not null,
        assigned_at timestamptz,
        payload jsonb not null,
        _dealer_code text not null,
        _source text not null,
        _batch_id uuid not null,
        _extracted_at timestamptz not null,
        _file_name text not null,
        _file_sha256 text not null,
        _row_number integer not null,
        unique (_dealer_code, _file_sha256, _row_number)
    )
"""


def test_schema_migrates_a_raw_table_with_the_row_unique_index(clean_warehouse):
    """A warehouse created before file-level uniqueness: ensure_schema drops the row-level
    unique constraint (on every run start: idempotent) and keeps the rows."""
    with psycopg.connect(clean_warehouse, autocommit=True) as conn:
        conn.execute("drop table raw.dealer_export__leads")
        conn.execute(OLD_FILE_RAW_DDL)
        conn.execute(
            "insert into raw.dealer_export__leads values ('L1', '2026-05-04 01:00+00', null,"
            " '{\"lead_id\": \"L1\"}', 'SH001', 'dealer_export',"
            " '00000000-0000-0000-0000-000000000001', '2026-05-05 00:00+00', 'leads_a.csv',"
            " 'abc', 1)"
        )

    def unique_constraints() -> list[str]:
        with psycopg.connect(clean_warehouse) as conn:
            return [
                name
                for (name,) in conn.execute(
                    "select conname from pg_constraint"
                    " where conrelid = 'raw.dealer_export__leads'::regclass and contype = 'u'"
                )
            ]

    assert len(unique_constraints()) == 1
    ensure_schema(clean_warehouse)
    assert unique_constraints() == []
    ensure_schema(clean_warehouse)  # the next task start: nothing left to do, no error
    with psycopg.connect(clean_warehouse) as conn:
        rows = conn.execute(
            "select lead_id, _dealer_code, _file_sha256, _row_number from raw.dealer_export__leads"
        ).fetchall()
    assert rows == [("L1", "SH001", "abc", 1)]

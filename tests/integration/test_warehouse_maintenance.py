"""The tables an incremental build rewrote are vacuumed when their dead rows pass autovacuum's
trigger, on a real PostgreSQL (whatever its autovacuum setting: these tables opt out of it)."""

from __future__ import annotations

import json
import time

import psycopg
import pytest

from dealerfunnel.warehouse.maintenance import incremental_relations, vacuum_dead_tables

SCHEMA = "maintenance_probe"


def _dead_rows(conn, table: str) -> int:
    conn.execute("select pg_stat_clear_snapshot()")
    row = conn.execute(
        "select n_dead_tup from pg_stat_user_tables where schemaname = %s and relname = %s",
        (SCHEMA, table),
    ).fetchone()
    return row[0]


def _wait_for_stats(conn, table: str, at_least: int) -> int:
    """Cumulative statistics reach other sessions when the writer flushes them (at most a
    second or so after its transaction ends)."""
    deadline = time.monotonic() + 10
    while (dead := _dead_rows(conn, table)) < at_least and time.monotonic() < deadline:
        time.sleep(0.2)
    return dead


@pytest.fixture
def probe(warehouse_url):
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        conn.execute(f"drop schema if exists {SCHEMA} cascade")
        conn.execute(f"create schema {SCHEMA}")
        for table, rows in (("rewritten", 10_000), ("touched", 10_000), ("not_listed", 1_000)):
            conn.execute(
                f"create table {SCHEMA}.{table} (lead_key integer) with (autovacuum_enabled = off)"
            )
            conn.execute(f"insert into {SCHEMA}.{table} select generate_series(1, {rows})")
        # a delete+insert of half of one table, of 1 % of another, of all of an unlisted one
        conn.execute(f"delete from {SCHEMA}.rewritten where lead_key <= 5000")
        conn.execute(f"delete from {SCHEMA}.touched where lead_key <= 100")
        conn.execute(f"delete from {SCHEMA}.not_listed")
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        assert _wait_for_stats(conn, "rewritten", 5000) == 5000
        assert _wait_for_stats(conn, "touched", 100) == 100
        assert _wait_for_stats(conn, "not_listed", 1000) == 1000
    yield warehouse_url
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        conn.execute(f"drop schema if exists {SCHEMA} cascade")


def test_only_listed_tables_past_the_trigger_are_vacuumed(probe):
    tables = [(SCHEMA, "rewritten"), (SCHEMA, "touched"), (SCHEMA, "missing")]
    # the trigger: 50 + 0.2 x live rows; 5,000 dead > 50 + 1,000; 100 dead < 50 + 1,980
    assert vacuum_dead_tables(probe, tables) == [
        {"table": f"{SCHEMA}.rewritten", "dead_rows": 5000}
    ]
    with psycopg.connect(probe, autocommit=True) as conn:
        assert _dead_rows(conn, "rewritten") == 0
        assert _dead_rows(conn, "touched") == 100
        assert _dead_rows(conn, "not_listed") == 1000  # not an incremental model's table
    assert vacuum_dead_tables(probe, tables) == []  # nothing left to do


def test_incremental_relations_reads_the_manifest(tmp_path):
    manifest = tmp_path / "manifest.json"
    node = {"resource_type": "model", "schema": "intermediate", "name": "int_a", "alias": "int_a"}
    manifest.write_text(
        json.dumps(
            {
                "nodes": {
                    "model.p.int_a": {**node, "config": {"materialized": "incremental"}},
                    "model.p.fct": {
                        **node,
                        "schema": "marts_candidate",
                        "name": "fct",
                        "alias": "fct_alias",
                        "config": {"materialized": "incremental"},
                    },
                    "model.p.tbl": {**node, "name": "tbl", "config": {"materialized": "table"}},
                    "test.p.t": {"resource_type": "test", "config": {"materialized": "test"}},
                }
            }
        )
    )
    assert incremental_relations(manifest) == [
        ("intermediate", "int_a"),
        ("marts_candidate", "fct_alias"),
    ]

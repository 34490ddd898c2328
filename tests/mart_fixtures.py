"""Shared set-up of the dbt mart tests (test_dbt_*.py): raw rows in, one ``dbt build``, rows out.

Each test module loads its own hand-made fixture into ``raw`` and ``ops`` of the session database
and builds the dbt project once (a module-scoped ``built`` fixture); these helpers are the steps
they have in common. Not named ``dbt_*``: dbt imports modules of that name.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from dealerfunnel.transform.runner import run_dbt
from dealerfunnel.warehouse import ensure_schema

DBT_SCHEMAS = ("raw", "ops", "staging", "intermediate", "marts", "seeds", "dbt_test__audit")

# The typed columns of each dealer-export raw table, before payload and the load metadata.
EXPORT_COLUMNS = {
    "leads": ("lead_id", "created_at", "assigned_at"),
    "stage_events": ("lead_id", "stage", "occurred_at"),
    "followups": ("lead_id", "occurred_at", "recorded_at"),
    "activities": ("lead_id", "activity", "occurred_at"),
    "surveys": ("lead_id", "occurred_at", "score", "scale_max", "kind"),
    "targets": ("month", "metric", "target", "consultant"),
}


def reset_warehouse(url: str) -> None:
    """Drop every dbt schema and re-create raw/ops: the clean_warehouse fixture, callable from a
    module-scoped fixture so the dbt build is shared."""
    with psycopg.connect(url, autocommit=True) as conn:
        for schema in DBT_SCHEMAS:
            conn.execute(f'drop schema if exists "{schema}" cascade')
    ensure_schema(url)


def insert_dealers(conn: psycopg.Connection, dealers: list[tuple]) -> None:
    """Rows of ops.dealers: (dealer_code, dealer_name, region, brand, timezone, is_registered)."""
    conn.cursor().executemany(
        "insert into ops.dealers (dealer_code, dealer_name, region, brand, timezone,"
        " is_registered) values (%s, %s, %s, %s, %s, %s)",
        dealers,
    )


def insert_export_file(
    conn: psycopg.Connection,
    dealer: str,
    obj: str,
    file_name: str,
    extracted_at: str,
    rows: list[dict],
    *,
    sha: str | None = None,
    batch: uuid.UUID | None = None,
) -> None:
    """The CSV rows (dicts of text) of one dealer-export file into raw.dealer_export__<obj>, as the
    loader writes them: the typed columns, the whole row as payload, one batch, rows numbered from
    1, and the batch's ops.load_batches row in the same transaction (the incremental staging
    tables read the batches they have not read yet). ``sha`` defaults to the SHA-256 of
    ``<dealer>/<file_name>``, ``batch`` to a new id (a batch given twice gets one row)."""
    columns = EXPORT_COLUMNS[obj]
    sha = sha or hashlib.sha256(f"{dealer}/{file_name}".encode()).hexdigest()
    batch = batch or uuid.uuid4()
    query = (
        f"insert into raw.dealer_export__{obj} ({', '.join(columns)}, payload, _dealer_code,"
        " _source, _batch_id, _extracted_at, _file_name, _file_sha256, _row_number)"
        f" values ({', '.join(['%s'] * len(columns))}, %s, %s, 'dealer_export', %s, %s, %s, %s, %s)"
    )
    for number, row in enumerate(rows, start=1):
        typed = [row.get(column) for column in columns]
        meta = (dealer, batch, extracted_at, file_name, sha, number)
        conn.execute(query, (*typed, json.dumps(row), *meta))
    conn.execute(
        "insert into ops.load_batches (batch_id, source, dealer_code, object, started_at,"
        " finished_at, status, rows_in, rows_loaded)"
        " values (%s, 'dealer_export', %s, %s, %s, %s, 'loaded', %s, %s)"
        " on conflict (batch_id) do nothing",
        (batch, dealer, obj, extracted_at, extracted_at, len(rows), len(rows)),
    )


def insert_export_files(conn: psycopg.Connection, files: list) -> None:
    """Each file of ``files``: (dealer, object, file name, extracted_at, rows)."""
    for dealer, obj, file_name, extracted_at, rows in files:
        insert_export_file(conn, dealer, obj, file_name, extracted_at, rows)


@contextmanager
def module_data_dir(tmp_path_factory) -> Iterator[Path]:
    """The data_dir fixture at module scope: DEALERFUNNEL_DATA_DIR points at a new temp folder
    (dbt's target and logs go there) while the block runs."""
    var_dir = tmp_path_factory.mktemp("var")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEALERFUNNEL_DATA_DIR", str(var_dir))
        yield var_dir


def dbt_ok(args: list[str], url: str, vars_: dict | None = None) -> str:
    """Run dbt (raises DbtFailed on any failing node), assert nothing errored or was skipped and
    return its output."""
    output = run_dbt(args, url, vars_=vars_)
    assert "ERROR=0" in output and "SKIP=0" in output, output[-2000:]
    return output


def fetch_rows(url: str, query: str, params: tuple = ()) -> list[dict]:
    """The rows of a query, as dicts (a query without params may hold a literal %)."""
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(query, params or None).fetchall()


def percentile_cont(values: list[float], q: float) -> float:
    """PostgreSQL's percentile_cont, by hand: linear interpolation at position q * (n - 1) of the
    sorted values."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

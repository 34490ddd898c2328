"""Test and bench support: does an incremental build hold the rows a full refresh would?

The tables compared (:func:`compared_tables`) are every published mart but the ones whose rows
depend on when files were loaded (:data:`LOAD_TIME_MARTS`), plus the incremental lead-grain
intermediates (:data:`INCREMENTAL_MODELS`). A table's rows are compared as text, every column
(in column-name order) but :data:`IGNORED_COLUMNS` (when and by which read the row was
written, and which load brought it), sorted. Pin the dbt var
``as_of_at`` for both builds: rows that depend on the as-of time differ otherwise.

- :func:`table_rows`: the rows themselves (small tables, readable test failures);
- :func:`table_checksum`: row count and a digest of the same rows, computed in the server
  (large tables: nothing but the digest leaves PostgreSQL): the md5 of the rows' md5s, sorted
  (a digest per row keeps the aggregate small: 33 bytes a row, far under PostgreSQL's 1 GB
  value limit at any scale);
- :func:`checksums`: both figures for every compared table.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

INCREMENTAL_MODELS = (
    ("staging", "stg_dealer_export__leads"),
    ("staging", "stg_dealer_export__stage_events"),
    ("staging", "stg_dealer_export__followups"),
    ("intermediate", "int_lead_records_matched_to_leads"),
    ("intermediate", "int_leads_resolved"),
    ("intermediate", "int_stage_events_pivoted_to_leads"),
    ("intermediate", "int_leads_joined_to_sla_settings"),
    ("intermediate", "int_lead_grades_historized"),
    ("intermediate", "int_sales_contacts_graded"),
    ("intermediate", "int_sla_checks_evaluated"),
)
# rows that depend on when files were loaded (ops.load_batches), not on their content
LOAD_TIME_MARTS = frozenset({"mart_source_freshness"})
# refreshed_at: when the row was last written (differs between an incremental build and a full
# refresh by design); batch_id, extracted_at: which load and when (differ between two loads of
# the same files, as in the warehouses a test compares); read_xmin: the transaction horizon of the
# read that wrote the row, evaluated_as_of_at: the dealer's as-of time when the row was last
# evaluated (properties of the run, like refreshed_at)
IGNORED_COLUMNS = ("refreshed_at", "read_xmin", "batch_id", "extracted_at", "evaluated_as_of_at")


def compared_tables(url: str, marts_schema: str = "marts") -> list[tuple[str, str]]:
    """(schema, table) of every mart in ``marts_schema`` but the load-time ones, then the
    incremental intermediates."""
    with psycopg.connect(url) as conn:
        marts = conn.execute(
            "select tablename from pg_tables where schemaname = %s order by 1", (marts_schema,)
        ).fetchall()
    return [(marts_schema, m) for (m,) in marts if m not in LOAD_TIME_MARTS] + list(
        INCREMENTAL_MODELS
    )


def _rows_query(conn, schema: str, table: str) -> sql.Composed:
    """``select r`` = the row as text (every column but the ignored ones, by name)."""
    columns = [
        r[0]
        for r in conn.execute(
            "select column_name from information_schema.columns where table_schema = %s"
            " and table_name = %s and column_name <> all(%s) order by column_name",
            (schema, table, list(IGNORED_COLUMNS)),
        ).fetchall()
    ]
    if not columns:
        raise LookupError(f"{schema}.{table} does not exist or has no compared column")
    return sql.SQL("select row({})::text as r from {}").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(schema, table)
    )


def table_rows(url: str, schema: str, table: str) -> list[str]:
    """The table's rows as text, every column but ``refreshed_at``, sorted."""
    with psycopg.connect(url) as conn:
        query = sql.SQL('select r from ({}) as t order by r collate "C"').format(
            _rows_query(conn, schema, table)
        )
        return [r[0] for r in conn.execute(query).fetchall()]


def table_checksum(url: str, schema: str, table: str) -> dict:
    """``{"rows": n, "md5": ...}``: the md5 of the sorted md5s of :func:`table_rows`'s rows,
    one a line: the same for two tables that hold the same rows (as a multiset)."""
    with psycopg.connect(url) as conn:
        query = sql.SQL(
            "select count(*), md5(coalesce(string_agg(h, e'\\n' order by h collate \"C\"), ''))"
            " from (select md5(r) as h from ({}) as t) as hashed"
        ).format(_rows_query(conn, schema, table))
        rows, digest = conn.execute(query).fetchone()
    return {"rows": rows, "md5": digest}


def checksums(url: str, marts_schema: str = "marts") -> dict[str, dict]:
    """:func:`table_checksum` of every compared table, keyed ``schema.table``."""
    return {
        f"{schema}.{table}": table_checksum(url, schema, table)
        for schema, table in compared_tables(url, marts_schema)
    }

"""Micro-benchmark: what a file's commit costs with the set-based loader's staging tables.

``python -m bench.staging_commit [--files 2000] [--rows 20]`` (server: ``WAREHOUSE_URL``; a
scratch database is created and dropped). Each variant loads ``--files`` tiny files, one
transaction per file as :mod:`dealerfunnel.landing.files` does: ``begin`` with asynchronous
commit and an advisory lock (one pipeline), ``COPY`` into a temporary all-text staging table
(the session has three, one per header width, as the loader has for leads, stage events and
follow-ups), one ``INSERT ... SELECT`` into a regular table indexed on its batch, then the
file's bookkeeping row and ``commit`` (one pipeline). It prints the median time of the whole
file and of that last pipeline (the commit), per variant:

- ``delete_rows``: staging tables ``on commit delete rows`` (the loader before ``landing2``):
  every commit that touched a temporary table truncates all of them, with their TOAST
  tables and indexes;
- ``kept``: staging tables that keep their rows across commits; a file's rows are the last
  ones the identity numbered (``_row > last_value - copied``), and the table is truncated
  (in a small asynchronous transaction of its own) once it holds 2,500 rows (the loader now).

The variants run in turn, twice, in opposite orders; run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid

import psycopg
from psycopg import sql

WIDTHS = (11, 7, 9)  # leads, stage_events, followups
TRUNCATE_AFTER_ROWS = 2_500


def _data(width: int, rows: int) -> bytes:
    header = ",".join(f"h{i}" for i in range(width))
    line = ",".join(["D0001-0000001", "2026-01-01 10:00:00", *(["x"] * (width - 2))])
    return (header + "\n" + (line + "\n") * rows).encode()


def _run(url: str, variant: str, files: int, rows: int) -> tuple[float, float]:
    kept = variant == "kept"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("drop table if exists bench_target, bench_done")
        conn.execute(
            "create table bench_target (a text, b timestamptz, payload text[], batch uuid,"
            " row_number bigint)"
        )
        conn.execute("create index on bench_target (batch)")
        conn.execute("create table bench_done (batch uuid primary key, rows int)")
        staging = []
        for width in WIDTHS:
            name = f"bench_rows_{width}_{variant}"
            columns = sql.SQL(", ").join(
                sql.SQL("{} text").format(sql.Identifier(f"c{i}")) for i in range(width)
            )
            conn.execute(
                sql.SQL(
                    "create temporary table {} (_row bigint generated always as identity, {}) {}"
                ).format(
                    sql.Identifier(name),
                    columns,
                    sql.SQL("" if kept else "on commit delete rows"),
                )
            )
            cs = sql.SQL(", ").join(sql.Identifier(f"c{i}") for i in range(width))
            rows_id = sql.Identifier(name)
            if kept:
                source = sql.SQL(
                    "{rows}, (select last_value - %(copied)s as _row from {seq}) as after"
                    " where {rows}._row > after._row"
                ).format(rows=rows_id, seq=sql.Identifier("pg_temp", f"{name}__row_seq"))
                number = sql.SQL("{}._row - after._row").format(rows_id)
            else:
                source = rows_id
                number = sql.SQL("_row - (select min(_row) - 1 from {})").format(rows_id)
            staging.append(
                {
                    "data": _data(width, rows),
                    "copy": sql.SQL("copy {} ({}) from stdin (format csv, header true)").format(
                        rows_id, cs
                    ),
                    "insert": sql.SQL(
                        "insert into bench_target select c0, c1::timestamp at time zone 'UTC',"
                        " array[{cs}], %(batch)s, {number} from {source}"
                    ).format(cs=cs, number=number, source=source),
                    "truncate": sql.SQL("truncate {} restart identity").format(rows_id),
                    "held": 0,
                }
            )
        whole, commits = [], []
        with conn.cursor() as cur:
            for i in range(files):
                table = staging[i % len(staging)]
                if kept and table["held"] >= TRUNCATE_AFTER_ROWS:
                    with conn.pipeline(), conn.transaction():
                        conn.execute("set local synchronous_commit = off")
                        conn.execute(table["truncate"])
                    table["held"] = 0
                started = time.perf_counter()
                batch = uuid.uuid4()
                with conn.pipeline():
                    cur.execute("begin")
                    cur.execute("set local synchronous_commit = off")
                    cur.execute(
                        "select pg_advisory_xact_lock(hashtextextended(%s, 0))", (str(batch),)
                    )
                with cur.copy(table["copy"]) as copy:
                    copy.write(table["data"])
                copied = cur.rowcount
                table["held"] += copied
                cur.execute(table["insert"], {"batch": batch, "copied": copied}, prepare=True)
                finals = time.perf_counter()
                with conn.pipeline():
                    cur.execute("insert into bench_done values (%s, %s)", (batch, copied))
                    cur.execute("commit")
                ended = time.perf_counter()
                whole.append(ended - started)
                commits.append(ended - finals)
        loaded = conn.execute("select count(*) from bench_target").fetchone()[0]
        if loaded != files * rows:
            raise SystemExit(f"{variant}: {loaded} rows loaded, not {files * rows}")
    return statistics.median(whole) * 1000, statistics.median(commits) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.staging_commit")
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=20, help="data rows per file")
    args = parser.parse_args()
    server = os.environ.get("WAREHOUSE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    dbname = f"bench_staging_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(dbname)))
    url = psycopg.conninfo.make_conninfo(server, dbname=dbname)
    try:
        for order in (("delete_rows", "kept"), ("kept", "delete_rows")):
            for variant in order:
                file_ms, commit_ms = _run(url, variant, args.files, args.rows)
                print(
                    f"{variant:12s} {args.files} files of {args.rows} rows: median file "
                    f"{file_ms:.2f} ms, median commit pipeline {commit_ms:.2f} ms",
                    flush=True,
                )
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname))
            )


if __name__ == "__main__":
    main()

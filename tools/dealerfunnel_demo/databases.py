"""Test and bench support: another database on the same server as a warehouse URL; load
times moved back (:func:`age_loads`)."""

from __future__ import annotations

from urllib.parse import quote

from dealerfunnel.warehouse.connection import url_parts


def with_database(url: str, dbname: str) -> str:
    """The same server and credentials as ``url``, another database."""
    parts = url_parts(url)
    auth = quote(parts["user"], safe="")
    if parts["password"]:
        auth += ":" + quote(parts["password"], safe="")
    if parts["host"].startswith("/"):
        return f"postgresql://{auth}@/{dbname}?host={quote(parts['host'], safe='/')}"
    return f"postgresql://{auth}@{parts['host']}:{parts['port']}/{dbname}"


def create_database(server: str, prefix: str) -> str:
    """A new database ``<prefix>_<random>`` on ``server`` with the raw/ops schemas; its URL."""
    import uuid

    import psycopg
    from psycopg import sql

    from dealerfunnel.warehouse import ensure_schema

    dbname = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(dbname)))
    url = with_database(server, dbname)
    ensure_schema(url)
    return url


def drop_database(server: str, url: str) -> None:
    """Drop the database of ``url`` (connections to it are closed first)."""
    import psycopg
    from psycopg import sql

    dbname = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname))
        )


def age_loads(url: str, hours: float = 1.0) -> dict:
    """Move every load time already in the warehouse ``hours`` back (not timed).

    A bench or a test loads the history and, seconds or minutes later, the increment; the
    incremental models re-read what was loaded within var ``incremental_lookback_minutes`` (15)
    of their newest row, so without this the incremental run would re-read the whole history,
    which no hourly run does: there the history was loaded a cycle or more before. Raw
    ``_extracted_at``, ``ops.load_batches`` and ``ops.landed_files`` move together; ``vacuum
    (full)`` then rewrites each table, so the transform reads tables as compact as a fresh load
    left them (without planner statistics, like a load: autovacuum decides when those come).
    """
    import time

    import psycopg
    from psycopg import sql

    shift = sql.Literal(f"{hours} hours")
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "select table_name from information_schema.columns where table_schema = 'raw'"
                " and column_name = '_extracted_at' order by 1"
            ).fetchall()
        ]
        moves = [(sql.Identifier("raw", t), ["_extracted_at"]) for t in tables]
        moves += [
            (sql.Identifier("ops", "load_batches"), ["started_at", "finished_at"]),
            (sql.Identifier("ops", "landed_files"), ["landed_at"]),
        ]
        for table, columns in moves:
            sets = sql.SQL(", ").join(
                sql.SQL("{0} = {0} - {1}::interval").format(sql.Identifier(c), shift)
                for c in columns
            )
            conn.execute(sql.SQL("update {} set {}").format(table, sets))
            conn.execute(sql.SQL("vacuum (full) {}").format(table))
    return {"seconds": time.perf_counter() - started, "hours": hours, "raw_tables": len(tables)}

"""Test and bench support: another database on the same server as a warehouse URL."""

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

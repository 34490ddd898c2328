"""Resolve and open the warehouse connection.

Precedence: the Airflow Connection ``warehouse`` (inside a task), then ``WAREHOUSE_URL``, then
an embedded PostgreSQL started under the project's data folder (see :mod:`.embedded`).
Credentials are never logged: every message uses :func:`mask_url`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg
from sqlalchemy.engine import make_url

CONNECTION_ID = "warehouse"
CONNECT_TIMEOUT_SECONDS = 5


class WarehouseUnreachable(RuntimeError):
    """The warehouse is unreachable; the message names host and database, never the password."""


def mask_url(url: str) -> str:
    """Return ``url`` with its password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not parseable: show nothing that could be a secret
        return "<unparseable warehouse URL>"


def to_libpq(url: str) -> str:
    """Turn a SQLAlchemy-style URL (``postgresql+psycopg://``) into a libpq one."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.startswith("postgres"):
        raise ValueError("WAREHOUSE_URL must start with postgresql://")
    return f"postgresql://{rest}"


def to_sqlalchemy(url: str) -> str:
    return "postgresql+psycopg://" + to_libpq(url).partition("://")[2]


def url_parts(url: str) -> dict[str, str]:
    """Host, port, user, password and database of ``url`` (host may be a socket folder)."""
    parts = urlsplit(to_libpq(url))
    query = parse_qs(parts.query)
    host = query.get("host", [parts.hostname or "localhost"])[0]
    return {
        "host": host,
        "port": str(parts.port or query.get("port", ["5432"])[0]),
        "user": unquote(parts.username or "postgres"),
        "password": unquote(parts.password or ""),
        "dbname": (parts.path or "/postgres").lstrip("/") or "postgres",
    }


def _url_from_airflow_connection() -> str | None:
    """The ``warehouse`` Airflow Connection as a URL, when running where Airflow is configured."""
    if not any(k.startswith("AIRFLOW_CONN_") or k == "AIRFLOW_HOME" for k in os.environ):
        return None
    try:
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(CONNECTION_ID)
    except Exception:
        return None
    return connection_to_url(conn)


def connection_to_url(conn) -> str:
    """Build a libpq URL from an Airflow Connection object (host may be a socket folder)."""
    from urllib.parse import quote

    user = quote(conn.login or "postgres", safe="")
    password = f":{quote(conn.password, safe='')}" if conn.password else ""
    db = conn.schema or "postgres"
    host = conn.host or "localhost"
    if host.startswith("/"):
        return f"postgresql://{user}{password}@/{db}?host={quote(host, safe='/')}"
    port = f":{conn.port}" if conn.port else ""
    return f"postgresql://{user}{password}@{host}{port}/{db}"


def resolve_warehouse_url(*, start_embedded: bool = True) -> str:
    """Find the warehouse URL (see module docstring); may start the embedded server."""
    url = _url_from_airflow_connection() or os.environ.get("WAREHOUSE_URL")
    if url:
        return to_libpq(url)
    if not start_embedded:
        raise WarehouseUnreachable(
            "WAREHOUSE_URL is not set and the embedded warehouse is disabled"
        )
    from dealerfunnel.warehouse.embedded import embedded_url

    return embedded_url()


def check_reachable(url: str) -> None:
    """Connect once with a short timeout; raise :class:`WarehouseUnreachable` naming the target."""
    parts = url_parts(url)
    try:
        with psycopg.connect(to_libpq(url), connect_timeout=CONNECT_TIMEOUT_SECONDS) as conn:
            conn.execute("select 1")
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        if parts["password"]:
            reason = reason.replace(parts["password"], "***")
        raise WarehouseUnreachable(
            f"warehouse unreachable: host={parts['host']} port={parts['port']} "
            f"database={parts['dbname']} ({mask_url(url)}): {reason}"
        ) from None


@contextmanager
def connect(url: str | None = None, *, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    """Open a psycopg connection to the warehouse (resolved when ``url`` is None)."""
    url = url or resolve_warehouse_url()
    try:
        conn = psycopg.connect(
            to_libpq(url), connect_timeout=CONNECT_TIMEOUT_SECONDS, autocommit=autocommit
        )
    except psycopg.OperationalError:
        check_reachable(url)  # raises the clear, masked error
        raise
    with conn:
        yield conn


def airflow_connection_json(url: str) -> str:
    """``url`` as the JSON form of an Airflow Connection (for ``AIRFLOW_CONN_WAREHOUSE``)."""
    import json

    parts = url_parts(url)
    return json.dumps(
        {
            "conn_type": "postgres",
            "host": parts["host"],
            "port": int(parts["port"]),
            "login": parts["user"],
            "password": parts["password"] or None,
            "schema": parts["dbname"],
        }
    )

"""Create the pipeline-owned ``raw`` and ``ops`` schemas (idempotent)."""

from __future__ import annotations

from pathlib import Path

from dealerfunnel.warehouse.connection import connect

DDL_PATH = Path(__file__).with_name("schema.sql")


def ensure_schema(url: str | None = None) -> None:
    """Apply ``schema.sql``; safe to run on every task start. Serialised by an advisory lock."""
    ddl = DDL_PATH.read_text(encoding="utf-8")
    with connect(url) as conn:
        conn.execute("select pg_advisory_xact_lock(hashtext('dealerfunnel.ensure_schema'))")
        conn.execute(ddl)

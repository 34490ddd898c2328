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

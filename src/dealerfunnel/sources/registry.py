"""Every API source object, and the two calls the DAG makes: :func:`plan` and :func:`extract`.

A connector module (``dealerfunnel.sources.<name>``) provides:

- ``SOURCE`` (its section in ``config/sources.yml`` and the ``raw.<SOURCE>__*`` prefix),
- ``Account`` (a :class:`~dealerfunnel.sources.config.Account` model: the keys of a dealer's
  account entry) and ``Options`` (a :class:`~dealerfunnel.sources.config.SourceOptions`
  model: the section's ``options``),
- ``make_client(conn, **client_options) -> HttpClient`` (auth scheme + error dialect),
- ``STREAMS = {object: factory}``, where ``factory(ctx)`` (``ctx``: an
  :class:`~dealerfunnel.sources.streams.ExtractContext`) yields
  :class:`~dealerfunnel.sources.loader.Stream` objects (one per watermark: e.g. one per lead
  form of a page), usually :class:`~dealerfunnel.sources.streams.ApiStream` subclasses.

Registering it is one entry in :data:`CONNECTORS`. The raw table ``raw.<SOURCE>__<object>``
must exist (``dealerfunnel.warehouse.schema.API_RAW_TABLES``) and have an Asset
(``dealerfunnel.assets.RAW_API``).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from dealerfunnel.sources.config import (
    SourceConnection,
    SourceSettings,
    load_connection,
    load_source_settings,
)
from dealerfunnel.sources.loader import StreamResult, run_stream
from dealerfunnel.sources.streams import ExtractContext

log = logging.getLogger(__name__)

CONNECTORS: dict[str, str] = {
    "meta": "dealerfunnel.sources.meta",
    "google_ads": "dealerfunnel.sources.google_ads",
    "salesforce": "dealerfunnel.sources.salesforce",
    "hubspot": "dealerfunnel.sources.hubspot",
    "eventbrite": "dealerfunnel.sources.eventbrite",
}


def connector(source: str) -> ModuleType:
    try:
        return importlib.import_module(CONNECTORS[source])
    except KeyError:
        raise KeyError(f"unknown API source {source!r}; known: {sorted(CONNECTORS)}") from None


def split_table(table: str) -> tuple[str, str]:
    source, sep, obj = table.partition("__")
    if not sep:
        raise ValueError(f"not a raw API table name (source__object): {table!r}")
    return source, obj


def tables() -> list[str]:
    """Every ``<source>__<object>`` the registered connectors extract."""
    return [f"{s}__{o}" for s in CONNECTORS for o in connector(s).STREAMS]


def settings_for(source: str, data: Mapping[str, Any] | None = None) -> SourceSettings:
    module = connector(source)
    return load_source_settings(source, module.Account, module.Options, data)


def plan(table: str, data: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """One work item per dealer account of ``table`` (the DAG maps a task over these)."""
    source, _ = split_table(table)
    settings = settings_for(source, data)
    return [
        {"table": table, "dealer_code": code, "account": dict(account)}
        for code, account in sorted(settings.dealers.items())
    ]


def extract(
    item: Mapping[str, Any],
    url: str | None = None,
    *,
    connection: SourceConnection | None = None,
    settings_data: Mapping[str, Any] | None = None,
    client_options: Mapping[str, Any] | None = None,
    now: Callable[[], datetime] | None = None,
) -> list[StreamResult]:
    """Extract one work item of :func:`plan`: every stream of that dealer account.

    ``connection`` defaults to the Airflow Connection named in ``sources.yml``.
    """
    source, obj = split_table(item["table"])
    module = connector(source)
    settings = settings_for(source, settings_data)
    conn = connection or load_connection(settings.conn_id)
    client = module.make_client(conn, **dict(client_options or {}))
    ctx = ExtractContext(
        settings,
        conn,
        item["dealer_code"],
        item["account"],
        client,
        now or (lambda: datetime.now(UTC)),
    )
    results = []
    try:
        for stream in module.STREAMS[obj](ctx):
            results.append(run_stream(stream, url))
    finally:
        client.close()
    stats = client.stats
    log.info(
        "%s %s: %d requests, %d retries %s",
        item["table"],
        item["dealer_code"],
        stats.requests,
        stats.retries,
        stats.failures,
    )
    return results

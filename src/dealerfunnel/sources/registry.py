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

**Failure isolation.** A source that is down fails its own mapped tasks, quickly, and nothing
else: every request has connect/read timeouts and a retry budget (:mod:`.httpclient`); a
failed work item is recorded in ``ops.load_batches`` (status ``failed``, the error class and
message, the connection; :func:`~.loader.record_failed_extract`) for the freshness alert and
the CLI; once a task found the source's server unreachable, the next tasks of that source
within :data:`OUTAGE_PROBE_SECONDS` try one connection only (``RetryPolicy.probe_only``)
instead of spending the whole budget again. A source whose Airflow Connection is not defined
is not configured: :func:`plan_configured` gives it no work items (nothing fails, nothing is
alerted).

Registering it is one entry in :data:`CONNECTORS`. The raw table ``raw.<SOURCE>__<object>``
must exist (``dealerfunnel.warehouse.schema.API_RAW_TABLES``) and have an Asset
(``dealerfunnel.assets.RAW_API``).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from dealerfunnel.sources.config import (
    SourceConnection,
    SourceSettings,
    load_connection,
    load_source_settings,
)
from dealerfunnel.sources.errors import ConnectionNotDefined
from dealerfunnel.sources.httpclient import RetryPolicy
from dealerfunnel.sources.loader import (
    StreamResult,
    recent_outage,
    record_failed_extract,
    run_stream,
)
from dealerfunnel.sources.streams import ExtractContext

log = logging.getLogger(__name__)

OUTAGE_PROBE_SECONDS = 900.0  # an unreachable source is probed once per task for this long

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


def is_configured(source: str, data: Mapping[str, Any] | None = None) -> bool:
    """Whether the Airflow Connection of ``source`` is defined (read through Airflow)."""
    try:
        load_connection(settings_for(source, data).conn_id)
    except ConnectionNotDefined:
        return False
    return True


def plan_configured(table: str, data: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """:func:`plan`, or no work items when the source's Airflow Connection is not defined."""
    source, _ = split_table(table)
    if not is_configured(source, data):
        log.info("%s: Airflow connection of source %s not defined: not extracted", table, source)
        return []
    return plan(table, data)


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
    started = datetime.now(UTC)
    options = dict(client_options or {})
    if "policy" not in options:
        outage = recent_outage(url, source, OUTAGE_PROBE_SECONDS)
        if outage is not None:
            log.warning("%s was unreachable moments ago (%s); probing once", source, outage)
            options["policy"] = replace(RetryPolicy.from_env(), probe_only=True)
    client = None
    results = []
    try:
        client = module.make_client(conn, **options)
        ctx = ExtractContext(
            settings,
            conn,
            item["dealer_code"],
            item["account"],
            client,
            now or (lambda: datetime.now(UTC)),
        )
        for stream in module.STREAMS[obj](ctx):
            results.append(run_stream(stream, url))
    except Exception as exc:
        try:
            record_failed_extract(
                url,
                source=source,
                obj=obj,
                dealer_code=item["dealer_code"],
                started_at=started,
                error=exc,
                conn_id=conn.conn_id,
                base_url=conn.base_url,
                secrets=conn.secrets(),
            )
        except Exception:  # the extract's own error matters more
            log.exception("%s %s: could not record the failure", item["table"], item["dealer_code"])
        raise
    finally:
        if client is not None:
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

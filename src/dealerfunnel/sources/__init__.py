"""API source connectors and the machinery they share (DESIGN.md sections 3 and 4).

Shared, one implementation for all connectors:

- :mod:`.httpclient`: the HTTP client (backoff with jitter, ``Retry-After``, bounded attempts and
  time, fail-fast auth naming the connection id, OAuth2 refresh-token grant);
- :mod:`.config`: Airflow Connection -> :class:`~.config.SourceConnection`, and
  ``config/sources.yml`` validated by pydantic models (options, per-dealer accounts; the first
  run's window: ``start_date`` or ``backfill_days``);
- :mod:`.loader`: page-by-page landing into ``raw.<source>__<object>`` (COPY + merge),
  quarantine and the watermark, one transaction per page;
- :mod:`.streams`: what the connectors share (the extract context, the stream base class,
  stage checks, daily windows, resumable paging, record parsing);
- :mod:`.registry`: the connectors, :func:`~.registry.plan` and :func:`~.registry.extract`
  (what the DAG calls).

Connectors: :mod:`.meta` (Lead Ads, Insights), :mod:`.google_ads` (lead form submissions,
campaign cost), :mod:`.salesforce`, :mod:`.hubspot`, :mod:`.eventbrite`. Adding one is a
module + one line in :data:`.registry.CONNECTORS`; see :mod:`.registry` for the interface.
"""

from dealerfunnel.sources.errors import (
    ApiError,
    AuthFailed,
    ConcurrentExtract,
    ConnectionNotDefined,
    RetriesExhausted,
    SourceConfigError,
    SourceError,
    SourceUnreachable,
)

__all__ = [
    "ApiError",
    "AuthFailed",
    "ConcurrentExtract",
    "ConnectionNotDefined",
    "RetriesExhausted",
    "SourceConfigError",
    "SourceError",
    "SourceUnreachable",
]

"""Shared by the connector unit tests: an HttpClient over an in-memory httpx transport."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from dealerfunnel.sources.httpclient import HttpClient, NoAuth, RetryPolicy

H = httpx.Headers({})
START = datetime(2026, 5, 4, tzinfo=UTC)


def client(handler) -> HttpClient:
    return HttpClient(
        "http://api.test",
        conn_id="test",
        auth=NoAuth(),
        policy=RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0),
        sleep=lambda s: None,
        transport=httpx.MockTransport(handler),
    )

"""The shared HTTP client: backoff, Retry-After, the bounded retry loop, auth, dialects."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import httpx
import pytest

from dealerfunnel.sources import ApiError, AuthFailed, RetriesExhausted, meta
from dealerfunnel.sources import google_ads as gads
from dealerfunnel.sources.httpclient import (
    BearerToken,
    CodedErrorDialect,
    HttpClient,
    OAuthTokenDialect,
    RetryPolicy,
    backoff_delay,
    parse_duration,
    parse_retry_after,
)

# -- backoff and Retry-After ------------------------------------------------------------------


def test_backoff_is_exponential_with_jitter_and_capped():
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    rng = random.Random(1)
    for attempt, step in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (10, 8.0)):
        delays = [backoff_delay(attempt, policy, rng) for _ in range(200)]
        assert all(step / 2 <= d <= step for d in delays)
        assert len({round(d, 6) for d in delays}) > 100  # jittered


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("0", 0.0),
        ("-5", 0.0),
        ("1.5", 1.5),
        ("Wed, 21 Oct 2026 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2026 07:27:00 GMT", 0.0),  # in the past
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value, expected):
    now = datetime(2026, 10, 21, 7, 28, 0, tzinfo=UTC)
    assert parse_retry_after(value, now) == expected


def test_parse_duration():
    assert parse_duration("30s") == 30.0
    assert parse_duration("1.5s") == 1.5
    assert parse_duration("30") is None
    assert parse_duration(None) is None


# -- the retry loop (an in-memory transport; the integration tests use the sandbox) -----------


def _client(responses, *, dialect=None, policy=None, auth=None, secrets=()):
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        item = responses[min(len(calls), len(responses)) - 1]
        if isinstance(item, Exception):
            raise item
        return item

    sleeps: list[float] = []
    clock = [0.0]

    def sleep(seconds):
        sleeps.append(seconds)
        clock[0] += seconds

    client = HttpClient(
        "http://api.test",
        conn_id="meta_ads",
        dialect=dialect,
        auth=auth,
        policy=policy or RetryPolicy(base_delay=0.5, max_delay=4),
        secrets=secrets,
        sleep=sleep,
        clock=lambda: clock[0],
        rng=random.Random(0),
        transport=httpx.MockTransport(handler),
    )
    return client, calls, sleeps


def test_retry_after_is_honoured_and_5xx_timeouts_truncated_bodies_retried():
    ok = httpx.Response(200, json={"data": [1]})
    client, calls, sleeps = _client(
        [
            httpx.Response(429, headers={"Retry-After": "7"}, text="slow down"),
            httpx.Response(503, text="unavailable"),
            httpx.ReadTimeout("timed out"),
            httpx.Response(200, content=b'{"data": [1'),  # truncated
            ok,
        ]
    )
    assert client.get("/x") == {"data": [1]}
    assert len(calls) == 5
    assert sleeps[0] == 7.0
    assert all(0 < s <= 4 for s in sleeps[1:])
    assert client.stats.failures == {"rate_limited": 1, "retry": 3}


def test_attempts_and_total_time_are_bounded():
    client, calls, _ = _client(
        [httpx.Response(500, text="boom")], policy=RetryPolicy(max_attempts=3, base_delay=0.01)
    )
    with pytest.raises(RetriesExhausted, match="after 3 attempts"):
        client.get("/x")
    assert len(calls) == 3
    client, calls, _ = _client(
        [httpx.Response(429, headers={"Retry-After": "100"})],
        policy=RetryPolicy(max_total_seconds=150),
    )
    with pytest.raises(RetriesExhausted):
        client.get("/x")
    assert len(calls) == 2  # 100 s waited once; a second wait would pass 150 s


def test_auth_failure_is_not_retried_and_names_the_connection_not_the_secret():
    body = {"error": {"message": "bad token s3cr3t-token", "type": "OAuthException", "code": 190}}
    client, calls, sleeps = _client(
        [httpx.Response(400, json=body)],
        dialect=meta.GraphDialect(),
        auth=BearerToken("s3cr3t-token"),
        secrets=["s3cr3t-token"],
    )
    with pytest.raises(AuthFailed) as info:
        client.get("/x")
    assert len(calls) == 1 and not sleeps
    assert "'meta_ads'" in str(info.value)
    assert "s3cr3t-token" not in str(info.value)
    assert calls[0].headers["authorization"] == "Bearer s3cr3t-token"


def test_other_client_errors_are_fatal():
    body = {"error": {"message": "(#100) Invalid parameter", "type": "OAuthException", "code": 100}}
    client, calls, _ = _client([httpx.Response(400, json=body)], dialect=meta.GraphDialect())
    with pytest.raises(ApiError, match="code 100"):
        client.get("/x")
    assert len(calls) == 1


@pytest.mark.parametrize(
    "dialect", [meta.GraphDialect(), gads.GoogleAdsDialect(), OAuthTokenDialect()]
)
def test_cut_short_error_bodies_are_retried_not_fatal(dialect):
    assert dialect.classify(400, httpx.Headers({}), '{"error": {"mess').kind == "retry"
    assert dialect.classify(401, httpx.Headers({}), '{"err').kind == "auth"
    assert dialect.classify(429, httpx.Headers({}), '{"err').kind == "rate_limited"


def test_token_endpoint_with_an_object_shaped_error_is_classified_not_crashing():
    """A 5xx/429 from a token endpoint may carry a Google-style ``{"error": {...}}`` body."""
    dialect = OAuthTokenDialect()
    body = json.dumps({"error": {"code": 503, "message": "backend", "status": "UNAVAILABLE"}})
    assert dialect.classify(503, httpx.Headers({}), body).kind == "retry"
    assert dialect.classify(401, httpx.Headers({}), body).kind == "auth"
    plain = json.dumps({"error": "invalid_grant", "error_description": "revoked"})
    assert dialect.classify(400, httpx.Headers({}), plain).kind == "auth"


def test_coded_error_dialect_classifies_by_code_sets():
    class Dialect(CodedErrorDialect):
        AUTH_CODES = frozenset({"BAD_TOKEN"})
        THROTTLE_CODES = frozenset({"SLOW_DOWN"})
        RETRY_CODES = frozenset({"TRY_AGAIN"})

        def describe(self, status, parsed):
            code = parsed.get("code") if isinstance(parsed, dict) else None
            return None if code is None else (code, f"HTTP {status} {code}")

    headers = httpx.Headers({"retry-after": "7"})
    dialect = Dialect()
    assert dialect.classify(200, headers, "{}") is None
    throttled = dialect.classify(400, headers, '{"code": "SLOW_DOWN"}')
    assert (throttled.kind, throttled.retry_after) == ("rate_limited", 7.0)
    assert dialect.classify(400, headers, '{"code": "BAD_TOKEN"}').kind == "auth"
    assert dialect.classify(403, headers, '{"code": "OTHER"}').kind == "auth"  # AUTH_STATUSES
    assert dialect.classify(400, headers, '{"code": "TRY_AGAIN"}').kind == "retry"
    assert dialect.classify(502, headers, '{"code": "OTHER"}').kind == "retry"
    assert dialect.classify(400, headers, '{"code": "OTHER"}').message == "HTTP 400 OTHER"
    assert dialect.classify(400, headers, '{"code": "OTHER"}').kind == "fatal"
    assert dialect.classify(404, headers, '{"no": "code"}').kind == "fatal"  # plain HTTP

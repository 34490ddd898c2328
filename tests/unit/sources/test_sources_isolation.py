"""Failure isolation in the HTTP client: timeouts, a wall-clock budget, unreachable servers,
probe-only mode, and the settings that configure them (issue #11)."""

from __future__ import annotations

import httpx
import pytest

from dealerfunnel.settings import ConfigError
from dealerfunnel.sources import RetriesExhausted, SourceUnreachable
from dealerfunnel.sources.httpclient import HttpClient, RetryPolicy


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _client(handler, clock: FakeClock, **policy) -> HttpClient:
    return HttpClient(
        "http://api.test",
        conn_id="hubspot",
        policy=RetryPolicy(**policy),
        transport=httpx.MockTransport(handler),
        sleep=clock.sleep,
        clock=clock,
    )


def test_defaults_are_documented_values():
    policy = RetryPolicy()
    assert (policy.connect_timeout, policy.read_timeout, policy.max_total_seconds) == (5, 30, 120)


def test_policy_from_environment():
    policy = RetryPolicy.from_env(
        {
            "DEALERFUNNEL_HTTP_CONNECT_TIMEOUT": "2",
            "DEALERFUNNEL_HTTP_READ_TIMEOUT": "7.5",
            "DEALERFUNNEL_HTTP_TOTAL_SECONDS": "20",
            "DEALERFUNNEL_HTTP_MAX_ATTEMPTS": "3",
        }
    )
    assert (policy.connect_timeout, policy.read_timeout) == (2.0, 7.5)
    assert (policy.max_total_seconds, policy.max_attempts) == (20.0, 3)
    assert RetryPolicy.from_env({}) == RetryPolicy()
    with pytest.raises(ConfigError, match="DEALERFUNNEL_HTTP_TOTAL_SECONDS"):
        RetryPolicy.from_env({"DEALERFUNNEL_HTTP_TOTAL_SECONDS": "soon"})
    with pytest.raises(ConfigError, match="DEALERFUNNEL_HTTP_MAX_ATTEMPTS"):
        RetryPolicy.from_env({"DEALERFUNNEL_HTTP_MAX_ATTEMPTS": "0"})


def test_refused_connection_is_unreachable_within_the_budget():
    clock = FakeClock()

    def refuse(request):
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    client = _client(refuse, clock, max_total_seconds=20, max_attempts=50)
    with pytest.raises(
        SourceUnreachable, match=r"connection 'hubspot'.*http://api.test unreachable"
    ):
        client.get("/crm/v3/objects/contacts?hapikey=x")
    assert clock.now <= 20
    assert client.stats.requests > 2


def test_each_attempt_is_cut_to_the_time_left():
    clock = FakeClock()
    seen = []

    def slow(request):
        seen.append(request.extensions["timeout"]["read"])
        clock.now += request.extensions["timeout"]["read"]  # the read times out
        raise httpx.ReadTimeout("timed out", request=request)

    client = _client(slow, clock, max_total_seconds=45, read_timeout=30, base_delay=1)
    with pytest.raises(RetriesExhausted) as info:
        client.get("/x")
    assert not isinstance(info.value, SourceUnreachable)  # the server was reached
    assert seen[0] == 30 and all(t <= 45 for t in seen) and seen[-1] < 30
    assert clock.now <= 45 + 1e-6


def test_probe_only_gives_up_after_one_unreached_attempt_but_not_once_reached():
    clock = FakeClock()

    def refuse(request):
        raise httpx.ConnectError("refused", request=request)

    client = _client(refuse, clock, probe_only=True)
    with pytest.raises(SourceUnreachable):
        client.get("/x")
    assert client.stats.requests == 1 and clock.now == 0

    calls = []

    def flaky(request):
        calls.append(1)
        if len(calls) in (2, 3):  # the server answered once: retried as usual
            return httpx.Response(503, json={})
        return httpx.Response(200, json={"ok": True})

    client = _client(flaky, FakeClock(), probe_only=True)
    assert client.get("/a") == {"ok": True}
    assert client.get("/b") == {"ok": True}
    assert len(calls) == 4

"""The sandbox core: one ASGI app hosting every API, fault injection, request accounting.

Each API is a :class:`SandboxApi` mounted under its own prefix (``/meta``, ``/google-ads``),
which stands for its host (``https://graph.facebook.com``...): the Airflow Connection of the
connector points at ``<sandbox base URL>/<prefix>``. An API module provides:

- ``prefix`` and ``name``;
- ``router()``: a FastAPI ``APIRouter`` with the API's endpoints, paging and auth checks;
- ``error_response(kind)``: the API's own error body for an injected fault
  (``rate_limit``, ``server_error``, ``auth``);
- ``truth()``: every record the API currently serves, per raw table and account, exactly as
  served (``{"meta__leads": {account_id: {record_id: payload}}}``), and ``broken()``: the
  records served without a required field (they must end in quarantine);
- ``connection(base_url)``: the Airflow Connection (JSON form) that points a connector at it.

Faults (:class:`Faults`), drawn per request from one seeded RNG, or scripted in order:

- ``rate_limit``: HTTP 429 with ``Retry-After`` and the API's rate-limit body;
- ``server_error``: HTTP 500/503 with the API's error body;
- ``slow``: the response is delayed by ``slow_seconds`` (a client with a shorter read timeout
  sees a timeout);
- ``truncate``: a 200 whose JSON body is cut short (Content-Length matches the cut body);
- ``disconnect``: the connection is dropped before any response.

Page-level faults are applied by the API routers through :meth:`Sandbox.perturb`: duplicate
records (within the page or repeated from the previous one) and out-of-order records.
Schema drift (a new field, a missing required field) is part of each API's data set.

A real rate limiter (``rate_limit_per_second``, a token bucket per API) answers like the
``rate_limit`` fault when exceeded.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import JSONResponse, Response

FAULT_KINDS = ("rate_limit", "server_error", "slow", "truncate", "disconnect")


@dataclass
class Faults:
    """What to inject. ``rate`` is the per-request probability of one of ``kinds``."""

    rate: float = 0.0
    kinds: dict[str, float] = field(
        default_factory=lambda: {
            "rate_limit": 1.0,
            "server_error": 1.0,
            "slow": 0.5,
            "truncate": 1.0,
            "disconnect": 0.5,
        }
    )
    script: list[str | None] = field(default_factory=list)  # consumed first, one per request
    retry_after: str = "1"
    slow_seconds: float = 0.5
    duplicate_rate: float = 0.0  # per page: add a duplicate record
    shuffle: bool = False  # serve each page's records in random order
    rate_limit_per_second: float | None = None
    seed: int = 7


class SandboxApi(Protocol):
    name: str
    prefix: str

    def router(self) -> APIRouter: ...

    def error_response(self, kind: str) -> Response: ...

    def truth(self) -> dict[str, dict[str, dict[str, Any]]]: ...

    def broken(self) -> dict[str, dict[str, list[dict[str, Any]]]]: ...

    def connection(self, base_url: str) -> dict[str, Any]: ...


def http_connection(
    base_url: str, prefix: str, *, password: str | None = None, **extra: str
) -> dict[str, Any]:
    """An Airflow Connection (JSON form) pointing at ``<base_url>/<prefix>``."""
    conn: dict[str, Any] = {"conn_type": "http", "host": f"{base_url}/{prefix}"}
    if password is not None:
        conn["password"] = password
    if extra:
        conn["extra"] = dict(extra)
    return conn


class _Bucket:
    def __init__(self, per_second: float) -> None:
        self.rate = per_second
        self.tokens = per_second
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Sandbox:
    """Holds the APIs, the clock the data is visible at, the faults and the request log."""

    def __init__(self, apis: Sequence[SandboxApi], faults: Faults | None = None) -> None:
        self.apis = {api.prefix: api for api in apis}
        self.world: Any = None  # the World the APIs draw from (set by build_sandbox)
        self.faults = faults or Faults()
        self._rng = random.Random(self.faults.seed)  # noqa: S311 - synthetic faults
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self.requests = 0
        self.fault_counts: Counter[str] = Counter()
        self.paths: Counter[str] = Counter()
        self.duplicates_served = 0
        self.pages_shuffled = 0
        self._hold_at: int | None = None
        self.held = threading.Event()  # set when the held request has arrived
        self._release = threading.Event()

    # -- control ------------------------------------------------------------------------------

    def set_faults(self, faults: Faults) -> None:
        with self._lock:
            self.faults = faults
            self._rng = random.Random(faults.seed)  # noqa: S311
            self._buckets.clear()

    def hold(self, at_request: int) -> None:
        """Hold the API request number ``at_request`` (of :attr:`requests`) without answering
        until :meth:`release`; :attr:`held` is set when it arrives. Tests use it to stop a
        client at a known point (e.g. to SIGKILL it there) without guessing with sleeps."""
        with self._lock:
            self._hold_at = at_request
            self.held.clear()
            self._release.clear()

    def release(self) -> None:
        with self._lock:
            self._hold_at = None
        self._release.set()

    async def _maybe_hold(self, number: int) -> None:
        if number != self._hold_at:
            return
        self.held.set()
        await asyncio.get_running_loop().run_in_executor(None, self._release.wait, 120)

    def api(self, name: str) -> SandboxApi:
        for api in self.apis.values():
            if api.name == name:
                return api
        raise KeyError(name)

    def truth(self) -> dict[str, dict[str, dict[str, Any]]]:
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for api in self.apis.values():
            out.update(api.truth())
        return out

    def broken(self) -> dict[str, dict[str, list[dict[str, Any]]]]:
        out: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for api in self.apis.values():
            out.update(api.broken())
        return out

    def stats(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "faults": dict(self.fault_counts),
            "faults_total": sum(self.fault_counts.values()),
            "duplicates_served": self.duplicates_served,
            "pages_shuffled": self.pages_shuffled,
        }

    # -- page-level faults --------------------------------------------------------------------

    def perturb(self, records: list[Any], previous: Iterable[Any] = ()) -> list[Any]:
        """Duplicates and disorder on one page (the page's cursor is computed before this)."""
        out = list(records)
        with self._lock:
            previous = list(previous)
            if out and self._rng.random() < self.faults.duplicate_rate:
                pool = previous or out
                out.insert(self._rng.randrange(len(out) + 1), self._rng.choice(pool))
                self.duplicates_served += 1
            if self.faults.shuffle and len(out) > 1:
                self._rng.shuffle(out)
                self.pages_shuffled += 1
        return out

    def _draw_fault(self, prefix: str) -> str | None:
        with self._lock:
            self.requests += 1
            if self.faults.script:
                return self.faults.script.pop(0)
            per_second = self.faults.rate_limit_per_second
            if per_second:
                bucket = self._buckets.setdefault(prefix, _Bucket(per_second))
                if not bucket.take():
                    return "rate_limit"
            if self.faults.rate and self._rng.random() < self.faults.rate:
                kinds = [k for k, w in self.faults.kinds.items() if w > 0]
                weights = [self.faults.kinds[k] for k in kinds]
                return self._rng.choices(kinds, weights=weights)[0]
            return None

    # -- the ASGI app -------------------------------------------------------------------------

    def app(self) -> FastAPI:
        app = FastAPI(title="dealerfunnel API sandbox", docs_url=None, redoc_url=None)
        for prefix, api in self.apis.items():
            app.include_router(api.router(), prefix=f"/{prefix}")

        @app.get("/_sandbox/stats")
        def stats() -> dict[str, Any]:
            return self.stats()

        @app.post("/_sandbox/echo/{status}")
        async def echo(status: int, request: Request) -> Response:
            """For tests only: an OAuth-style error whose description echoes the request body
            (a token endpoint that puts the submitted form, secrets included, in its error)."""
            body = (await request.body()).decode("utf-8", "replace")
            return json_response({"error": "echo", "error_description": body}, status=status)

        sandbox = self

        @app.middleware("http")
        async def inject_faults(request: Request, call_next):
            path = request.url.path
            prefix = path.strip("/").split("/", 1)[0]
            api = sandbox.apis.get(prefix)
            if api is None:
                return await call_next(request)
            sandbox.paths[path] += 1
            kind = sandbox._draw_fault(prefix)
            await sandbox._maybe_hold(sandbox.requests)
            if kind is None:
                return await call_next(request)
            sandbox.fault_counts[kind] += 1
            if kind in ("rate_limit", "server_error", "auth"):
                response = api.error_response(kind)
                if kind == "rate_limit":
                    response.headers["Retry-After"] = sandbox.faults.retry_after
                return response
            if kind == "slow":
                await asyncio.sleep(sandbox.faults.slow_seconds)
                return await call_next(request)
            if kind == "disconnect":  # headers promise more body than is sent
                return _CutShort()
            response = await call_next(request)  # truncate
            body = b"".join([chunk async for chunk in response.body_iterator])
            cut = body[: max(1, len(body) // 2)]
            headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
            return Response(cut, status_code=response.status_code, headers=headers)

        return app


class _CutShort(Response):
    """Declares a 4 KiB body, sends 9 bytes: the server drops the connection mid-body."""

    async def __call__(self, scope, receive, send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"data":[', "more_body": False})


class _QuietCutShort(logging.Filter):
    """Keep the deliberate cut-short responses out of the server log."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (exc is not None and "shorter than Content-Length" in str(exc))


logging.getLogger("uvicorn.error").addFilter(_QuietCutShort())


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    if value.lower().startswith("bearer "):
        return value[7:].strip()
    return request.query_params.get("access_token")


def utc_now() -> datetime:
    return datetime.now(UTC)


__all__ = [
    "FAULT_KINDS",
    "Faults",
    "JSONResponse",
    "Sandbox",
    "SandboxApi",
    "bearer",
    "json_response",
]

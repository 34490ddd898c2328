"""One HTTP client for every connector: retries, backoff, rate limits, auth failures.

- **Retried**: HTTP 5xx and 408, timeouts and transport errors (connection reset, truncated
  transfer), bodies that are not valid JSON (truncated), and rate limits (HTTP 429 or an API's
  own throttling codes, e.g. Meta 4/17/32/613).
- **Delay**: exponential backoff with "equal jitter" (half the exponential step, plus a random
  half), capped at ``max_delay``; a rate limit waits what the server asked for instead
  (``Retry-After`` in seconds or as an HTTP date, or an API-specific hint such as Google Ads'
  ``retryDelay``), capped at ``max_retry_after``.
- **Bounded**: at most ``max_attempts`` requests and ``max_total_seconds`` of wall-clock time per
  call (the requests themselves included: each attempt's timeout is cut to what is left); then
  :class:`RetriesExhausted`, or :class:`SourceUnreachable` when no attempt reached the server
  (connection refused, DNS, connect timeout). Every request has a connect and a read timeout.
  Defaults (environment variables, read when a client is built without a policy):

  | setting | default | variable |
  | --- | --- | --- |
  | connect timeout | 5 s | ``DEALERFUNNEL_HTTP_CONNECT_TIMEOUT`` |
  | read timeout | 30 s | ``DEALERFUNNEL_HTTP_READ_TIMEOUT`` |
  | retry budget per call (wall clock) | 120 s | ``DEALERFUNNEL_HTTP_TOTAL_SECONDS`` |
  | attempts per call | 8 | ``DEALERFUNNEL_HTTP_MAX_ATTEMPTS`` |

  A task makes many calls, but a source that is down fails the first one: a task against a
  down source ends within the budget plus one timeout.
- **Secrets**: never logged. Messages carry the method and path only (no query string, no
  body); every secret is redacted in each encoding it can take (raw, URL-encoded, base64,
  JSON-escaped; :mod:`dealerfunnel.redaction`) and registered with Airflow's secrets masker;
  ``httpx``'s own request log lines (full URLs) are silenced below WARNING.
- **Auth**: 401/403 (or what the API's :class:`Dialect` calls auth) is never retried, except
  for one token refresh when the auth scheme can refresh (OAuth2); then :class:`AuthFailed`
  naming the Airflow connection id. Secrets are redacted from every message.
- **Testable**: ``sleep``, ``clock`` and ``rng`` are injectable.

Each API supplies a :class:`Dialect` that classifies its error bodies; the retry loop is shared.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal, Protocol

import httpx

from dealerfunnel import redaction
from dealerfunnel.settings import ConfigError
from dealerfunnel.sources.errors import ApiError, AuthFailed, RetriesExhausted, SourceUnreachable

log = logging.getLogger(__name__)
# httpx logs every request's full URL at INFO (query strings may carry credentials).
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)

FailureKind = Literal["retry", "rate_limited", "auth", "fatal"]


POLICY_ENVIRONMENT = {
    "connect_timeout": "DEALERFUNNEL_HTTP_CONNECT_TIMEOUT",
    "read_timeout": "DEALERFUNNEL_HTTP_READ_TIMEOUT",
    "max_total_seconds": "DEALERFUNNEL_HTTP_TOTAL_SECONDS",
    "max_attempts": "DEALERFUNNEL_HTTP_MAX_ATTEMPTS",
}


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay: float = 1.0
    max_delay: float = 60.0
    max_retry_after: float = 300.0
    max_total_seconds: float = 120.0
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    # One attempt only until the server has answered once: set when the same source was just
    # found unreachable (see dealerfunnel.sources.registry.extract), so the next tasks of an
    # outage probe once instead of spending the whole budget again.
    probe_only: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RetryPolicy:
        """The defaults, overridden by the ``DEALERFUNNEL_HTTP_*`` variables (module docstring);
        a value that is not a positive number is a :class:`ConfigError` naming the variable."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, variable in POLICY_ENVIRONMENT.items():
            text = environ.get(variable, "").strip()
            if not text:
                continue
            try:
                value = int(text) if name == "max_attempts" else float(text)
            except ValueError:
                value = 0
            if not value > 0:
                raise ConfigError(f"{variable}: must be a positive number, got {text!r}")
            values[name] = value
        return cls(**values)


@dataclass(frozen=True)
class Failure:
    """Why a response is not a success, and what to do about it."""

    kind: FailureKind
    message: str
    retry_after: float | None = None


def backoff_delay(attempt: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Delay before retry number ``attempt`` (1-based): equal jitter over an exponential step."""
    step = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
    return step / 2 + rng.uniform(0, step / 2)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date); None if absent
    or unparseable. A date in the past gives 0."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if seconds == seconds else None  # NaN -> None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def parse_duration(value: Any) -> float | None:
    """A protobuf JSON ``Duration`` (``"30s"``, ``"1.5s"``) in seconds; None if not one."""
    if not isinstance(value, str):
        return None
    match = _DURATION.match(value)
    return float(match.group(1)) if match else None


def unreadable_error(status: int, body: str) -> Failure:
    """An error response whose JSON body cannot be read (cut short): 401/403 stay auth
    failures, 429 a rate limit; anything else is retried (bounded), never taken as fatal."""
    if status in (401, 403):
        return Failure("auth", f"HTTP {status} (unreadable body)")
    kind: FailureKind = "rate_limited" if status == 429 else "retry"
    return Failure(kind, f"HTTP {status} with an unreadable body ({len(body)} chars)")


def default_classify(status: int, headers: Mapping[str, str], body: str) -> Failure | None:
    """Plain HTTP semantics; APIs refine this in their :class:`Dialect`."""
    if 200 <= status < 300:
        return None
    snippet = body[:300].replace("\n", " ")
    if status in (401, 403):
        return Failure("auth", f"HTTP {status}: {snippet}")
    if status == 429:
        return Failure(
            "rate_limited", f"HTTP 429: {snippet}", parse_retry_after(headers.get("retry-after"))
        )
    if status >= 500 or status == 408:
        return Failure("retry", f"HTTP {status}: {snippet}")
    return Failure("fatal", f"HTTP {status}: {snippet}")


class Dialect(Protocol):
    """How one API reports errors."""

    def classify(self, status: int, headers: Mapping[str, str], body: str) -> Failure | None: ...


class DefaultDialect:
    def classify(self, status: int, headers: Mapping[str, str], body: str) -> Failure | None:
        return default_classify(status, headers, body)


class Auth(Protocol):
    """Request credentials. ``refresh()`` returns False when the scheme cannot refresh."""

    def headers(self) -> dict[str, str]: ...

    def refresh(self) -> bool: ...


class NoAuth:
    def headers(self) -> dict[str, str]:
        return {}

    def refresh(self) -> bool:
        return False


class BearerToken:
    """A long-lived token (e.g. a Meta system-user or page access token)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def refresh(self) -> bool:
        return False


@dataclass
class ClientStats:
    requests: int = 0
    retries: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    slept_seconds: float = 0.0
    token_refreshes: int = 0

    def count(self, kind: str) -> None:
        self.failures[kind] = self.failures.get(kind, 0) + 1


class HttpClient:
    """JSON over HTTP with the retry rules of the module docstring.

    ``base_url`` comes from the Airflow Connection; ``conn_id`` is only used in messages.
    ``secrets`` are redacted from every message this client raises or logs.
    """

    def __init__(
        self,
        base_url: str,
        *,
        conn_id: str,
        dialect: Dialect | None = None,
        auth: Auth | None = None,
        policy: RetryPolicy | None = None,
        secrets: Iterable[str] = (),
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.conn_id = conn_id
        self.dialect = dialect or DefaultDialect()
        self.auth = auth or NoAuth()
        self.policy = policy or RetryPolicy.from_env()
        self._secrets: list[str] = []
        self.add_secrets(secrets)
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self.stats = ClientStats()
        self._reached = False
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=dict(headers or {}),
            timeout=httpx.Timeout(self.policy.read_timeout, connect=self.policy.connect_timeout),
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_secrets(self, secrets: Iterable[str]) -> None:
        """Redact ``secrets`` (every encoding) from this client's messages, and register them
        with Airflow's secrets masker."""
        values = [s for s in secrets if s]
        if not values:
            return
        self._secrets = redaction.all_variants([*self._secrets, *values])
        redaction.register(values)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, redaction.MASK)
        return text

    def get(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(
        self,
        path: str,
        *,
        json_body: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        authenticated: bool = True,
    ) -> Any:
        return self.request(
            "POST",
            path,
            json_body=json_body,
            data=data,
            headers=headers,
            authenticated=authenticated,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        authenticated: bool = True,
    ) -> Any:
        """Send until a JSON success, an auth failure, a fatal error or the budget runs out."""
        policy = self.policy
        deadline = self._clock() + policy.max_total_seconds
        refreshed = False
        what = f"{method} {path.split('?')[0]}"
        attempt = 0
        reached = self._reached  # did any attempt get an answer (or at least a connection)?
        while True:
            attempt += 1
            failure = None
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise self._exhausted(what, attempt - 1, "time budget spent", reached)
            try:
                merged = dict(headers or {})
                if authenticated:
                    merged.update(self.auth.headers())
                self.stats.requests += 1
                response = self._http.request(
                    method,
                    path,
                    params=params,
                    json=json_body,
                    data=data,
                    headers=merged,
                    timeout=httpx.Timeout(
                        min(policy.read_timeout, remaining),
                        connect=min(policy.connect_timeout, remaining),
                    ),
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                failure = Failure("retry", f"cannot connect ({type(exc).__name__}: {exc})")
            except httpx.TimeoutException as exc:
                reached = True
                failure = Failure("retry", f"timeout ({type(exc).__name__})")
            except httpx.TransportError as exc:
                reached = True
                failure = Failure("retry", f"transport error ({type(exc).__name__}: {exc})")
            else:
                reached = True
                failure = self.dialect.classify(
                    response.status_code, response.headers, response.text
                )
                self._reached = True
                if failure is None:
                    try:
                        return json.loads(response.content)
                    except ValueError:
                        failure = Failure(
                            "retry",
                            f"invalid or truncated JSON body ({len(response.content)} bytes)",
                        )
            self.stats.count(failure.kind)
            message = self.redact(failure.message)
            if failure.kind == "auth":
                if authenticated and not refreshed and self.auth.refresh():
                    refreshed = True
                    self.stats.token_refreshes += 1
                    log.info("%s: %s; refreshed the access token, retrying once", what, message)
                    continue
                raise AuthFailed(self.conn_id, f"{what}: {message}")
            if failure.kind == "fatal":
                raise ApiError(f"connection {self.conn_id!r}: {what}: {message}")
            if failure.kind == "rate_limited" and failure.retry_after is not None:
                delay = min(failure.retry_after, policy.max_retry_after)
            else:
                delay = backoff_delay(attempt, policy, self._rng)
            self._reached = self._reached or reached
            if (
                attempt >= policy.max_attempts
                or self._clock() + delay > deadline
                or (policy.probe_only and not reached)
            ):
                raise self._exhausted(what, attempt, message, reached)
            log.warning(
                "%s: %s; retry %d/%d in %.2fs",
                what,
                message,
                attempt,
                policy.max_attempts - 1,
                delay,
            )
            self.stats.retries += 1
            self.stats.slept_seconds += delay
            self._sleep(delay)

    def _exhausted(self, what: str, attempts: int, last: str, reached: bool) -> RetriesExhausted:
        """The error of a call that gave up: :class:`SourceUnreachable` when no attempt got
        through to the server, else :class:`RetriesExhausted`."""
        spent = f"{attempts} attempts within {self.policy.max_total_seconds:g}s"
        if not reached:
            return SourceUnreachable(
                f"connection {self.conn_id!r}: {what}: {self.base_url} unreachable after "
                f"{spent} (last: {last})"
            )
        return RetriesExhausted(
            f"connection {self.conn_id!r}: {what}: gave up after {spent} (last: {last})"
        )

    @property
    def base_url(self) -> str:
        """The base URL without any credentials it might carry (``user:pass@``)."""
        url = self._http.base_url
        port = f":{url.port}" if url.port else ""
        return f"{url.scheme}://{url.host}{port}{url.path}".rstrip("/")


class OAuth2RefreshToken:
    """OAuth 2.0 refresh-token grant (RFC 6749 §6), as Google's token endpoint implements it.

    ``POST token_url`` with ``grant_type=refresh_token, client_id, client_secret,
    refresh_token`` returns ``{"access_token", "expires_in", "token_type"}``. The token is
    refreshed when missing, within ``skew`` seconds of expiry, or when the API answers 401
    (once per request, see :class:`HttpClient`). ``invalid_grant`` / ``invalid_client`` are
    auth failures; the token endpoint's own 5xx/429 are retried by ``token_client``.
    """

    def __init__(
        self,
        token_client: HttpClient,
        token_path: str,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        clock: Callable[[], float] = time.monotonic,
        skew: float = 60.0,
    ) -> None:
        self._client = token_client
        self._path = token_path
        self._form = {
            "grant_type": "refresh_token",
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": refresh_token,
        }
        self._clock = clock
        self._skew = skew
        self._token: str | None = None
        self._expires_at = 0.0

    def headers(self) -> dict[str, str]:
        if self._token is None or self._clock() >= self._expires_at - self._skew:
            self.refresh()
        return {"Authorization": f"Bearer {self._token}"}

    def refresh(self) -> bool:
        body = self._client.post(self._path, data=self._form, authenticated=False)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise AuthFailed(self._client.conn_id, "token endpoint returned no access_token")
        self._client.add_secrets([token])
        self._token = token
        self._expires_at = self._expiry(body)
        return True

    def _expiry(self, body: dict[str, Any]) -> float:
        """When the token from the token endpoint's ``body`` expires (on :attr:`_clock`)."""
        return self._clock() + float(body.get("expires_in") or 3600)


class JsonErrorDialect:
    """A dialect whose error bodies are JSON: success is no failure, an unreadable body is
    :func:`unreadable_error`, and :meth:`classify_json` classifies the decoded body."""

    def classify(self, status: int, headers: Mapping[str, str], body: str) -> Failure | None:
        if 200 <= status < 300:
            return None
        try:
            parsed = json.loads(body)
        except ValueError:
            return unreadable_error(status, body)
        return self.classify_json(status, headers, body, parsed)

    def classify_json(
        self, status: int, headers: Mapping[str, str], body: str, parsed: Any
    ) -> Failure | None:
        raise NotImplementedError


def coded_failure(
    status: int,
    headers: Mapping[str, str],
    text: str,
    *,
    throttled: bool,
    auth: bool,
    retry: bool = False,
) -> Failure:
    """The failure for an API error code, checked in order: throttling (or 429, waiting
    ``Retry-After``), ``auth``, ``retry`` (or a 5xx), else fatal."""
    if throttled or status == 429:
        return Failure("rate_limited", text, parse_retry_after(headers.get("retry-after")))
    if auth:
        return Failure("auth", text)
    if retry or status >= 500:
        return Failure("retry", text)
    return Failure("fatal", text)


class CodedErrorDialect(JsonErrorDialect):
    """An API whose error bodies carry an error code: :meth:`describe` reads ``(code, text)``
    from the decoded body (None: not an error body of the API, so plain HTTP semantics), then
    :func:`coded_failure` classifies it by the class's code sets and ``AUTH_STATUSES``."""

    AUTH_CODES: frozenset[str] = frozenset()
    THROTTLE_CODES: frozenset[str] = frozenset()
    RETRY_CODES: frozenset[str] = frozenset()
    AUTH_STATUSES: frozenset[int] = frozenset({401, 403})

    def describe(self, status: int, parsed: Any) -> tuple[str, str] | None:
        raise NotImplementedError

    def classify_json(
        self, status: int, headers: Mapping[str, str], body: str, parsed: Any
    ) -> Failure | None:
        described = self.describe(status, parsed)
        if described is None:
            return default_classify(status, headers, body)
        code, text = described
        return coded_failure(
            status,
            headers,
            text,
            throttled=code in self.THROTTLE_CODES,
            auth=code in self.AUTH_CODES or status in self.AUTH_STATUSES,
            retry=code in self.RETRY_CODES,
        )


class OAuthTokenDialect(JsonErrorDialect):
    """Errors of an OAuth 2.0 token endpoint (RFC 6749 §5.2): ``{"error", "error_description"}``."""

    AUTH_ERRORS = frozenset(
        {"invalid_grant", "invalid_client", "unauthorized_client", "invalid_request"}
    )

    def classify_json(
        self, status: int, headers: Mapping[str, str], body: str, error: Any
    ) -> Failure | None:
        code = error.get("error") if isinstance(error, dict) else None
        if not isinstance(code, str):  # e.g. a Google-style {"error": {...}} object from a proxy
            code = None
        if code in self.AUTH_ERRORS or status in (400, 401, 403):
            description = error.get("error_description", "") if isinstance(error, dict) else ""
            return Failure("auth", f"token endpoint HTTP {status} {code}: {description}".strip())
        return default_classify(status, headers, body)

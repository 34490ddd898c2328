"""Register the warehouse in Metabase as its HQ reader login (``metabase-setup``).

Talks to Metabase's documented HTTP API (https://www.metabase.com/docs/latest/api):

1. ``GET /api/health`` until it answers ``{"status": "ok"}`` (503 ``initializing`` meanwhile);
2. ``GET /api/session/properties``: a fresh Metabase shows a ``setup-token`` and
   ``has-user-setup`` false; then ``POST /api/setup`` creates the first admin and adds the
   warehouse in one call;
3. otherwise ``POST /api/session`` logs the admin in (``X-Metabase-Session`` header), and
   ``POST /api/database`` adds the warehouse unless ``GET /api/database`` already lists a
   database of that name, so a second run changes nothing.

The warehouse is read as ``metabase_hq`` (an HQ reader made by the ``roles`` command),
restricted to schema ``marts``. Every secret comes from an environment variable; a missing one
is named, never shown; every message and error passes through :func:`dealerfunnel.redaction.redact`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from dealerfunnel.redaction import redact
from dealerfunnel.settings import ConfigError

log = logging.getLogger(__name__)

DATABASE_NAME = "Dealer funnel warehouse"
SESSION_HEADER = "X-Metabase-Session"
# environment variable -> default (None: required)
ENVIRONMENT: dict[str, str | None] = {
    "MB_URL": "http://metabase:3000",
    "MB_ADMIN_EMAIL": None,
    "MB_ADMIN_PASSWORD": None,
    "MB_ADMIN_FIRST_NAME": "Dealer funnel",
    "MB_ADMIN_LAST_NAME": "Admin",
    "MB_SITE_NAME": "Dealer funnel",
    "METABASE_HQ_PASSWORD": None,
    "MB_WAREHOUSE_HOST": "warehouse-db",
    "MB_WAREHOUSE_PORT": "5432",
    "MB_WAREHOUSE_DBNAME": "warehouse",
    "MB_WAREHOUSE_USER": "metabase_hq",
}
SECRET_VARIABLES = ("MB_ADMIN_PASSWORD", "METABASE_HQ_PASSWORD")


class MetabaseError(RuntimeError):
    """Metabase did not become healthy or refused a call; the message is redacted."""


@dataclass(frozen=True)
class MetabaseSettings:
    url: str
    admin_email: str
    admin_password: str
    first_name: str
    last_name: str
    site_name: str
    hq_password: str
    warehouse_host: str
    warehouse_port: int
    warehouse_dbname: str
    warehouse_user: str

    @property
    def secrets(self) -> list[str]:
        return [self.admin_password, self.hq_password]

    def database(self) -> dict[str, Any]:
        """The ``engine``/``name``/``details`` of the warehouse, as /api/setup and
        /api/database take them: schema ``marts`` only, as the HQ reader login."""
        return {
            "engine": "postgres",
            "name": DATABASE_NAME,
            "details": {
                "host": self.warehouse_host,
                "port": self.warehouse_port,
                "dbname": self.warehouse_dbname,
                "user": self.warehouse_user,
                "password": self.hq_password,
                "schema-filters-type": "inclusion",
                "schema-filters-patterns": "marts",
                "ssl": False,
            },
        }


def settings_from_env(env: Mapping[str, str] | None = None) -> MetabaseSettings:
    """Read :data:`ENVIRONMENT`; a missing/empty required variable raises :class:`ConfigError`
    naming it (its value, if any, is never part of the message)."""
    env = os.environ if env is None else env
    values: dict[str, str] = {}
    missing = []
    for name, default in ENVIRONMENT.items():
        value = (env.get(name) or "").strip() or default
        if value is None:
            missing.append(name)
        else:
            values[name] = value
    if missing:
        raise ConfigError(f"metabase-setup: set the environment variable(s) {', '.join(missing)}")
    try:
        port = int(values["MB_WAREHOUSE_PORT"])
    except ValueError:
        raise ConfigError("metabase-setup: MB_WAREHOUSE_PORT must be a port number") from None
    return MetabaseSettings(
        url=values["MB_URL"].rstrip("/"),
        admin_email=values["MB_ADMIN_EMAIL"],
        admin_password=env["MB_ADMIN_PASSWORD"],  # as given: spaces may be part of it
        first_name=values["MB_ADMIN_FIRST_NAME"],
        last_name=values["MB_ADMIN_LAST_NAME"],
        site_name=values["MB_SITE_NAME"],
        hq_password=env["METABASE_HQ_PASSWORD"],
        warehouse_host=values["MB_WAREHOUSE_HOST"],
        warehouse_port=port,
        warehouse_dbname=values["MB_WAREHOUSE_DBNAME"],
        warehouse_user=values["MB_WAREHOUSE_USER"],
    )


class _Api:
    def __init__(self, settings: MetabaseSettings, timeout: float) -> None:
        self.settings = settings
        self.client = httpx.Client(base_url=settings.url, timeout=timeout)

    def say(self, message: str) -> None:
        log.info("%s", redact(message, self.settings.secrets))

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise self.error(f"{method} {path}: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 400:
            raise self.error(
                f"{method} {path} answered HTTP {response.status_code}: {response.text[:500]}"
            )
        return response.json() if response.content else None

    def error(self, message: str) -> MetabaseError:
        return MetabaseError(redact(" ".join(message.split()), self.settings.secrets))

    def wait_healthy(self, wait_seconds: float, poll_seconds: float) -> None:
        deadline = time.monotonic() + wait_seconds
        last = "no answer"
        while True:
            try:
                response = self.client.get("/api/health")
                body = response.json() if response.content else {}
                if response.status_code == 200 and body.get("status") == "ok":
                    return
                last = f"HTTP {response.status_code} {body}"
            except (httpx.HTTPError, ValueError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            if time.monotonic() >= deadline:
                raise self.error(
                    f"Metabase at {self.settings.url} not healthy after {wait_seconds:.0f}s "
                    f"(last: {last})"
                )
            time.sleep(poll_seconds)


def setup_metabase(
    settings: MetabaseSettings,
    *,
    wait_seconds: float = 600,
    poll_seconds: float = 5,
    timeout: float = 60,
) -> str:
    """Make Metabase read the warehouse as the HQ reader; return what was done:
    ``"setup"`` (a fresh Metabase: admin and database created by /api/setup), ``"created"``
    (database added to a set-up Metabase) or ``"exists"`` (nothing to do)."""
    api = _Api(settings, timeout)
    with api.client:
        api.say(f"waiting for Metabase at {settings.url}")
        api.wait_healthy(wait_seconds, poll_seconds)
        properties = api.call("GET", "/api/session/properties") or {}
        token = properties.get("setup-token")
        if token and not properties.get("has-user-setup", False):
            api.call(
                "POST",
                "/api/setup",
                json={
                    "token": token,
                    "user": {
                        "first_name": settings.first_name,
                        "last_name": settings.last_name,
                        "email": settings.admin_email,
                        "password": settings.admin_password,
                        "site_name": settings.site_name,
                    },
                    "prefs": {"site_name": settings.site_name, "allow_tracking": False},
                    "database": settings.database(),
                },
            )
            api.say(
                f"Metabase set up: admin {settings.admin_email}, database {DATABASE_NAME!r} "
                f"read as {settings.warehouse_user}"
            )
            return "setup"
        session = api.call(
            "POST",
            "/api/session",
            json={"username": settings.admin_email, "password": settings.admin_password},
        )
        if not isinstance(session, dict) or not session.get("id"):
            raise api.error("POST /api/session answered without a session id")
        api.client.headers[SESSION_HEADER] = session["id"]
        listed = api.call("GET", "/api/database")
        # {"data": [...], "total": n} since v0.42; a bare list before
        databases = listed.get("data", []) if isinstance(listed, dict) else listed or []
        if any(db.get("name") == DATABASE_NAME for db in databases):
            api.say(f"Metabase already has the database {DATABASE_NAME!r}: nothing to do")
            return "exists"
        api.call("POST", "/api/database", json=settings.database())
        api.say(f"Metabase database {DATABASE_NAME!r} added, read as {settings.warehouse_user}")
        return "created"

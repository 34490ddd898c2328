"""Where a connector's settings come from.

- **Airflow Connection** (``conn_id`` per source, e.g. ``meta_ads``, ``google_ads``): base URL,
  credentials, optionally the API version. Read with ``airflow.sdk.BaseHook.get_connection``,
  so ``AIRFLOW_CONN_<ID>`` (URI or JSON) or any secrets backend works. The base URL is the
  ``host`` when it carries a scheme (``https://graph.facebook.com``), else
  ``<schema or https>://<host>[:<port>]``; ``extra.base_url`` overrides both. Credentials:
  ``password`` (an access token) and ``extra`` keys named by each connector.
- **config/sources.yml**: per source, the Connection id, the API version the connector is
  written against, options, and the per-dealer accounts::

      meta:
        conn_id: meta_ads
        api_version: v23.0
        options: {page_size: 100, insights_lookback_days: 3, start_date: 2026-05-04}
        dealers:
          SH001: {ad_account_id: act_100000000001, page_id: "200000000001"}

  Each connector declares the account keys it requires and allows (:class:`AccountSchema`);
  errors name the key (``sources.yml: meta.dealers.SH001.page_id: required``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from dealerfunnel.settings import load_yaml
from dealerfunnel.sources.errors import SourceConfigError

SOURCES_FILE = "sources.yml"
SECRET_EXTRA_KEYS = ("token", "secret", "password", "key")


@dataclass(frozen=True)
class SourceConnection:
    """An Airflow Connection reduced to what a connector needs. ``repr`` hides secrets."""

    conn_id: str
    base_url: str
    password: str | None = None
    login: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"SourceConnection(conn_id={self.conn_id!r}, base_url={self.base_url!r})"

    def secrets(self) -> list[str]:
        values = [self.password or ""]
        for key, value in self.extra.items():
            if isinstance(value, str) and any(s in key.lower() for s in SECRET_EXTRA_KEYS):
                values.append(value)
        return [v for v in values if v]

    def require_extra(self, key: str) -> str:
        value = self.extra.get(key)
        if value in (None, ""):
            raise SourceConfigError(f"Airflow connection {self.conn_id!r}: extra.{key} is required")
        return str(value)


def connection_from_airflow(conn: Any) -> SourceConnection:
    """Build a :class:`SourceConnection` from an Airflow ``Connection`` object."""
    extra = dict(conn.extra_dejson or {})
    host = (conn.host or "").strip()
    if extra.get("base_url"):
        base = str(extra["base_url"])
    elif "://" in host:
        base = host
    elif host:
        scheme = conn.schema or "https"
        base = f"{scheme}://{host}" + (f":{conn.port}" if conn.port else "")
    else:
        raise SourceConfigError(f"Airflow connection {conn.conn_id!r}: host (base URL) is empty")
    return SourceConnection(
        conn_id=conn.conn_id,
        base_url=base.rstrip("/"),
        password=conn.password or None,
        login=conn.login or None,
        extra=extra,
    )


def load_connection(conn_id: str) -> SourceConnection:
    """The Airflow Connection ``conn_id``; :class:`SourceConfigError` when it is not defined."""
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:
        raise SourceConfigError(
            f"Airflow connection {conn_id!r} is not defined (create it, or set "
            f"AIRFLOW_CONN_{conn_id.upper()}): {type(exc).__name__}"
        ) from None
    return connection_from_airflow(conn)


@dataclass(frozen=True)
class AccountSchema:
    """Keys an account entry of a source must / may have, each with a regex its value matches."""

    required: Mapping[str, str]
    optional: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceSettings:
    name: str
    conn_id: str
    api_version: str
    options: Mapping[str, Any]
    dealers: Mapping[str, Mapping[str, Any]]  # dealer code -> account entry

    def option(self, key: str, default: Any) -> Any:
        return self.options.get(key, default)

    def option_date(self, key: str, default: date) -> date:
        value = self.options.get(key, default)
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError as exc:
            raise SourceConfigError(
                f"{SOURCES_FILE}: {self.name}.options.{key}: not an ISO date: {value!r}"
            ) from exc


def _check_value(key: str, value: Any, pattern: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise SourceConfigError(f"{SOURCES_FILE}: {key}: must be a string, got {value!r}")
    text = str(value)
    if not re.fullmatch(pattern, text):
        raise SourceConfigError(f"{SOURCES_FILE}: {key}: {text!r} does not match {pattern}")
    return text


def load_source_settings(
    name: str, schema: AccountSchema, data: Mapping[str, Any] | None = None
) -> SourceSettings:
    """Validate and return the ``name`` section of ``config/sources.yml`` (or of ``data``)."""
    data = load_yaml(SOURCES_FILE) if data is None else data
    section = data.get(name)
    if not isinstance(section, Mapping):
        raise SourceConfigError(f"{SOURCES_FILE}: {name}: missing or not a mapping")
    known = {"conn_id", "api_version", "options", "dealers"}
    unknown = sorted(set(section) - known)
    if unknown:
        raise SourceConfigError(f"{SOURCES_FILE}: {name}.{unknown[0]}: unknown setting")
    conn_id = _check_value(f"{name}.conn_id", section.get("conn_id", ""), r"[A-Za-z0-9_\-]+")
    api_version = _check_value(
        f"{name}.api_version", section.get("api_version", ""), r"v\d+(\.\d+)?"
    )
    options = section.get("options") or {}
    if not isinstance(options, Mapping):
        raise SourceConfigError(f"{SOURCES_FILE}: {name}.options: must be a mapping")
    dealers_raw = section.get("dealers") or {}
    if not isinstance(dealers_raw, Mapping):
        raise SourceConfigError(f"{SOURCES_FILE}: {name}.dealers: must be a mapping")
    dealers: dict[str, dict[str, Any]] = {}
    for code, entry in dealers_raw.items():
        prefix = f"{name}.dealers.{code}"
        _check_value(prefix, code, r"[A-Z]{2}\d{3}")
        if not isinstance(entry, Mapping):
            raise SourceConfigError(f"{SOURCES_FILE}: {prefix}: must be a mapping")
        extra = sorted(set(entry) - set(schema.required) - set(schema.optional))
        if extra:
            raise SourceConfigError(f"{SOURCES_FILE}: {prefix}.{extra[0]}: unknown setting")
        account: dict[str, Any] = {}
        for key, pattern in schema.required.items():
            if key not in entry or entry[key] in (None, ""):
                raise SourceConfigError(f"{SOURCES_FILE}: {prefix}.{key}: required")
            account[key] = _check_value(f"{prefix}.{key}", entry[key], pattern)
        for key, pattern in schema.optional.items():
            if key not in entry:
                continue
            value = entry[key]
            if isinstance(value, list):
                account[key] = [
                    _check_value(f"{prefix}.{key}[{i}]", v, pattern) for i, v in enumerate(value)
                ]
            else:
                account[key] = _check_value(f"{prefix}.{key}", value, pattern)
        dealers[str(code)] = account
    return SourceSettings(name, conn_id, api_version, dict(options), dealers)

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
        options: {page_size: 100, insights_lookback_days: 3, backfill_days: 90}
        dealers:
          SH001: {ad_account_id: act_100000000001, page_id: "200000000001"}

  Each connector declares its options (a subclass of :class:`SourceOptions`) and the account
  keys it requires and allows (a subclass of :class:`Account`): pydantic models that forbid
  unknown keys. Errors name the file and the key path
  (``sources.yml: meta.dealers.SH001.page_id: field required``).

**The first run's window** (every connector, ``options``): ``start_date`` (an ISO date) when
given, else ``backfill_days`` (default :data:`DEFAULT_BACKFILL_DAYS`, 90) before the time of
the extract that finds no watermark. Later runs continue from their watermark. A Connection may
pin the first day with ``extra.start_date`` (as it may pin ``extra.api_version``); the API
sandbox does so with the demo's first day.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from dealerfunnel.settings import load_yaml
from dealerfunnel.sources.errors import ConnectionNotDefined, SourceConfigError

SOURCES_FILE = "sources.yml"
DEFAULT_BACKFILL_DAYS = 90
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
        raise ConnectionNotDefined(
            f"Airflow connection {conn_id!r} is not defined (create it, or set "
            f"AIRFLOW_CONN_{conn_id.upper()}): {type(exc).__name__}"
        ) from None
    return connection_from_airflow(conn)


# -- config/sources.yml -----------------------------------------------------------------------


def _text(value: Any) -> Any:
    """YAML may give an id as a number: accept integers (never booleans) as their digits."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def Text(pattern: str) -> Any:
    """A string (or integer) setting matching ``pattern`` in full."""
    return Annotated[str, BeforeValidator(_text), Field(pattern=rf"^(?:{pattern})$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class SourceOptions(_Model):
    """Options every connector has; a connector subclasses this with its own."""

    start_date: date | None = None  # first day of the first run; default: see backfill_days
    backfill_days: int = Field(DEFAULT_BACKFILL_DAYS, ge=1)  # first run: days before its time

    def first_day(self, now: datetime, pinned: Any = None) -> date:
        """The first day of a first run at ``now`` (``pinned``: a Connection's start_date)."""
        if pinned not in (None, ""):
            try:
                return date.fromisoformat(str(pinned))
            except ValueError:
                raise SourceConfigError(
                    f"Airflow connection extra.start_date: not an ISO date: {pinned!r}"
                ) from None
        if self.start_date is not None:
            return self.start_date
        return (now.astimezone(UTC) - timedelta(days=self.backfill_days)).date()


class Account(_Model):
    """A dealer's account entry; a connector subclasses this with its keys (``Text`` types)."""

    def entry(self) -> dict[str, Any]:
        """The entry as the JSON-able mapping a work item carries (unset optional keys left out)."""
        return self.model_dump(exclude_none=True)


class _Section(_Model):
    conn_id: Text(r"[A-Za-z0-9_\-]+")
    api_version: Text(r"v\d+(\.\d+)?")
    options: dict[str, Any] = Field(default_factory=dict)
    dealers: dict[Text(r"[A-Z]{2}\d{3}"), dict[str, Any]] = Field(default_factory=dict)


@dataclass(frozen=True)
class SourceSettings:
    name: str
    conn_id: str
    api_version: str
    options: SourceOptions
    dealers: Mapping[str, Mapping[str, Any]]  # dealer code -> account entry


def _message(path: str, exc: ValidationError) -> str:
    """``sources.yml: <path>.<key path>: <what is wrong> (got <value>)`` of the first error."""
    error = exc.errors()[0]
    where = path
    for part in error["loc"]:
        if isinstance(part, int):
            where += f"[{part}]"
        elif part != "[key]":  # a mapping key that is itself invalid: the path names it already
            where += f".{part}"
    text = error["msg"]
    if error["type"] == "extra_forbidden":
        text = "unknown setting"
    elif error["type"] != "missing":
        text += f" (got {error['input']!r})"
    return f"{SOURCES_FILE}: {where}: {text[:1].lower()}{text[1:]}"


def _validate(model: type[_Model], value: Any, path: str) -> Any:
    if value is None:
        value = {}
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise SourceConfigError(_message(path, exc)) from None


def load_source_settings(
    name: str,
    account: type[Account],
    options: type[SourceOptions] = SourceOptions,
    data: Mapping[str, Any] | None = None,
) -> SourceSettings:
    """Validate and return the ``name`` section of ``config/sources.yml`` (or of ``data``).

    :class:`SourceConfigError` names the file and the key path of the first problem.
    """
    data = load_yaml(SOURCES_FILE) if data is None else data
    raw = data.get(name)
    if not isinstance(raw, Mapping):
        raise SourceConfigError(f"{SOURCES_FILE}: {name}: missing or not a mapping")
    section = _validate(_Section, raw, name)
    dealers = {
        code: _validate(account, entry, f"{name}.dealers.{code}").entry()
        for code, entry in section.dealers.items()
    }
    return SourceSettings(
        name,
        section.conn_id,
        section.api_version,
        _validate(options, section.options, f"{name}.options"),
        dealers,
    )

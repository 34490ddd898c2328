"""Scaffolding shared by the API connectors: clients, record parsing, incremental runs.

The connectors differ in their wire formats; what they share lives here so that each
module keeps only what is specific to its API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dealerfunnel.sources.config import SourceConnection, SourceSettings
from dealerfunnel.sources.errors import ApiError, SourceConfigError
from dealerfunnel.sources.httpclient import BearerToken, HttpClient
from dealerfunnel.sources.loader import Page, RecordInvalid

DEFAULT_START = date(2026, 5, 4)

# -- clients and settings ---------------------------------------------------------------------


def bearer_client(
    conn: SourceConnection, dialect: Any, token_name: str, **client_options: Any
) -> HttpClient:
    """A client authenticated by the connection's password as a bearer token."""
    if not conn.password:
        raise SourceConfigError(
            f"Airflow connection {conn.conn_id!r}: password ({token_name}) is empty"
        )
    return HttpClient(
        conn.base_url,
        conn_id=conn.conn_id,
        dialect=dialect,
        auth=BearerToken(conn.password),
        secrets=conn.secrets(),
        **client_options,
    )


def api_version(conn: SourceConnection, settings: SourceSettings) -> str:
    return str(conn.extra.get("api_version") or settings.api_version)


def start_date(settings: SourceSettings) -> date:
    return settings.option_date("start_date", DEFAULT_START)


def start_datetime(settings: SourceSettings) -> datetime:
    """The ``start_date`` option as midnight UTC."""
    start = start_date(settings)
    return datetime(start.year, start.month, start.day, tzinfo=UTC)


def body_list(body: Any, key: str, what: str) -> list[Any]:
    """The ``key`` list of a response object, else :class:`ApiError`."""
    if not isinstance(body, dict) or not isinstance(body.get(key), list):
        raise ApiError(f"{what}: response has no {key!r} list")
    return body[key]


# -- record parsing ---------------------------------------------------------------------------


def missing(name: str) -> RecordInvalid:
    return RecordInvalid(f"missing required field {name!r}")


def required_id(record: Mapping[str, Any], key: str = "id") -> str:
    """``record[key]``, which must be a non-empty string."""
    value = record.get(key)
    if not isinstance(value, str) or not value:
        raise missing(key)
    return value


def parse_aware_time(
    value: Any, *, fmt: str | None = None, zulu: bool = False, what: str = "time"
) -> datetime:
    """An ISO 8601 time with an offset -> aware UTC datetime (else :class:`RecordInvalid`).

    ``fmt`` is tried first with ``strptime``; ``zulu`` accepts a ``Z`` suffix.
    """
    if not isinstance(value, str):
        raise RecordInvalid(f"unparseable {what} {value!r}")
    parsed = None
    if fmt is not None:
        try:
            parsed = datetime.strptime(value, fmt)
        except ValueError:
            parsed = None
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if zulu else value)
        except ValueError:
            raise RecordInvalid(f"unparseable {what} {value!r}") from None
    if parsed.tzinfo is None:
        raise RecordInvalid(f"{what} without offset {value!r}")
    return parsed.astimezone(UTC)


def parse_day(key: str, value: Any) -> str:
    """``value`` (the ``key`` field of a daily row) as an ISO date."""
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise RecordInvalid(f"unparseable {key} {value!r}") from None


# -- incremental runs -------------------------------------------------------------------------


def date_window_run(
    state: dict[str, Any],
    *,
    start: date,
    today: Callable[[], date],
    lookback_days: int,
    **fresh: Any,
) -> tuple[str | None, dict[str, Any]]:
    """``(last_date, run)`` of a windowed daily-report stream.

    A run in progress is resumed; a new one re-reads from ``last_date - lookback_days`` (not
    before ``start``) up to today, its first window starting there (``fresh`` adds keys).
    """
    last = state.get("last_date")
    run = state.get("run")
    if run is None:
        since = start
        if last:
            since = max(start, date.fromisoformat(last) - timedelta(lookback_days))
        run = {"since": since.isoformat(), "until": today().isoformat()}
        run["window"] = run["since"]
        run.update(fresh)
    return last, run


def window_end(window: date, chunk_days: int, until: date) -> date:
    return min(window + timedelta(chunk_days - 1), until)


def resumable_pages(
    since: Any,
    run: dict[str, Any],
    *,
    cursor_key: str,
    fetch: Callable[[dict[str, Any]], tuple[list[Any], str | None]],
    newest: Callable[[Any, Any], Any],
) -> Iterator[Page]:
    """Pages of a run whose ``since`` moves only once it completes.

    ``fetch(run)`` returns a page of records and the cursor of the next page (None: last);
    ``newest(max_seen, record)`` folds a record into ``run["max_seen"]``. Mid-run the state
    is ``{"since": since, "run": run}``; the last page sets ``since`` to ``max_seen``.
    """
    while True:
        records, cursor = fetch(run)
        max_seen = run["max_seen"]
        for record in records:
            max_seen = newest(max_seen, record)
        if not cursor:
            yield Page(records, {"since": max_seen, "run": None})
            return
        run = dict(run, **{cursor_key: cursor, "max_seen": max_seen})
        yield Page(records, {"since": since, "run": run})

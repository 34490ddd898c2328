"""Scaffolding shared by the API connectors: clients, record parsing, incremental runs.

The connectors differ in their wire formats; what they share lives here so that each
module keeps only what is specific to its API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

from dealerfunnel.settings import ConfigError, load_stage_mapping
from dealerfunnel.sources.config import SourceConnection, SourceSettings
from dealerfunnel.sources.errors import ApiError, SourceConfigError
from dealerfunnel.sources.httpclient import BearerToken, HttpClient
from dealerfunnel.sources.loader import Page, Parsed, RecordInvalid

# -- clients ----------------------------------------------------------------------------------


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


def token_client(
    conn: SourceConnection, token_url: str, dialect: Any, **client_options: Any
) -> tuple[HttpClient, str]:
    """A client of an OAuth 2.0 token endpoint (unauthenticated), and the endpoint's path."""
    parts = urlsplit(token_url)
    client = HttpClient(
        f"{parts.scheme}://{parts.netloc}",
        conn_id=conn.conn_id,
        dialect=dialect,
        secrets=conn.secrets(),
        **client_options,
    )
    return client, parts.path or "/"


# -- what a stream factory is given -----------------------------------------------------------


@dataclass(frozen=True)
class ExtractContext:
    """One work item being extracted: what a connector's stream factories build streams from.

    A factory is ``STREAMS[object](ctx) -> Iterator[Stream]`` (see :mod:`.registry`).
    """

    settings: SourceSettings
    conn: SourceConnection
    dealer_code: str
    account: Mapping[str, Any]
    client: HttpClient
    now: Callable[[], datetime]

    @property
    def options(self) -> Any:
        """The connector's options model (a :class:`~.config.SourceOptions` subclass)."""
        return self.settings.options

    @property
    def version(self) -> str:
        """The API version: the Connection's ``extra.api_version``, else ``sources.yml``'s."""
        return str(self.conn.extra.get("api_version") or self.settings.api_version)

    @property
    def dealer_value(self) -> str:
        """The dealer's value of the source's dealer field (default: the dealer code)."""
        return str(self.account.get("dealer_value") or self.dealer_code)

    def today(self) -> date:
        return self.now().astimezone(UTC).date()

    def start_date(self) -> date:
        """First day of a first run (``start_date``, else ``backfill_days`` before now)."""
        return self.options.first_day(self.now(), self.conn.extra.get("start_date"))

    def start_datetime(self) -> datetime:
        """:meth:`start_date` as midnight UTC."""
        start = self.start_date()
        return datetime(start.year, start.month, start.day, tzinfo=UTC)

    def common(self, account_key: str) -> dict[str, Any]:
        """Constructor arguments of :class:`ApiStream` for the account key ``account_key``."""
        return {
            "client": self.client,
            "dealer_code": self.dealer_code,
            "account_id": str(self.account[account_key]),
            "version": self.version,
        }

    def stage_check(self, values: Callable[[Mapping[str, Any]], Iterable[Any]]) -> StageCheck:
        """A :class:`StageCheck` of the source's vocabulary (``load_stage_mapping()``)."""
        return StageCheck.for_source(self.settings.name, values)


# -- streams ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageCheck:
    """The funnel stage values a record carries must be in the source's stage vocabulary.

    ``values(record)`` yields them (None: absent, not checked). An unknown value makes the
    record invalid with the reason a dealer export row gets (``unknown stage 'x' for source
    hubspot``), so the loader quarantines it.
    """

    source: str
    vocabulary: Mapping[str, str]
    values: Callable[[Mapping[str, Any]], Iterable[Any]]

    @classmethod
    def for_source(
        cls, source: str, values: Callable[[Mapping[str, Any]], Iterable[Any]]
    ) -> StageCheck:
        vocabulary = load_stage_mapping().get(source)
        if vocabulary is None:
            raise ConfigError(f"stage mapping: no vocabulary for source {source!r}")
        return cls(source, vocabulary, values)

    def check(self, record: Mapping[str, Any]) -> None:
        from dealerfunnel.landing.parsing import normalise_stage

        for value in self.values(record):
            if value is None:
                continue
            try:
                normalise_stage(str(value), self.vocabulary, self.source)
            except ValueError as exc:
                raise RecordInvalid(str(exc)) from None


@dataclass(kw_only=True)
class ApiStream:
    """What every connector stream has (the rest of :class:`~.loader.Stream` is its own).

    ``account_id`` is the raw table's ``account_id``; ``state_key`` (the watermark row) is the
    account unless a subclass keys its watermark finer (per form, event, dealer value, ...).
    Subclasses set ``source`` and ``object``.
    """

    client: HttpClient
    dealer_code: str
    account_id: str
    version: str = ""  # the API version in request paths (empty where the path has none)
    stages: StageCheck | None = None

    @property
    def state_key(self) -> str:
        return self.account_id

    def check(self, record: Mapping[str, Any]) -> None:
        """Content checks that do not affect the watermark (the funnel stage values)."""
        if self.stages is not None:
            self.stages.check(record)


def body_list(body: Any, key: str, what: str) -> list[Any]:
    """The ``key`` list of a response object, else :class:`ApiError`."""
    if not isinstance(body, dict) or not isinstance(body.get(key), list):
        raise ApiError(f"{what}: response has no {key!r} list")
    return body[key]


def follow_cursor(
    fetch: Callable[[str | None], tuple[list[Any], str | None]],
) -> Iterator[list[Any]]:
    """Every page of a cursor-paged list: ``fetch(cursor)`` returns a page and the next cursor
    (None: the last page); the first call gets None."""
    cursor = None
    while True:
        items, cursor = fetch(cursor)
        yield items
        if not cursor:
            return


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


def campaign_day(campaign_id: Any, day: Any, *, id_key: str, day_key: str) -> Parsed:
    """The key ``<campaign id>|<ISO day>`` of a daily campaign row (snapshot-style: no time)."""
    if not campaign_id:
        raise missing(id_key)
    if not day:
        raise missing(day_key)
    return Parsed(f"{campaign_id}|{parse_day(day_key, day)}", None)


@dataclass(kw_only=True)
class DailyWindowStream(ApiStream):
    """A daily report read in windows of ``chunk_days`` (see :func:`date_window_run`).

    Subclasses implement :meth:`window_pages` (the pages of a run that has days to read);
    ``FRESH_RUN`` adds keys to a new run's state.
    """

    FRESH_RUN: ClassVar[dict[str, Any]] = {}
    start: date
    today: Callable[[], date]
    lookback_days: int = 3
    chunk_days: int = 31

    @classmethod
    def for_account(cls, ctx: ExtractContext, account_key: str, **fields: Any) -> Any:
        return cls(**ctx.common(account_key), start=ctx.start_date(), today=ctx.today, **fields)

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        last, run = date_window_run(
            state or {},
            start=self.start,
            today=self.today,
            lookback_days=self.lookback_days,
            **self.FRESH_RUN,
        )
        if date.fromisoformat(run["window"]) > date.fromisoformat(run["until"]):
            yield Page([], {"last_date": last, "run": None})  # nothing to read
            return
        yield from self.window_pages(last, run)

    def window_pages(self, last: str | None, run: dict[str, Any]) -> Iterator[Page]:
        raise NotImplementedError

    def window_end(self, window: date, until: date) -> date:
        return window_end(window, self.chunk_days, until)


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

"""Land API pages into ``raw`` with their watermark, exactly once (DESIGN.md section 4).

A connector is a :class:`Stream`: it yields :class:`Page` objects, each holding the records of
one API response (or one chunk) and the **state** (watermark, cursor) that is true once those
records are stored. :func:`run_stream` commits every page in ONE transaction:

1. lock the watermark row ``ops.watermarks (source__object, account)`` (advisory lock) and
   check it still holds the state this run started from (compare-and-set: a concurrent or
   stale run stops with :class:`ConcurrentExtract` instead of moving it backwards);
2. COPY the valid records into a temp table, then merge into ``raw.<source>__<object>``::

       insert ... on conflict (account_id, record_id) do update ...
       where excluded.record_updated_at >= raw.record_updated_at
         and excluded.payload is distinct from raw.payload

   (duplicates inside a page collapse to the newest; late updates win; older versions and
   re-runs change nothing);
3. COPY malformed records (missing required field, unparseable time, a funnel stage the
   stage mapping does not know, ...) into ``ops.quarantine`` with the reason (a record already
   quarantined for the same source, object and account is not added twice);
4. write the new state into ``ops.watermarks`` and the counters into ``ops.load_batches``
   (``rows_in = rows_loaded + rows_quarantined``).

A crash anywhere loses at most the page in flight, whose state was not saved either: the
next run resumes from the last committed state and re-fetches it. Since the merge is
idempotent, re-fetching any committed record is harmless, so raw rows are exactly once.

The ``ops.load_batches`` row of a run is created by its first page and marked ``loaded``
(or ``failed``) at the end. An extract that fails (the API down, auth rejected, ...) is
recorded there too by :func:`record_failed_extract`, even before its first page: a row with
status ``failed`` and ``detail`` = ``{error_class, error, conn_id, base_url}`` (secrets
redacted). That row is the outage record that ``marts.mart_source_freshness`` publishes for
the ``source_freshness`` alert rule, and that the CLI reports at the end of a run.

**Abandoned batches.** A batch's row is opened by a session that holds the session-level
advisory lock :func:`batch_lock_key` of that batch until it ends (its connection closes, also
on kill -9: PostgreSQL releases it). :func:`mark_abandoned_batches` (run at the start of every
pipeline run and extract DAG run) marks every ``running`` batch whose lock is free as
``failed`` with ``detail.abandoned = true``: its owner is gone. Batches opened without
that lock (the dealer-file loader's) are marked only once older than
``DEALERFUNNEL_ABANDON_AFTER_HOURS`` (default 24).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import psycopg
from psycopg import sql

from dealerfunnel.sources.errors import ConcurrentExtract

log = logging.getLogger(__name__)

# The points of a page's commit (tests kill an extract at each one, see tests/integration):
# fetched (before anything), merged (records merged and quarantined, watermark not yet written),
# watermarked (watermark and batch counters written, not committed), committed.
PHASES = ("fetched", "merged", "watermarked", "committed")


class RecordInvalid(ValueError):
    """A record that cannot be landed; ``str(exc)`` is the quarantine reason."""


@dataclass(frozen=True)
class Parsed:
    record_id: str
    updated_at: datetime | None  # None: use the extraction time (snapshot-style objects)


@dataclass
class Page:
    records: list[dict[str, Any]]
    state: dict[str, Any]  # the watermark state once these records are stored


class Stream(Protocol):
    """One API object of one account: what a connector implements."""

    source: str  # "meta" -> raw.meta__<object>
    object: str  # "leads"
    account_id: str  # raw.<table>.account_id
    state_key: str  # ops.watermarks.account (may be finer than the account, e.g. a form)
    dealer_code: str

    def parse(self, record: dict[str, Any]) -> Parsed:
        """Natural key and updated time of ``record``; raise :class:`RecordInvalid`."""
        ...

    def check(self, record: dict[str, Any]) -> None:
        """Content checks beyond :meth:`parse` (e.g. known funnel stages); raise
        :class:`RecordInvalid`. Unlike :meth:`parse`, never used for the watermark."""
        ...

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        """Pages from ``state`` (None: first run) onwards; the last one carries the final state."""
        ...


@dataclass
class StreamResult:
    source: str
    object: str
    dealer_code: str
    account_id: str
    state_key: str
    batch_id: str | None = None
    pages: int = 0
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    already_quarantined: int = 0
    state: dict[str, Any] | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["started_at"] = self.started_at.isoformat()
        return out

    def counters(self) -> dict[str, int]:
        keys = ("pages", "inserted", "updated", "unchanged", "already_quarantined")
        return {k: getattr(self, k) for k in keys}


def table_name(stream: Stream) -> str:
    return f"{stream.source}__{stream.object}"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _state_text(state: dict[str, Any] | None) -> str | None:
    return None if state is None else _json(state)


def read_state(conn: psycopg.Connection, source: str, account: str) -> dict[str, Any] | None:
    row = conn.execute(
        "select watermark from ops.watermarks where source = %s and account = %s",
        (source, account),
    ).fetchone()
    return None if row is None else json.loads(row[0])


def _split(stream: Stream, records: list[dict[str, Any]]):
    good: list[tuple[str, datetime | None, str]] = []
    bad: list[tuple[str, str]] = []
    for record in records:
        if not isinstance(record, dict):
            bad.append(
                (_json({"account_id": stream.account_id, "record": record}), "not an object")
            )
            continue
        try:
            parsed = stream.parse(record)
            stream.check(record)
            payload = _json(record)
            if "\\u0000" in payload:
                raise RecordInvalid("contains a NUL character (not storable in jsonb)")
        except RecordInvalid as exc:
            wrapped = _json({"account_id": stream.account_id, "record": record})
            bad.append((wrapped, str(exc)))
            continue
        good.append((parsed.record_id, parsed.updated_at, payload))
    return good, bad


class _Lander:
    """Commits the pages of one stream (see the module docstring for the steps)."""

    def __init__(self, conn: psycopg.Connection, stream: Stream) -> None:
        self.conn = conn
        self.stream = stream
        self.wm_source = table_name(stream)
        self.table = sql.Identifier("raw", table_name(stream))
        self.result = StreamResult(
            stream.source, stream.object, stream.dealer_code, stream.account_id, stream.state_key
        )
        self.expected: str | None = None

    def start(self) -> dict[str, Any] | None:
        state = read_state(self.conn, self.wm_source, self.stream.state_key)
        self.expected = _state_text(state)
        self.result.state = state
        return state

    def commit(self, page: Page) -> None:
        """Land one page and its state in one transaction; then move the in-memory picture."""
        good, bad = _split(self.stream, page.records)
        extracted_at = datetime.now(UTC)
        batch_id = self.result.batch_id or str(uuid.uuid4())
        with self.conn.transaction(), self.conn.cursor() as cur:
            exists = self._lock_watermark(cur)
            if self.result.batch_id is None:
                self._open_batch(cur, batch_id)
            inserted, updated = self._merge(cur, good, batch_id, extracted_at)
            fresh_bad = self._quarantine(cur, bad, batch_id)
            self._write_watermark(cur, page.state, exists=exists)
            totals = self._totals(page, len(good), len(bad), inserted, updated, fresh_bad)
            self._update_batch(cur, batch_id, page.state, totals)
        self.expected = _state_text(page.state)
        self.result.batch_id = batch_id
        self.result.state = page.state
        for key, value in totals.items():
            setattr(self.result, key, value)

    def _lock_watermark(self, cur: psycopg.Cursor) -> bool:
        """Lock the watermark row and check it still holds the state this run started from
        (else :class:`ConcurrentExtract`); whether the row exists."""
        key = self.stream.state_key
        cur.execute(
            "select pg_advisory_xact_lock(hashtextextended(%s, 0))",
            (f"dealerfunnel.sources:{self.wm_source}:{key}",),
        )
        row = cur.execute(
            "select watermark from ops.watermarks where source = %s and account = %s",
            (self.wm_source, key),
        ).fetchone()
        current = None if row is None else row[0]
        if current is not None and self.expected is not None:
            same = json.loads(current) == json.loads(self.expected)
        else:
            same = current == self.expected
        if not same:
            raise ConcurrentExtract(
                f"{self.wm_source} {key}: the watermark moved under this run "
                f"(another extract of the same account?); stopping without loading"
            )
        return row is not None

    def _open_batch(self, cur: psycopg.Cursor, batch_id: str) -> None:
        stream = self.stream
        # held by this session until the batch is finished (or the session ends)
        cur.execute("select pg_advisory_lock(%s)", (batch_lock_key(batch_id),))
        cur.execute(
            """
            insert into ops.load_batches (batch_id, source, dealer_code, object,
                started_at, status, detail)
            values (%s, %s, %s, %s, %s, 'running', '{"owner_lock": true}'::jsonb)
            """,
            (batch_id, stream.source, stream.dealer_code, stream.object, self.result.started_at),
        )

    def _write_watermark(self, cur: psycopg.Cursor, state: dict[str, Any], *, exists: bool) -> None:
        if exists:
            query = """
                update ops.watermarks set watermark = %s, updated_at = now()
                where source = %s and account = %s
            """
        else:
            query = "insert into ops.watermarks (watermark, source, account) values (%s, %s, %s)"
        cur.execute(query, (_state_text(state), self.wm_source, self.stream.state_key))

    def _totals(
        self, page: Page, good: int, bad: int, inserted: int, updated: int, fresh_bad: int
    ) -> dict[str, int]:
        """The run's counters including ``page`` (``rows_in = rows_loaded + rows_quarantined``)."""
        result = self.result
        return {
            "pages": result.pages + 1,
            "rows_in": result.rows_in + len(page.records),
            "rows_loaded": result.rows_loaded + good,
            "rows_quarantined": result.rows_quarantined + bad,
            "inserted": result.inserted + inserted,
            "updated": result.updated + updated,
            "unchanged": result.unchanged + good - inserted - updated,
            "already_quarantined": result.already_quarantined + bad - fresh_bad,
        }

    def _update_batch(
        self, cur: psycopg.Cursor, batch_id: str, state: dict[str, Any], totals: dict[str, int]
    ) -> None:
        detail = {
            "account_id": self.stream.account_id,
            "watermark_key": self.stream.state_key,
            "watermark": state,
            **{k: totals[k] for k in ("pages", "inserted", "updated", "unchanged")},
            "already_quarantined": totals["already_quarantined"],
        }
        cur.execute(
            """
            update ops.load_batches
            set rows_in = %s, rows_loaded = %s, rows_quarantined = %s, detail = %s::jsonb
            where batch_id = %s
            """,
            (
                totals["rows_in"],
                totals["rows_loaded"],
                totals["rows_quarantined"],
                _json(detail),
                batch_id,
            ),
        )

    def _merge(self, cur: psycopg.Cursor, good, batch_id: str, extracted_at: datetime):
        if not good:
            return 0, 0
        cur.execute(
            """
            create temp table raw_stage (
                record_id text not null, record_updated_at timestamptz, payload jsonb not null
            ) on commit drop
            """
        )
        with cur.copy("copy raw_stage (record_id, record_updated_at, payload) from stdin") as cp:
            for record_id, updated_at, payload in good:
                cp.write_row((record_id, updated_at or extracted_at, payload))
        rows = cur.execute(
            sql.SQL(
                """
                insert into {table} as t (record_id, account_id, record_updated_at, payload,
                    _dealer_code, _source, _batch_id, _extracted_at)
                select record_id, %(account)s, record_updated_at, payload,
                    %(dealer)s, %(source)s, %(batch)s, %(extracted)s
                from (
                    select distinct on (record_id) record_id, record_updated_at, payload
                    from raw_stage
                    order by record_id, record_updated_at desc nulls last, payload::text
                ) newest
                on conflict (account_id, record_id) do update set
                    record_updated_at = excluded.record_updated_at,
                    payload = excluded.payload,
                    _dealer_code = excluded._dealer_code,
                    _source = excluded._source,
                    _batch_id = excluded._batch_id,
                    _extracted_at = excluded._extracted_at
                where (t.record_updated_at is null
                       or excluded.record_updated_at >= t.record_updated_at)
                  and excluded.payload is distinct from t.payload
                returning (xmax = 0) as inserted
                """
            ).format(table=self.table),
            {
                "account": self.stream.account_id,
                "dealer": self.stream.dealer_code,
                "source": self.stream.source,
                "batch": batch_id,
                "extracted": extracted_at,
            },
        ).fetchall()
        inserted = sum(1 for (flag,) in rows if flag)
        return inserted, len(rows) - inserted

    def _quarantine(self, cur: psycopg.Cursor, bad, batch_id: str) -> int:
        if not bad:
            return 0
        cur.execute("create temp table quarantine_stage (record jsonb, reason text) on commit drop")
        with cur.copy("copy quarantine_stage (record, reason) from stdin") as cp:
            for record, reason in bad:
                cp.write_row((record, reason))
        cur.execute(
            """
            insert into ops.quarantine (batch_id, source, dealer_code, object, record, reason)
            select distinct on (q.record) %(batch)s, %(source)s, %(dealer)s, %(object)s,
                q.record, q.reason
            from quarantine_stage q
            where not exists (
                select 1 from ops.quarantine o
                where o.source = %(source)s and o.object = %(object)s and o.record = q.record
            )
            """,
            {
                "batch": batch_id,
                "source": self.stream.source,
                "dealer": self.stream.dealer_code,
                "object": self.stream.object,
            },
        )
        return cur.rowcount

    def finish(self, status: str, error: str | None = None) -> None:
        if self.result.batch_id is None:
            return
        detail = {"error": error} if error else {}
        with self.conn.transaction():
            self.conn.execute(
                """
                update ops.load_batches
                set status = %s, finished_at = clock_timestamp(), detail = detail || %s::jsonb
                where batch_id = %s
                """,
                (status, _json(detail), self.result.batch_id),
            )
        self.conn.execute("select pg_advisory_unlock(%s)", (batch_lock_key(self.result.batch_id),))


def run_stream(stream: Stream, url: str | None = None) -> StreamResult:
    """Extract ``stream`` from its saved state to the end, committing page by page.

    An error propagates after the open transaction (if any) is rolled back and the run's batch
    (if it has one) is marked ``failed``.
    """
    from dealerfunnel.warehouse.connection import connect

    with connect(url, autocommit=True) as conn:
        lander = _Lander(conn, stream)
        state = lander.start()
        try:
            for page in stream.pages(state):
                lander.commit(page)
        except BaseException as exc:
            if not isinstance(exc, (KeyboardInterrupt, SystemExit)):
                try:
                    lander.finish("failed", f"{type(exc).__name__}: {exc}"[:500])
                except psycopg.Error:  # the original error matters more
                    log.exception("could not mark batch %s failed", lander.result.batch_id)
                if lander.result.batch_id is not None:
                    # record_failed_extract completes this row instead of adding one
                    with contextlib.suppress(AttributeError):
                        exc.dealerfunnel_batch_id = lander.result.batch_id  # type: ignore[attr-defined]
            raise
        lander.finish("loaded")
    result = lander.result
    log.info(
        "%s %s (%s): %d pages, %d in = %d loaded (%d new, %d updated, %d unchanged) "
        "+ %d quarantined",
        table_name(stream),
        stream.state_key,
        stream.dealer_code,
        result.pages,
        result.rows_in,
        result.rows_loaded,
        result.inserted,
        result.updated,
        result.unchanged,
        result.rows_quarantined,
    )
    return result


# -- outages and abandoned batches ------------------------------------------------------------

ABANDON_AFTER_HOURS = 24.0  # default of DEALERFUNNEL_ABANDON_AFTER_HOURS


def batch_lock_key(batch_id: str) -> int:
    """The advisory lock key (bigint) the owner of batch ``batch_id`` holds while it runs."""
    return uuid.UUID(str(batch_id)).int >> 65  # 63 bits: a non-negative bigint


def record_failed_extract(
    url: str | None,
    *,
    source: str,
    obj: str,
    dealer_code: str,
    started_at: datetime,
    error: BaseException,
    conn_id: str,
    base_url: str,
    secrets: list[str] | tuple[str, ...] = (),
) -> str:
    """Record a failed extract of one work item in ``ops.load_batches`` (status ``failed``,
    ``detail``: error class and message, connection id and base URL, secrets redacted);
    completes the run's own batch row when it had one. Returns the batch id."""
    from dealerfunnel.redaction import redact
    from dealerfunnel.warehouse.connection import connect, mask_url

    message = redact(f"{error}", secrets)[:500]
    detail = {
        "error_class": type(error).__name__,
        "error": message,
        "conn_id": conn_id,
        "base_url": mask_url(base_url),
        "outage": True,
    }
    batch_id = getattr(error, "dealerfunnel_batch_id", None)
    with connect(url, autocommit=True) as conn:
        if batch_id is not None:
            conn.execute(
                "update ops.load_batches set status = 'failed',"
                " finished_at = coalesce(finished_at, clock_timestamp()),"
                " detail = detail || %s::jsonb where batch_id = %s",
                (_json(detail), batch_id),
            )
            return str(batch_id)
        batch_id = str(uuid.uuid4())
        conn.execute(
            """
            insert into ops.load_batches (batch_id, source, dealer_code, object, started_at,
                finished_at, status, detail)
            values (%s, %s, %s, %s, %s, clock_timestamp(), 'failed', %s::jsonb)
            """,
            (batch_id, source, dealer_code, obj, started_at, _json(detail)),
        )
    return batch_id


def recent_outage(url: str | None, source: str, within_seconds: float) -> str | None:
    """The error of the newest extract of ``source`` that found its server unreachable within
    the last ``within_seconds``, unless a load of that source succeeded since; else None."""
    from dealerfunnel.warehouse.connection import connect

    with connect(url, autocommit=True) as conn:
        row = conn.execute(
            """
            select detail->>'error' from ops.load_batches f
            where f.source = %(source)s and f.status = 'failed'
              and f.detail->>'error_class' = 'SourceUnreachable'
              and f.finished_at > clock_timestamp() - make_interval(secs => %(within)s)
              and not exists (
                  select 1 from ops.load_batches ok
                  where ok.source = %(source)s and ok.status = 'loaded'
                    and ok.finished_at > f.finished_at)
            order by f.finished_at desc limit 1
            """,
            {"source": source, "within": within_seconds},
        ).fetchone()
    return None if row is None else row[0]


def abandon_after_hours() -> float:
    from dealerfunnel.settings import ConfigError

    text = os.environ.get("DEALERFUNNEL_ABANDON_AFTER_HOURS", "").strip()
    if not text:
        return ABANDON_AFTER_HOURS
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ConfigError(
            f"DEALERFUNNEL_ABANDON_AFTER_HOURS: must be a positive number, got {text!r}"
        )
    return value


def mark_abandoned_batches(
    url: str | None = None, *, older_than_hours: float | None = None
) -> list[str]:
    """Mark ``running`` batches whose owner is gone as ``failed`` (``detail.abandoned``; see
    the module docstring for the rule); returns their ids."""
    from dealerfunnel.warehouse.connection import connect

    hours = abandon_after_hours() if older_than_hours is None else older_than_hours
    abandoned: list[str] = []
    with connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "select batch_id::text, coalesce((detail->>'owner_lock')::boolean, false),"
            " started_at < clock_timestamp() - make_interval(secs => %s)"
            " from ops.load_batches where status = 'running'",
            (hours * 3600,),
        ).fetchall()
        for batch_id, locked, old in rows:
            with conn.transaction():
                if locked:
                    free = conn.execute(
                        "select pg_try_advisory_xact_lock(%s)", (batch_lock_key(batch_id),)
                    ).fetchone()[0]
                    if not free:
                        continue  # its owner is still running
                elif not old:
                    continue
                why = "owner session gone" if locked else f"running for more than {hours:g}h"
                updated = conn.execute(
                    "update ops.load_batches set status = 'failed',"
                    " finished_at = clock_timestamp(), detail = detail || %s::jsonb"
                    " where batch_id = %s and status = 'running'",
                    (_json({"abandoned": True, "error": f"abandoned: {why}"}), batch_id),
                ).rowcount
            if updated:
                abandoned.append(batch_id)
    if abandoned:
        log.warning("marked %d abandoned load batches failed: %s", len(abandoned), abandoned)
    return abandoned

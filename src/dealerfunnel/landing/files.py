"""Load dealer CRM export files from the landing folder into ``raw`` (DESIGN.md sections 3, 4).

``<landing_dir>/<dealer_code>/{leads,stage_events,followups}*.csv`` -> one raw table per
object (``raw.<source>__<object>``), bad rows -> ``ops.quarantine``.

- **Once per file.** A file is identified by ``(dealer_code, sha256 of its bytes)`` in
  ``ops.landed_files``; a file already there is skipped, so re-running changes nothing.
- **One transaction per file.** The ``ops.load_batches`` row, the raw rows (COPY), the
  quarantine rows (COPY) and the ``ops.landed_files`` row commit together or not at all. A
  transaction-scoped advisory lock on (dealer, sha256) plus the primary key of
  ``ops.landed_files`` stop two concurrent loaders from loading the same file twice.
- **Loss-free.** For every file ``rows_in = rows_loaded + rows_quarantined``. A file with a
  header problem (missing required column, repeated column name) is rejected: every data row
  is quarantined with the file's reason. A file that cannot be read as rows at all (not
  UTF-8, no header, malformed CSV) is rejected as one input record: one quarantine row
  ``{"file": name}``, ``rows_in = rows_quarantined = 1``.
- **Unregistered dealers** are registered with the registry defaults
  (``is_registered = false``), loaded anyway, reported and logged as a warning.

Expects the ``raw``/``ops`` schema (:func:`dealerfunnel.warehouse.ensure_schema`).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import logging
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg
from airflow.sdk import ObjectStoragePath
from psycopg import sql

from dealerfunnel.landing.parsing import (
    OBJECTS,
    FileRejected,
    ParsedRow,
    RowParser,
    decode,
    header_problem,
    read_csv,
    read_xlsx,
    row_record,
    typed_columns,
)
from dealerfunnel.settings import ConfigError, load_dealer_registry, load_stage_mapping
from dealerfunnel.warehouse.connection import connect

log = logging.getLogger(__name__)

FILE_EXTENSIONS = ("csv", "xlsx")

LOADED = "loaded"
REJECTED = "rejected"
SKIPPED = "skipped_already_loaded"

METADATA_COLUMNS = (
    "_dealer_code",
    "_source",
    "_batch_id",
    "_extracted_at",
    "_file_name",
    "_file_sha256",
    "_row_number",
)
QUARANTINE_COLUMNS = (
    "batch_id",
    "source",
    "dealer_code",
    "object",
    "file_name",
    "row_number",
    "record",
    "reason",
)


# -- discovery ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LandingFile:
    """A candidate file: ``<landing_dir>/<dealer_code>/<name>`` holding rows of ``obj``."""

    dealer_code: str
    path: Path
    obj: str

    @property
    def name(self) -> str:
        return self.path.name


def object_for(file_name: str) -> str | None:
    """``leads`` / ``stage_events`` / ``followups`` for a matching name, else None.

    ``*.csv`` and ``*.xlsx`` (first worksheet) are accepted. Matching is case-insensitive
    (``Leads_2026-05.CSV`` is a leads file).
    """
    lowered = file_name.lower()
    for obj in OBJECTS:
        if any(fnmatch.fnmatchcase(lowered, f"{obj}*.{ext}") for ext in FILE_EXTENSIONS):
            return obj
    return None


def landing_location(value: str | Path | ObjectStoragePath) -> Path | ObjectStoragePath:
    """A local folder, or object storage when ``value`` is a URL (``s3://bucket/prefix``).

    Object storage goes through Airflow's ``ObjectStoragePath``; its credentials come from the
    Airflow Connection named by ``LANDING_CONN_ID`` (none for ``file://``).
    """
    if isinstance(value, str) and "://" in value:
        return ObjectStoragePath(value, conn_id=os.environ.get("LANDING_CONN_ID") or None)
    return Path(value) if isinstance(value, str) else value


def discover(landing_dir: Path) -> tuple[dict[str, list[LandingFile]], list[str]]:
    """Dealer folders and their files, sorted; plus the ignored entries (relative paths).

    Every non-hidden sub-folder is a dealer. Ignored (listed, never loaded): entries at the
    top level that are not folders, hidden entries (``.name``: partial uploads, editor
    files), sub-folders of a dealer folder, and files whose name matches no object.
    Raises :class:`FileNotFoundError` when ``landing_dir`` is not a folder.
    """
    if not landing_dir.is_dir():
        raise FileNotFoundError(f"landing folder does not exist: {landing_dir}")
    dealers: dict[str, list[LandingFile]] = {}
    ignored: list[str] = []
    for entry in sorted(landing_dir.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or not entry.is_dir():
            ignored.append(entry.name)
            continue
        files: list[LandingFile] = []
        for path in sorted(entry.iterdir(), key=lambda p: p.name):
            obj = object_for(path.name)
            if obj is None or path.name.startswith(".") or not path.is_file():
                ignored.append(f"{entry.name}/{path.name}")
                continue
            files.append(LandingFile(entry.name, path, obj))
        dealers[entry.name] = files
    return dealers, ignored


# -- dealer registry ------------------------------------------------------------------------


def register_dealers(url: str, dealer_codes: Iterable[str]) -> list[str]:
    """Upsert the registry into ``ops.dealers`` and register ``dealer_codes`` missing from it.

    Registered dealers get their registry attributes and ``is_registered = true`` (rows are
    only touched when something changed). Every other code is inserted with the registry
    defaults (``dealer_name`` = the code, ``is_registered = false``); an existing row keeps
    its attributes but is marked unregistered. Returns the unregistered codes, sorted, and
    logs a warning for each. Raises :class:`ConfigError` for an invalid ``dealers.yml``.
    """
    with connect(url, autocommit=True) as conn, conn.transaction():
        return _register(conn, dealer_codes)


_INSERT_DEALER = """
    insert into ops.dealers
        (dealer_code, dealer_name, region, brand, timezone, is_registered)
    values (%s, %s, %s, %s, %s, {registered})
    on conflict (dealer_code) do update set
"""
# A registered dealer's row follows the registry; only touched when something changed.
_UPSERT_REGISTERED = (
    _INSERT_DEALER.format(registered="true")
    + """
        dealer_name = excluded.dealer_name, region = excluded.region,
        brand = excluded.brand, timezone = excluded.timezone,
        is_registered = true, updated_at = now()
    where (ops.dealers.dealer_name, ops.dealers.region, ops.dealers.brand,
           ops.dealers.timezone, ops.dealers.is_registered)
        is distinct from
          (excluded.dealer_name, excluded.region, excluded.brand,
           excluded.timezone, true)
"""
)
# An unregistered dealer keeps the attributes it has, but is marked unregistered.
_UPSERT_UNREGISTERED = (
    _INSERT_DEALER.format(registered="false")
    + """
        is_registered = false, updated_at = now()
    where ops.dealers.is_registered
"""
)


def _register(conn: psycopg.Connection, dealer_codes: Iterable[str]) -> list[str]:
    registry, defaults = load_dealer_registry()
    with conn.cursor() as cur:
        cur.executemany(
            _UPSERT_REGISTERED,
            [
                (d.dealer_code, d.dealer_name, d.region, d.brand, d.timezone)
                for d in registry.values()
            ],
        )
    unregistered = sorted({code for code in dealer_codes if code not in registry})
    for code in unregistered:
        conn.execute(
            _UPSERT_UNREGISTERED, (code, code, defaults.region, defaults.brand, defaults.timezone)
        )
        log.warning(
            "dealer folder %r is not in config/dealers.yml: registered with defaults "
            "(is_registered=false) and loaded anyway",
            code,
        )
    return unregistered


def _dealer_zones(conn: psycopg.Connection, dealer_codes: Sequence[str]) -> dict[str, ZoneInfo]:
    """Time zone of each dealer from ``ops.dealers``; :class:`ConfigError` if one is invalid."""
    rows = conn.execute(
        "select dealer_code, timezone from ops.dealers where dealer_code = any(%s)",
        (list(dealer_codes),),
    ).fetchall()
    zones: dict[str, ZoneInfo] = {}
    for code, name in rows:
        try:
            zones[code] = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"ops.dealers: dealer {code}: unknown time zone {name!r}") from exc
    return zones


# -- one file -------------------------------------------------------------------------------


@dataclass
class Quarantined:
    row_number: int | None
    record: dict[str, Any]
    reason: str


@dataclass
class PreparedFile:
    """A parsed file, ready to be written: what loads and what goes to quarantine."""

    status: str
    rows_in: int
    good: list[ParsedRow] = field(default_factory=list)
    bad: list[Quarantined] = field(default_factory=list)
    reason: str | None = None


def prepare(
    data: bytes,
    obj: str,
    local_tz: ZoneInfo,
    vocabulary: Mapping[str, str],
    source: str,
    file_name: str,
) -> PreparedFile:
    """Parse a file's bytes; never raises for bad content (see the module docstring)."""
    try:
        header, records = (
            read_xlsx(data) if file_name.lower().endswith(".xlsx") else read_csv(decode(data))
        )
    except FileRejected as exc:
        bad = [Quarantined(None, {"file": file_name}, str(exc))]
        return PreparedFile(REJECTED, 1, bad=bad, reason=str(exc))
    problem = header_problem(header, obj)
    if problem:
        bad = [Quarantined(n, row_record(header, r), problem) for n, r in enumerate(records, 1)]
        return PreparedFile(REJECTED, len(records), bad=bad, reason=problem)
    prepared = PreparedFile(LOADED, len(records))
    for row in RowParser(obj, header, local_tz, vocabulary, source).parse(records):
        if row.errors:
            prepared.bad.append(Quarantined(row.row_number, row.record, row.reason))
        else:
            prepared.good.append(row)
    return prepared


@dataclass
class FileOutcome:
    status: str
    batch_id: str
    sha256: str
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reason: str | None = None


def _copy_rows(
    cur: psycopg.Cursor, table: sql.Composable, columns: Sequence[str], rows: Iterable[Sequence]
) -> int:
    """``COPY table (columns) FROM STDIN`` with ``rows``; returns the number written."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        table, sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    count = 0
    with cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _already_loaded(conn: psycopg.Connection, dealer_code: str, sha: str) -> str | None:
    row = conn.execute(
        "select batch_id from ops.landed_files where dealer_code = %s and content_sha256 = %s",
        (dealer_code, sha),
    ).fetchone()
    return str(row[0]) if row else None


@dataclass(frozen=True)
class LoadContext:
    source: str
    vocabulary: Mapping[str, str]


def load_file(
    conn: psycopg.Connection, lf: LandingFile, local_tz: ZoneInfo, ctx: LoadContext
) -> FileOutcome:
    """Load one file in one transaction (``conn`` must be in autocommit mode).

    Returns the outcome; a file already in ``ops.landed_files`` is skipped. Database errors
    propagate after the transaction is rolled back, leaving nothing behind.
    """
    data = lf.path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    previous = _already_loaded(conn, lf.dealer_code, sha)
    if previous:
        return FileOutcome(SKIPPED, previous, sha)
    started_at = datetime.now(UTC)
    prepared = prepare(data, lf.obj, local_tz, ctx.vocabulary, ctx.source, lf.name)
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            "select pg_advisory_xact_lock(hashtextextended(%s, 0))",
            (f"dealerfunnel.landing:{lf.dealer_code}:{sha}",),
        )
        previous = _already_loaded(conn, lf.dealer_code, sha)
        if previous:  # another loader got there first
            return FileOutcome(SKIPPED, previous, sha)
        batch = _Batch(lf, sha, uuid.uuid4(), started_at, ctx.source)
        return _write_file(cur, batch, prepared)


@dataclass(frozen=True)
class _Batch:
    """One load of one file: what every row it writes is stamped with."""

    lf: LandingFile
    sha: str
    batch_id: uuid.UUID
    started_at: datetime  # also the rows' _extracted_at
    source: str


def _write_file(cur: psycopg.Cursor, batch: _Batch, prepared: PreparedFile) -> FileOutcome:
    """The batch row, the raw and quarantine rows and the landed-file row (open transaction)."""
    lf = batch.lf
    _insert_batch(cur, batch, prepared)
    loaded = _copy_raw(cur, batch, prepared.good)
    quarantined = _copy_quarantine(cur, batch, prepared.bad)
    if (loaded, quarantined) != (len(prepared.good), len(prepared.bad)):
        raise RuntimeError(f"{lf.dealer_code}/{lf.name}: COPY wrote an unexpected row count")
    cur.execute(
        "update ops.load_batches set finished_at = clock_timestamp() where batch_id = %s",
        (batch.batch_id,),
    )
    cur.execute(
        """
        insert into ops.landed_files (dealer_code, content_sha256, file_name, object,
            batch_id, status, rows_in, rows_loaded, rows_quarantined)
        values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
        """,
        (
            lf.dealer_code,
            batch.sha,
            lf.name,
            lf.obj,
            batch.batch_id,
            prepared.status,
            prepared.rows_in,
            loaded,
            quarantined,
        ),
    )
    return FileOutcome(
        prepared.status,
        str(batch.batch_id),
        batch.sha,
        prepared.rows_in,
        loaded,
        quarantined,
        prepared.reason,
    )


def _insert_batch(cur: psycopg.Cursor, batch: _Batch, prepared: PreparedFile) -> None:
    lf = batch.lf
    detail = {"file_name": lf.name, "content_sha256": batch.sha, "reason": prepared.reason}
    cur.execute(
        """
        insert into ops.load_batches (batch_id, source, dealer_code, object, started_at,
            status, rows_in, rows_loaded, rows_quarantined, detail)
        values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)
        """,
        (
            batch.batch_id,
            batch.source,
            lf.dealer_code,
            lf.obj,
            batch.started_at,
            prepared.status,
            prepared.rows_in,
            len(prepared.good),
            len(prepared.bad),
            _json(detail),
        ),
    )


def _copy_raw(cur: psycopg.Cursor, batch: _Batch, rows: Sequence[ParsedRow]) -> int:
    if not rows:
        return 0
    lf = batch.lf
    table = sql.Identifier("raw", f"{batch.source}__{lf.obj}")
    columns = (*typed_columns(lf.obj), "payload", *METADATA_COLUMNS)
    meta = (lf.dealer_code, batch.source, batch.batch_id, batch.started_at, lf.name, batch.sha)
    return _copy_rows(
        cur,
        table,
        columns,
        ((*row.values, _json(row.record), *meta, row.row_number) for row in rows),
    )


def _copy_quarantine(cur: psycopg.Cursor, batch: _Batch, rows: Sequence[Quarantined]) -> int:
    if not rows:
        return 0
    lf = batch.lf
    head = (batch.batch_id, batch.source, lf.dealer_code, lf.obj, lf.name)
    return _copy_rows(
        cur,
        sql.Identifier("ops", "quarantine"),
        QUARANTINE_COLUMNS,
        ((*head, q.row_number, _json(q.record), q.reason) for q in rows),
    )


# -- the whole landing folder ---------------------------------------------------------------

_COUNTS = ("rows_in", "rows_loaded", "rows_quarantined")


def _empty_summary() -> dict[str, int]:
    return dict.fromkeys(("files", "files_loaded", "files_rejected", "files_skipped", *_COUNTS), 0)


def _add(summary: dict[str, int], outcome: FileOutcome) -> None:
    summary["files"] += 1
    key = {LOADED: "files_loaded", REJECTED: "files_rejected", SKIPPED: "files_skipped"}
    summary[key[outcome.status]] += 1
    for name in _COUNTS:
        summary[name] += getattr(outcome, name)


def load_landing(
    url: str, landing_dir: str | Path | ObjectStoragePath, *, source: str = "dealer_export"
) -> dict:
    """Load every new file under ``landing_dir``; return a JSON-serialisable report.

    Report::

        {"source", "landing_dir", "started_at", "finished_at",
         "dealers": {code: {"is_registered", "timezone", "files": [
             {"file", "object", "sha256", "status", "rows_in", "rows_loaded",
              "rows_quarantined", "batch_id", "reason"}, ...],
             "totals": {"files", "files_loaded", "files_rejected", "files_skipped",
                        "rows_in", "rows_loaded", "rows_quarantined"}}},
         "unregistered_dealers": [code, ...], "ignored": ["SH001/readme.txt", ...],
         "totals": {"dealers", "files", "files_loaded", "files_rejected", "files_skipped",
                    "rows_in", "rows_loaded", "rows_quarantined"}}

    ``status`` is ``loaded``, ``rejected`` or ``skipped_already_loaded``; a skipped file
    counts zero rows (nothing was done this run) and carries the ``batch_id`` that loaded
    it. A missing ``landing_dir`` is logged as a warning and loads nothing (the registry is
    still synchronised). Raises :class:`ConfigError` when ``source`` has no stage vocabulary
    or a dealer's time zone is invalid, and database errors as they come (files committed
    before stay committed; the failing file leaves nothing behind).
    """
    started = datetime.now(UTC)
    landing_dir = landing_location(landing_dir)
    vocabulary = load_stage_mapping().get(source)
    if vocabulary is None:
        raise ConfigError(f"stage_mapping.yml: no vocabulary for source {source!r}")
    if landing_dir.is_dir():
        dealers, ignored = discover(landing_dir)
    else:
        log.warning("landing folder %s does not exist: nothing to load", landing_dir)
        dealers, ignored = {}, []
    report_dealers, unregistered, totals = _load_dealers(
        url, dealers, LoadContext(source, vocabulary)
    )
    report = {
        "source": source,
        "landing_dir": str(landing_dir),
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "dealers": report_dealers,
        "unregistered_dealers": unregistered,
        "ignored": ignored,
        "totals": {"dealers": len(dealers), **totals},
    }
    log.info("landing load finished: %s", json.dumps(report["totals"]))
    return report


def _load_dealers(
    url: str, dealers: Mapping[str, Sequence[LandingFile]], ctx: LoadContext
) -> tuple[dict[str, dict[str, Any]], list[str], dict[str, int]]:
    """Register the dealers and load their files: (report per dealer, unregistered, totals)."""
    report_dealers: dict[str, dict[str, Any]] = {}
    totals = _empty_summary()
    with connect(url, autocommit=True) as conn:
        with conn.transaction():
            unregistered = _register(conn, dealers)
        zones = _dealer_zones(conn, list(dealers))
        for code, files in dealers.items():
            entry = _load_dealer(conn, code, files, zones[code], ctx)
            entry["is_registered"] = code not in unregistered
            report_dealers[code] = entry
            for name in totals:
                totals[name] += entry["totals"][name]
    return report_dealers, unregistered, totals


def _load_dealer(
    conn: psycopg.Connection,
    code: str,
    files: Sequence[LandingFile],
    local_tz: ZoneInfo,
    ctx: LoadContext,
) -> dict[str, Any]:
    summary = _empty_summary()
    entries = []
    for lf in files:
        outcome = load_file(conn, lf, local_tz, ctx)
        _add(summary, outcome)
        _log_outcome(lf, outcome)
        entries.append(
            {
                "file": lf.name,
                "object": lf.obj,
                "sha256": outcome.sha256,
                "status": outcome.status,
                "rows_in": outcome.rows_in,
                "rows_loaded": outcome.rows_loaded,
                "rows_quarantined": outcome.rows_quarantined,
                "batch_id": outcome.batch_id,
                "reason": outcome.reason,
            }
        )
    return {"timezone": local_tz.key, "files": entries, "totals": summary}


def _log_outcome(lf: LandingFile, outcome: FileOutcome) -> None:
    where = f"{lf.dealer_code}/{lf.name}"
    if outcome.status == REJECTED:
        log.warning(
            "%s rejected (%s): %d rows quarantined", where, outcome.reason, outcome.rows_quarantined
        )
    elif outcome.status == LOADED:
        log.info(
            "%s loaded: %d rows in, %d loaded, %d quarantined",
            where,
            outcome.rows_in,
            outcome.rows_loaded,
            outcome.rows_quarantined,
        )
    else:
        log.info("%s already loaded (batch %s): skipped", where, outcome.batch_id)

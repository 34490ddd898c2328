"""Load dealer CRM export files from the landing folder into ``raw`` (DESIGN.md sections 3, 4).

``<landing_dir>/<dealer_code>/{leads,stage_events,followups,activities}*.{csv,xlsx}`` -> one raw
table per object (``raw.<source>__<object>``), bad rows -> ``ops.quarantine``. ``surveys*`` and
``targets*`` files load the same way (their values are checked by
:mod:`~dealerfunnel.landing.parsing`: a score within ``0..scale_max``, a month ``YYYY-MM``, a
known metric, a target that is a number of at least 0).

**What is read.** Every non-hidden sub-folder of the landing folder is a dealer. Its name is
trimmed and upper-cased: dealer codes are case-insensitive and stored upper-case, so
``SH001 ``, ``sh001`` and ``SH001`` are all dealer ``SH001`` (their files load together). A
folder name that is not 1-32 characters of ``[A-Za-z0-9_-]`` after trimming (``a;drop``,
``上海``, a 40-character name) is refused: reported under ``refused`` with the reason and
logged, its files not read. Symbolic links (to files or folders) and special files (fifos,
devices, sockets) are never followed or read: they are refused the same way. A local file is
opened with ``O_NOFOLLOW`` and must still be a regular file when it is read. Hidden entries
(``.name``), top-level files, sub-folders of a dealer folder and names matching no object are
listed under ``ignored``.

**Encoding.** Any number of leading UTF-8 BOMs are stripped, then the bytes are decoded as
strict UTF-8, else as strict GB18030 (GBK's superset, what Excel writes on Chinese Windows).
The result is ``ops.landed_files.encoding`` (``utf-8``, ``utf-8-sig``, ``gb18030``; ``xlsx``
for workbooks). A file that is neither is ``rejected``: its records are still cut (bad bytes
as U+FFFD) so that each data row is counted and quarantined with the reason.

**Rows.** :func:`~dealerfunnel.landing.parsing.split_records` cuts the text into records by
physical lines and quote state, so one bad record never stops the rest of the file: an
unterminated quote (the opening line alone is quarantined, reading resumes on the next
line), a field over ``field_chars`` (64 KiB), malformed quoting, a ragged row (more or fewer
fields than the header), a NUL character, an unparseable or empty required value, an unknown
stage, or a timestamp later than the load time plus ``clock_skew_minutes``
(``funnel_settings.csv``, per dealer, default 10) each quarantine that row alone. A
quarantine row holds the reason, the data row's ordinal (``row_number``), the physical line
it starts on (``line_number``, 1-based, the header is line 1; the worksheet row for XLSX),
its raw text up to ``raw_text_chars`` (4 KiB; ``raw_length`` is the full length) and, when it
could be cut into fields, the ``record`` jsonb. Empty and whitespace-only lines hold no data:
they are not rows (counted as ``blank_lines`` in the report).

**Two ways, one result.** A CSV file PostgreSQL can read as it is is loaded set-based
(:mod:`dealerfunnel.landing.bulk`: COPY into a temporary table, typed, checked and split in
SQL, the bad rows re-read by the row parser for their reasons); every other file row by row
(:func:`prepare`). Both write the same rows, quarantine rows and counts;
``ops.load_batches.detail.method`` records which way a file went. Dealer folders load in
parallel (``workers`` connections, one dealer's files in order); after a failure no other
dealer starts.

**Files.**

- **Once per file.** Content is identified by ``(dealer_code, sha256 of its bytes)``. A file
  already in ``ops.landed_files`` under its name is skipped (``skipped_already_loaded``), so
  re-running changes nothing. A byte-identical copy under another name is not loaded again
  but recorded: status ``duplicate``, ``duplicate_of`` = the first file's name, 0 rows.
- **Empty.** A file of only whitespace and BOMs is recorded as ``empty`` with ``rows_in = 0``.
- **Rejected.** A file whose header cannot be used (missing required column, repeated column
  name, unreadable header record) or that cannot be decoded: every data row is quarantined
  with the file's reason. An XLSX that is not a readable workbook has no rows to count: it is
  one input record, quarantined as ``{"file": name}`` (``rows_in = 1``).
- **One transaction per file.** The ``ops.load_batches`` row, the raw rows (COPY), the
  quarantine rows (COPY) and the ``ops.landed_files`` row commit together or not at all. A
  transaction-scoped advisory lock on (dealer, sha256) plus the unique index on
  ``ops.landed_files`` stop two concurrent loaders from loading the same content twice.
- **Loss-free.** For every file ``rows_in = rows_loaded + rows_quarantined``, ``rows_in``
  being the data records after the header.
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
import re
import stat
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg
from airflow.sdk import ObjectStoragePath
from psycopg import sql

from dealerfunnel.landing import bulk
from dealerfunnel.landing.parsing import (
    FIELD_SIZE_LIMIT,
    OBJECTS,
    RAW_TEXT_LIMIT,
    FileRejected,
    ParsedRow,
    RowParser,
    Table,
    decode,
    decode_lossy,
    header_problem,
    read_csv,
    read_xlsx,
    row_record,
    strip_boms,
    typed_columns,
)
from dealerfunnel.settings import (
    DEALER_CODE_PATTERN,
    DEFAULT_CLOCK_SKEW_MINUTES,
    ConfigError,
    FunnelSettings,
    clock_skew_minutes,
    load_dealer_registry,
    load_funnel_settings,
    load_stage_mapping,
)
from dealerfunnel.warehouse.connection import connect

log = logging.getLogger(__name__)

FILE_EXTENSIONS = ("csv", "xlsx")

LOADED = "loaded"
REJECTED = "rejected"
EMPTY = "empty"
DUPLICATE = "duplicate"
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
    "line_number",
    "record",
    "raw_text",
    "raw_length",
    "reason",
)


@dataclass(frozen=True)
class LandingLimits:
    """Size limits of the loader (characters): a longer field quarantines its row; quarantine
    keeps the first ``raw_text_chars`` of a bad row's text."""

    field_chars: int = FIELD_SIZE_LIMIT
    raw_text_chars: int = RAW_TEXT_LIMIT


# -- discovery ------------------------------------------------------------------------------

Location = Path | ObjectStoragePath

DEALER_CODE_RE = re.compile(DEALER_CODE_PATTERN)


@dataclass(frozen=True)
class LandingFile:
    """A candidate file: ``<landing_dir>/<folder>/<name>`` of dealer ``dealer_code``."""

    dealer_code: str
    path: Location
    obj: str
    folder: str = ""

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def where(self) -> str:
        return f"{self.folder or self.dealer_code}/{self.name}"


def object_for(file_name: str) -> str | None:
    """``leads`` / ``stage_events`` / ``followups`` / ``activities`` for a matching name, else None.

    ``*.csv`` and ``*.xlsx`` (first worksheet) are accepted. Matching is case-insensitive
    (``Leads_2026-05.CSV`` is a leads file).
    """
    lowered = file_name.lower()
    for obj in OBJECTS:
        if any(fnmatch.fnmatchcase(lowered, f"{obj}*.{ext}") for ext in FILE_EXTENSIONS):
            return obj
    return None


def dealer_code_for(folder_name: str) -> tuple[str | None, str | None]:
    """``(dealer code, None)`` for a valid dealer folder name, else ``(None, reason)``.

    Dealer codes are case-insensitive and stored upper-case: the name is trimmed and
    upper-cased (``' sh001 '`` -> ``SH001``). Valid: 1-32 characters of ``[A-Za-z0-9_-]``
    after trimming.
    """
    trimmed = folder_name.strip()
    if not trimmed:
        return None, "dealer folder name is empty after trimming"
    if len(trimmed) > 32:
        return None, f"dealer folder name longer than 32 characters ({len(trimmed)})"
    if not DEALER_CODE_RE.fullmatch(trimmed):
        return None, "dealer folder name may only hold A-Z, a-z, 0-9, '_' and '-'"
    return trimmed.upper(), None


def landing_location(value: str | Path | ObjectStoragePath) -> Location:
    """A local folder, or object storage when ``value`` is a URL (``s3://bucket/prefix``).

    Object storage goes through Airflow's ``ObjectStoragePath``; its credentials come from the
    Airflow Connection named by ``LANDING_CONN_ID`` (none for ``file://``).
    """
    if isinstance(value, str) and "://" in value:
        return ObjectStoragePath(value, conn_id=os.environ.get("LANDING_CONN_ID") or None)
    return Path(value) if isinstance(value, str) else value


def _entries(folder: Location) -> list[tuple[str, str, Location]]:
    """``(name, kind, path)`` of a folder's entries, sorted by name; ``kind`` is ``dir``,
    ``file``, ``symlink`` or ``special``. Symbolic links are never followed."""
    out: list[tuple[str, str, Location]] = []
    if isinstance(folder, Path):
        with os.scandir(folder) as scan:
            for entry in scan:
                if entry.is_symlink():
                    kind = "symlink"
                elif entry.is_dir(follow_symlinks=False):
                    kind = "dir"
                elif entry.is_file(follow_symlinks=False):
                    kind = "file"
                else:
                    kind = "special"
                out.append((entry.name, kind, folder / entry.name))
    else:
        for path in folder.iterdir():
            try:
                link = path.is_symlink()
            except (NotImplementedError, OSError):  # object stores have no links
                link = False
            if link:
                kind = "symlink"
            elif path.is_dir():
                kind = "dir"
            elif path.is_file():
                kind = "file"
            else:
                kind = "special"
            out.append((path.name, kind, path))
    return sorted(out, key=lambda e: e[0])


_REFUSED_KIND = {
    "symlink": "symbolic link: not followed",
    "special": "not a regular file or folder (fifo, device or socket): not read",
}


@dataclass
class Discovery:
    """What :func:`discover` found: files per dealer code, and what it left alone."""

    dealers: dict[str, list[LandingFile]] = field(default_factory=dict)
    folders: dict[str, list[str]] = field(default_factory=dict)  # code -> folder names
    ignored: list[str] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)

    def refuse(self, path: str, reason: str) -> None:
        self.refused.append({"path": path, "reason": reason})
        log.warning("landing: %s refused: %s", path, reason)


def discover(landing_dir: Location) -> Discovery:
    """Dealer folders and their files, sorted; plus the ignored and refused entries.

    See the module docstring for the rules. Raises :class:`FileNotFoundError` when
    ``landing_dir`` is not a folder.
    """
    if not landing_dir.is_dir():
        raise FileNotFoundError(f"landing folder does not exist: {landing_dir}")
    found = Discovery()
    for name, kind, entry in _entries(landing_dir):
        if name.startswith("."):
            found.ignored.append(name)
        elif kind in _REFUSED_KIND:
            found.refuse(name, _REFUSED_KIND[kind])
        elif kind != "dir":
            found.ignored.append(name)
        else:
            code, reason = dealer_code_for(name)
            if code is None:
                found.refuse(name, reason or "invalid dealer folder name")
                continue
            found.folders.setdefault(code, []).append(name)
            files = found.dealers.setdefault(code, [])
            for file_name, file_kind, path in _entries(entry):
                where = f"{name}/{file_name}"
                obj = object_for(file_name)
                if file_name.startswith("."):
                    found.ignored.append(where)
                elif file_kind in _REFUSED_KIND:
                    found.refuse(where, _REFUSED_KIND[file_kind])
                elif obj is None or file_kind != "file":
                    found.ignored.append(where)
                else:
                    files.append(LandingFile(code, path, obj, name))
    for code, files in found.dealers.items():
        files.sort(key=lambda lf: (lf.name, lf.folder))
        if len(found.folders[code]) > 1:
            log.warning(
                "landing: folders %s are all dealer %s (codes are case-insensitive)",
                found.folders[code],
                code,
            )
    found.dealers = dict(sorted(found.dealers.items()))
    return found


class NotARegularFile(OSError):
    """A landing file turned into a symlink or special file between listing and reading."""


def read_landing_file(path: Location) -> bytes:
    """The bytes of a landing file; a local file is opened without following a symlink and
    must be a regular file (:class:`NotARegularFile` otherwise; a fifo never blocks)."""
    if not isinstance(path, Path):
        return path.read_bytes()
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if path.is_symlink():
            raise NotARegularFile(f"{path}: symbolic link: not followed") from exc
        raise
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise NotARegularFile(f"{path}: not a regular file: not read")
        return handle.read()


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
        (dealer_code, dealer_name, region, brand, timezone, manager, is_registered)
    values (%s, %s, %s, %s, %s, %s, {registered})
    on conflict (dealer_code) do update set
"""
# A registered dealer's row follows the registry; only touched when something changed.
_UPSERT_REGISTERED = (
    _INSERT_DEALER.format(registered="true")
    + """
        dealer_name = excluded.dealer_name, region = excluded.region,
        brand = excluded.brand, timezone = excluded.timezone, manager = excluded.manager,
        is_registered = true, updated_at = now()
    where (ops.dealers.dealer_name, ops.dealers.region, ops.dealers.brand,
           ops.dealers.timezone, ops.dealers.manager, ops.dealers.is_registered)
        is distinct from
          (excluded.dealer_name, excluded.region, excluded.brand,
           excluded.timezone, excluded.manager, true)
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
                (d.dealer_code, d.dealer_name, d.region, d.brand, d.timezone, d.manager)
                for d in registry.values()
            ],
        )
    unregistered = sorted({code for code in dealer_codes if code not in registry})
    for code in unregistered:
        conn.execute(
            _UPSERT_UNREGISTERED,
            (code, code, defaults.region, defaults.brand, defaults.timezone, None),
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
    record: dict[str, Any] | None
    reason: str
    line: int | None = None
    raw: str | None = None


@dataclass
class PreparedFile:
    """A parsed file, ready to be written: what loads and what goes to quarantine."""

    status: str
    rows_in: int
    good: list[ParsedRow] = field(default_factory=list)
    bad: list[Quarantined] = field(default_factory=list)
    reason: str | None = None
    encoding: str | None = None
    blank_lines: int = 0


def _bad_row(row: ParsedRow) -> Quarantined:
    return Quarantined(row.row_number, row.record, row.reason, row.line, row.raw)


def _reject_all(table: Table, reason: str, encoding: str | None) -> PreparedFile:
    """Every data record of ``table`` to quarantine with the file's ``reason``."""
    bad = []
    for number, rec in enumerate(table.records, start=1):
        record = row_record(table.header, rec.fields) if rec.fields is not None else None
        why = f"{reason}; {rec.problem}" if rec.problem else reason
        bad.append(Quarantined(number, record, why, rec.line, rec.text))
    return PreparedFile(
        REJECTED, len(bad), bad=bad, reason=reason, encoding=encoding, blank_lines=table.blank_lines
    )


def prepare(
    data: bytes,
    obj: str,
    local_tz: ZoneInfo,
    vocabulary: Mapping[str, str],
    source: str,
    file_name: str,
    *,
    load_time: datetime | None = None,
    skew_minutes: float = DEFAULT_CLOCK_SKEW_MINUTES,
    limits: LandingLimits | None = None,
) -> PreparedFile:
    """Parse a file's bytes; never raises for bad content (see the module docstring).

    ``load_time`` (default: now) plus ``skew_minutes`` is the latest accepted timestamp.
    """
    limits = limits or LandingLimits()
    load_time = load_time or datetime.now(UTC)
    if file_name.lower().endswith(".xlsx"):
        encoding: str | None = "xlsx"
        try:
            table = read_xlsx(data)
        except FileRejected as exc:
            bad = [Quarantined(None, {"file": file_name}, str(exc))]
            return PreparedFile(REJECTED, 1, bad=bad, reason=str(exc), encoding=encoding)
    else:
        try:
            decoded = decode(data)
        except FileRejected as exc:
            text = decode_lossy(data)
            if not text.strip():
                return PreparedFile(REJECTED, 0, reason=str(exc))
            return _reject_all(read_csv(text, field_limit=limits.field_chars), str(exc), None)
        encoding = decoded.encoding
        if not decoded.text.strip():
            return PreparedFile(EMPTY, 0, reason="empty file", encoding=encoding)
        table = read_csv(decoded.text, field_limit=limits.field_chars)
    problem = table.problem or header_problem(table.header, obj)
    if problem:
        return _reject_all(table, problem, encoding)
    prepared = PreparedFile(LOADED, len(table.records), encoding=encoding)
    prepared.blank_lines = table.blank_lines
    parser = RowParser(
        obj,
        table.header,
        local_tz,
        vocabulary,
        source,
        load_time=load_time,
        clock_skew_minutes=skew_minutes,
    )
    for row in parser.parse(table.records):
        if row.errors:
            prepared.bad.append(_bad_row(row))
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
    encoding: str | None = None
    duplicate_of: str | None = None
    blank_lines: int = 0


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


@dataclass(frozen=True)
class _Landed:
    file_name: str
    batch_id: str
    duplicate_of: str | None


def _landed(conn: psycopg.Connection, dealer_code: str, sha: str) -> list[_Landed]:
    """The ``ops.landed_files`` rows of this content, the one that loaded it first."""
    rows = conn.execute(
        "select file_name, batch_id, duplicate_of from ops.landed_files"
        " where dealer_code = %s and content_sha256 = %s"
        " order by duplicate_of is not null, landed_at",
        (dealer_code, sha),
    ).fetchall()
    return [_Landed(name, str(batch), dup) for name, batch, dup in rows]


def _seen(landed: Sequence[_Landed], lf: LandingFile, sha: str) -> FileOutcome | None:
    same = next((row for row in landed if row.file_name == lf.name), None)
    if same is None:
        return None
    return FileOutcome(SKIPPED, same.batch_id, sha, duplicate_of=same.duplicate_of)


@dataclass(frozen=True)
class LoadContext:
    source: str
    vocabulary: Mapping[str, str]
    limits: LandingLimits = LandingLimits()
    settings: FunnelSettings | None = None
    set_based: bool = True  # plain CSV files through landing.bulk (False: all row by row)


def load_file(
    conn: psycopg.Connection, lf: LandingFile, local_tz: ZoneInfo, ctx: LoadContext
) -> FileOutcome:
    """Load one file in one transaction (``conn`` must be in autocommit mode).

    Returns the outcome; a file already in ``ops.landed_files`` under its name is skipped, a
    byte-identical copy under another name is recorded as a duplicate. A plain CSV file is
    loaded set-based (:mod:`dealerfunnel.landing.bulk`), any other row by row
    (:func:`prepare`), with the same result. Database errors propagate after the transaction
    is rolled back, leaving nothing behind. Raises :class:`NotARegularFile` when the path is
    no longer a regular file.
    """
    data = read_landing_file(lf.path)
    sha = hashlib.sha256(data).hexdigest()
    landed = _landed(conn, lf.dealer_code, sha)
    if skipped := _seen(landed, lf, sha):
        return skipped
    started_at = datetime.now(UTC)
    skew = (
        clock_skew_minutes(lf.dealer_code, ctx.settings)
        if ctx.settings is not None
        else DEFAULT_CLOCK_SKEW_MINUTES
    )

    def prepared() -> PreparedFile:
        return prepare(
            data,
            lf.obj,
            local_tz,
            ctx.vocabulary,
            ctx.source,
            lf.name,
            load_time=started_at,
            skew_minutes=skew,
            limits=ctx.limits,
        )

    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            "select pg_advisory_xact_lock(hashtextextended(%s, 0))",
            (f"dealerfunnel.landing:{lf.dealer_code}:{sha}",),
        )
        landed = _landed(conn, lf.dealer_code, sha)
        if skipped := _seen(landed, lf, sha):  # another loader got there first
            return skipped
        if landed:
            return _write_duplicate(cur, lf, sha, landed[0])
        batch = _Batch(lf, sha, uuid.uuid4(), started_at, ctx.source, ctx.limits)
        target = _bulk_file(data, lf, local_tz, ctx)
        if target is not None:
            try:
                return _write_bulk(cur, batch, *target, local_tz, ctx, skew)
            except bulk.Unsupported as exc:
                log.debug("%s: loaded row by row (%s)", lf.where, exc)
        return _write_file(cur, batch, prepared())


def _bulk_file(
    data: bytes, lf: LandingFile, local_tz: ZoneInfo, ctx: LoadContext
) -> tuple[bulk.BulkFile, str] | None:
    """The file and its encoding when the set-based path may take it."""
    if not ctx.set_based or lf.name.lower().endswith(".xlsx"):
        return None
    try:
        decoded = decode(data)
    except FileRejected:
        return None
    # UTF-8 text goes to COPY as the file's own bytes (BOMs stripped): no second encoding
    raw = strip_boms(data)[0] if decoded.encoding != "gb18030" else None
    found = bulk.eligible(decoded.text, lf.obj, local_tz, ctx.limits.field_chars, raw)
    return None if found is None else (found, decoded.encoding)


def _write_bulk(
    cur: psycopg.Cursor,
    batch: _Batch,
    found: bulk.BulkFile,
    encoding: str,
    local_tz: ZoneInfo,
    ctx: LoadContext,
    skew: float,
) -> FileOutcome:
    """:func:`_write_file` for a file the set-based path loads (raw rows first)."""
    lf = batch.lf
    result = bulk.load(
        cur,
        found,
        lf.obj,
        bulk.BulkTarget(
            table=sql.Identifier("raw", f"{batch.source}__{lf.obj}"),
            metadata=dict(zip(METADATA_COLUMNS[:-1], _meta(batch), strict=True)),
            local_tz=local_tz,
            vocabulary=ctx.vocabulary,
            source=ctx.source,
            load_time=batch.started_at,
            skew_minutes=skew,
        ),
    )
    outcome = PreparedFile(LOADED, result.rows_in, bad=[_bad_row(r) for r in result.bad])
    outcome.encoding = encoding
    return _write_file(cur, batch, outcome, loaded=result.loaded)


@dataclass(frozen=True)
class _Batch:
    """One load of one file: what every row it writes is stamped with."""

    lf: LandingFile
    sha: str
    batch_id: uuid.UUID
    started_at: datetime  # also the rows' _extracted_at
    source: str
    limits: LandingLimits = LandingLimits()


_INSERT_LANDED = """
    insert into ops.landed_files (dealer_code, content_sha256, file_name, object,
        batch_id, status, rows_in, rows_loaded, rows_quarantined, encoding, reason,
        duplicate_of)
    values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""


def _write_duplicate(cur: psycopg.Cursor, lf: LandingFile, sha: str, first: _Landed) -> FileOutcome:
    """Record a byte-identical copy of content already landed: no rows, a trace."""
    reason = f"byte-identical to {first.file_name}: not loaded again"
    cur.execute(
        _INSERT_LANDED,
        (
            lf.dealer_code,
            sha,
            lf.name,
            lf.obj,
            first.batch_id,
            DUPLICATE,
            0,
            0,
            0,
            None,
            reason,
            first.file_name,
        ),
    )
    return FileOutcome(DUPLICATE, first.batch_id, sha, reason=reason, duplicate_of=first.file_name)


def _write_file(
    cur: psycopg.Cursor, batch: _Batch, prepared: PreparedFile, *, loaded: int | None = None
) -> FileOutcome:
    """The batch row, the raw and quarantine rows and the landed-file row (open transaction).

    ``loaded``: the raw rows are already written (the set-based path), this many."""
    lf = batch.lf
    good = len(prepared.good) if loaded is None else loaded
    _insert_batch(cur, batch, prepared, good, set_based=loaded is not None)
    if loaded is None:
        loaded = _copy_raw(cur, batch, prepared.good)
    quarantined = _copy_quarantine(cur, batch, prepared.bad)
    if (loaded, quarantined) != (good, len(prepared.bad)):
        raise RuntimeError(f"{lf.where}: COPY wrote an unexpected row count")
    if prepared.rows_in != loaded + quarantined:
        raise RuntimeError(f"{lf.where}: rows_in != loaded + quarantined")
    cur.execute(
        "update ops.load_batches set finished_at = clock_timestamp() where batch_id = %s",
        (batch.batch_id,),
    )
    cur.execute(
        _INSERT_LANDED,
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
            prepared.encoding,
            prepared.reason,
            None,
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
        prepared.encoding,
        blank_lines=prepared.blank_lines,
    )


def _insert_batch(
    cur: psycopg.Cursor, batch: _Batch, prepared: PreparedFile, good: int, *, set_based: bool
) -> None:
    lf = batch.lf
    detail = {
        "file_name": lf.name,
        "folder": lf.folder or lf.dealer_code,
        "content_sha256": batch.sha,
        "reason": prepared.reason,
        "encoding": prepared.encoding,
        "blank_lines": prepared.blank_lines,
        "method": "set_based" if set_based else "row_by_row",
    }
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
            REJECTED if prepared.status == REJECTED else LOADED,  # an empty file loads 0 rows
            prepared.rows_in,
            good,
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
    meta = _meta(batch)
    return _copy_rows(
        cur,
        table,
        columns,
        ((*row.values, _json(row.record), *meta, row.row_number) for row in rows),
    )


def _meta(batch: _Batch) -> tuple:
    """The raw rows' constant metadata columns (``METADATA_COLUMNS`` but ``_row_number``)."""
    lf = batch.lf
    return (lf.dealer_code, batch.source, batch.batch_id, batch.started_at, lf.name, batch.sha)


def _raw_text(text: str | None, limit: int) -> str | None:
    """The kept raw text: NUL (which PostgreSQL cannot store) as U+FFFD, at most ``limit``."""
    return None if text is None else text[:limit].replace("\x00", "\ufffd")


def _copy_quarantine(cur: psycopg.Cursor, batch: _Batch, rows: Sequence[Quarantined]) -> int:
    if not rows:
        return 0
    lf = batch.lf
    head = (batch.batch_id, batch.source, lf.dealer_code, lf.obj, lf.name)
    limit = batch.limits.raw_text_chars
    return _copy_rows(
        cur,
        sql.Identifier("ops", "quarantine"),
        QUARANTINE_COLUMNS,
        (
            (
                *head,
                q.row_number,
                q.line,
                None if q.record is None else _json(q.record),
                _raw_text(q.raw, limit),
                None if q.raw is None else len(q.raw),
                q.reason.replace("\x00", "\ufffd"),
            )
            for q in rows
        ),
    )


# -- the whole landing folder ---------------------------------------------------------------

_COUNTS = ("rows_in", "rows_loaded", "rows_quarantined")
_FILE_KEYS = {
    LOADED: "files_loaded",
    REJECTED: "files_rejected",
    EMPTY: "files_empty",
    DUPLICATE: "files_duplicate",
    SKIPPED: "files_skipped",
}


def _empty_summary() -> dict[str, int]:
    return dict.fromkeys(("files", *_FILE_KEYS.values(), *_COUNTS), 0)


def _add(summary: dict[str, int], outcome: FileOutcome) -> None:
    summary["files"] += 1
    summary[_FILE_KEYS[outcome.status]] += 1
    for name in _COUNTS:
        summary[name] += getattr(outcome, name)


def load_landing(
    url: str,
    landing_dir: str | Path | ObjectStoragePath,
    *,
    source: str = "dealer_export",
    limits: LandingLimits | None = None,
    set_based: bool = True,
    workers: int = 2,
) -> dict:
    """Load every new file under ``landing_dir``; return a JSON-serialisable report.

    Dealer folders load in parallel on ``workers`` connections (one dealer's files in order,
    on one connection). ``set_based=False`` loads every file row by row (the reference path
    that the set-based one must equal).

    Report::

        {"source", "landing_dir", "started_at", "finished_at",
         "dealers": {code: {"is_registered", "timezone", "folders": [name, ...], "files": [
             {"file", "folder", "object", "sha256", "status", "rows_in", "rows_loaded",
              "rows_quarantined", "batch_id", "reason", "encoding", "duplicate_of",
              "blank_lines"}, ...],
             "totals": {"files", "files_loaded", "files_rejected", "files_empty",
                        "files_duplicate", "files_skipped",
                        "rows_in", "rows_loaded", "rows_quarantined"}}},
         "unregistered_dealers": [code, ...], "ignored": ["SH001/readme.txt", ...],
         "refused": [{"path": "SH001/leads_x.csv", "reason": "symbolic link: ..."}, ...],
         "totals": {"dealers", "files", ..., "refused"}}

    ``status`` is ``loaded``, ``rejected``, ``empty``, ``duplicate`` (a byte-identical copy
    of a file already landed under another name, ``duplicate_of`` names it) or
    ``skipped_already_loaded``; a skipped or duplicate file counts zero rows and carries the
    ``batch_id`` that loaded its content. A missing ``landing_dir`` is logged as a warning
    and loads nothing (the registry is still synchronised). Raises :class:`ConfigError` when
    ``source`` has no stage vocabulary, a dealer's time zone or ``clock_skew_minutes`` is
    invalid, and database errors as they come (files committed before stay committed; the
    failing file leaves nothing behind).
    """
    started = datetime.now(UTC)
    landing_dir = landing_location(landing_dir)
    vocabulary = load_stage_mapping().get(source)
    if vocabulary is None:
        raise ConfigError(f"stage_mapping.csv: no vocabulary for source {source!r}")
    if landing_dir.is_dir():
        found = discover(landing_dir)
    else:
        log.warning("landing folder %s does not exist: nothing to load", landing_dir)
        found = Discovery()
    ctx = LoadContext(
        source, vocabulary, limits or LandingLimits(), load_funnel_settings(), set_based
    )
    report_dealers, unregistered, totals = _load_dealers(url, found, ctx, workers)
    report = {
        "source": source,
        "landing_dir": str(landing_dir),
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "dealers": report_dealers,
        "unregistered_dealers": unregistered,
        "ignored": found.ignored,
        "refused": found.refused,
        "totals": {"dealers": len(found.dealers), **totals, "refused": len(found.refused)},
    }
    log.info("landing load finished: %s", json.dumps(report["totals"]))
    return report


def _load_dealers(
    url: str, found: Discovery, ctx: LoadContext, workers: int = 1
) -> tuple[dict[str, dict[str, Any]], list[str], dict[str, int]]:
    """Register the dealers and load their files: (report per dealer, unregistered, totals)."""
    with connect(url, autocommit=True) as conn:
        with conn.transaction():
            unregistered = _register(conn, found.dealers)
        zones = _dealer_zones(conn, list(found.dealers))
    local = threading.local()
    opening = threading.Lock()
    failed = threading.Event()  # after a failure no other dealer starts (like a plain loop)

    with ExitStack() as connections:

        def load(code: str) -> dict[str, Any] | None:
            if failed.is_set():
                return None
            if not hasattr(local, "conn"):  # one connection per worker thread
                with opening:
                    local.conn = connections.enter_context(connect(url, autocommit=True))
            try:
                return _load_dealer(local.conn, code, found.dealers[code], zones[code], ctx, found)
            except BaseException:
                failed.set()
                raise

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = {code: pool.submit(load, code) for code in found.dealers}
        errors = [f.exception() for f in futures.values() if f.exception() is not None]
        if errors:
            raise errors[0]
        entries = {code: future.result() for code, future in futures.items()}
    report_dealers: dict[str, dict[str, Any]] = {}
    totals = _empty_summary()
    for code, entry in entries.items():
        entry["is_registered"] = code not in unregistered
        entry["folders"] = found.folders.get(code, [code])
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
    found: Discovery,
) -> dict[str, Any]:
    summary = _empty_summary()
    entries = []
    for lf in files:
        try:
            outcome = load_file(conn, lf, local_tz, ctx)
        except NotARegularFile as exc:
            found.refuse(lf.where, str(exc).split(": ", 1)[-1])
            continue
        _add(summary, outcome)
        _log_outcome(lf, outcome)
        entries.append(
            {
                "file": lf.name,
                "folder": lf.folder or code,
                "object": lf.obj,
                "sha256": outcome.sha256,
                "status": outcome.status,
                "rows_in": outcome.rows_in,
                "rows_loaded": outcome.rows_loaded,
                "rows_quarantined": outcome.rows_quarantined,
                "batch_id": outcome.batch_id,
                "reason": outcome.reason,
                "encoding": outcome.encoding,
                "duplicate_of": outcome.duplicate_of,
                "blank_lines": outcome.blank_lines,
            }
        )
    return {"timezone": local_tz.key, "files": entries, "totals": summary}


def _log_outcome(lf: LandingFile, outcome: FileOutcome) -> None:
    where = lf.where
    if outcome.status == REJECTED:
        log.warning(
            "%s rejected (%s): %d rows quarantined", where, outcome.reason, outcome.rows_quarantined
        )
    elif outcome.status == DUPLICATE:
        log.warning("%s is byte-identical to %s: recorded, not loaded", where, outcome.duplicate_of)
    elif outcome.status == EMPTY:
        log.warning("%s is empty: recorded, nothing to load", where)
    elif outcome.status == LOADED:
        log.info(
            "%s loaded (%s): %d rows in, %d loaded, %d quarantined",
            where,
            outcome.encoding,
            outcome.rows_in,
            outcome.rows_loaded,
            outcome.rows_quarantined,
        )
    else:
        log.info("%s already loaded (batch %s): skipped", where, outcome.batch_id)

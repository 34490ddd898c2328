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
parallel: as mapped Airflow tasks (:func:`list_landing`, :func:`load_dealer_folder` per dealer,
:func:`merge_reports`), where a failing dealer does not stop the others, or in
:func:`load_landing` on ``workers`` connections (one dealer's files in order), where after a
failure no other dealer starts.

**Files.**

- **Once per file.** Content is identified by ``(dealer_code, sha256 of its bytes)``. A file
  already in ``ops.landed_files`` under its name is skipped (``skipped_already_loaded``), so
  re-running changes nothing. A byte-identical copy under another name is not loaded again
  but recorded: status ``duplicate``, ``duplicate_of`` = the first file's name, 0 rows.
- **Unchanged files are not read.** The stat of a local file (size, mtime, ctime, inode) is
  taken before it is read and kept in ``ops.landing_file_checks`` once its content is landed;
  :func:`list_landing` reports a file whose stat still matches as skipped without reading or
  hashing it. A file changed less than 2 s before its stat, or on object storage, is always
  read (:func:`file_fingerprint`); ``rehash=True`` (``config/landing.yml``
  ``skip_unchanged_files: false``) reads every file.
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
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
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
    checked: bool = False  # its ops.landing_file_checks row was written in its transaction


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


_LANDED = """
    select content_sha256, file_name, batch_id, duplicate_of from ops.landed_files
    where dealer_code = %s {and_content}
    order by duplicate_of is not null, landed_at
"""


def landed_contents(conn: psycopg.Connection, dealer_code: str) -> dict[str, list[_Landed]]:
    """Every content (sha256) of the dealer in ``ops.landed_files``, the row that loaded it
    first: one query per dealer, so a re-run does no round trip for a file it skips."""
    known: dict[str, list[_Landed]] = {}
    for sha, name, batch, dup in conn.execute(_LANDED.format(and_content=""), (dealer_code,)):
        known.setdefault(sha, []).append(_Landed(name, str(batch), dup))
    return known


def _landed_rows(rows: Iterable[Sequence]) -> list[_Landed]:
    return [_Landed(name, str(batch), dup) for _sha, name, batch, dup in rows]


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


#: A queued statement: SQL text and its parameters.
_Statement = tuple[str, Sequence[Any]]


def load_file(
    conn: psycopg.Connection,
    lf: LandingFile,
    local_tz: ZoneInfo,
    ctx: LoadContext,
    known: Mapping[str, Sequence[_Landed]] | None = None,
    *,
    check: bool = False,
    fingerprint: str | None = None,
) -> FileOutcome:
    """Load one file in one transaction (``conn`` must be in autocommit mode, no transaction
    open).

    Returns the outcome; a file already in ``ops.landed_files`` under its name is skipped, a
    byte-identical copy under another name is recorded as a duplicate. A plain CSV file is
    loaded set-based (:mod:`dealerfunnel.landing.bulk`), any other row by row
    (:func:`prepare`), with the same result: a file the set-based path turns down half-way
    is rolled back and loaded row by row in a new transaction. Database errors propagate
    after the transaction is rolled back, leaving nothing behind. Raises
    :class:`NotARegularFile` when the path is no longer a regular file.

    ``known``: the dealer's landed contents (:func:`landed_contents`), read once per dealer;
    without it the file's content is looked up. Either way it is looked up again under the
    file's lock before anything is written. The commit is asynchronous
    (``synchronous_commit = off``): :func:`flush_commits` makes every commit before it
    durable.

    ``check``: the file's ``ops.landing_file_checks`` row (``fingerprint``, taken before it was
    read) is written in the file's transaction, and the outcome says so (``checked``); a file
    skipped from ``known`` opens no transaction and is not checked here.
    """
    data = read_landing_file(lf.path)
    sha = hashlib.sha256(data).hexdigest()
    if known is None:
        landed = _landed_rows(
            conn.execute(_LANDED.format(and_content=_AND_CONTENT), (lf.dealer_code, sha))
        )
    else:
        landed = list(known.get(sha, ()))
    if skipped := _seen(landed, lf, sha):
        return skipped
    started_at = datetime.now(UTC)
    skew = (
        clock_skew_minutes(lf.dealer_code, ctx.settings)
        if ctx.settings is not None
        else DEFAULT_CLOCK_SKEW_MINUTES
    )
    batch = _Batch(lf, sha, uuid.uuid4(), started_at, ctx.source, ctx.limits, check, fingerprint)
    target = _bulk_file(data, lf, local_tz, ctx)
    if target is not None:
        found, encoding = target
        bulk_target = _bulk_target(batch, local_tz, ctx, skew)
        bulk.prepare_session(conn, found, lf.obj, bulk_target)
        try:
            return _in_transaction(
                conn,
                batch,
                lambda cur, finals: _write_bulk(cur, batch, found, encoding, bulk_target, finals),
            )
        except bulk.Unsupported as exc:
            log.debug("%s: loaded row by row (%s)", lf.where, exc)

    def row_by_row(cur: psycopg.Cursor, finals: list[_Statement]) -> FileOutcome:
        prepared = prepare(
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
        return _write_file(cur, batch, prepared, finals)

    return _in_transaction(conn, batch, row_by_row)


_AND_CONTENT = "and content_sha256 = %s"
_LOCK = "select pg_advisory_xact_lock(hashtextextended(%s, 0))"


def _in_transaction(
    conn: psycopg.Connection,
    batch: _Batch,
    write: Callable[[psycopg.Cursor, list[_Statement]], FileOutcome],
) -> FileOutcome:
    """``write`` the file in one transaction, under a transaction-scoped advisory lock on its
    (dealer, sha256) and after looking its content up again (another loader may have landed
    it since): skipped, a duplicate, or ``write``. ``write`` returns the outcome and leaves
    its last statements in ``finals``, sent with the commit.

    Few round trips: ``begin``, the settings, the lock and the look-up go in one pipeline;
    the final statements and ``commit`` in another."""
    lf, sha = batch.lf, batch.sha
    with conn.cursor() as cur:
        try:
            with conn.pipeline():
                cur.execute("begin")
                for setting in (*_FILE_SETTINGS, *bulk.SESSION_SETTINGS):
                    cur.execute(setting)
                cur.execute(_LOCK, (f"dealerfunnel.landing:{lf.dealer_code}:{sha}",))
                cur.execute(_LANDED.format(and_content=_AND_CONTENT), (lf.dealer_code, sha))
            landed = _landed_rows(cur.fetchall())
            finals: list[_Statement] = []
            if skipped := _seen(landed, lf, sha):  # another loader got there first
                outcome = skipped
            elif landed:
                outcome = _write_duplicate(lf, sha, landed[0], finals)
            else:
                outcome = write(cur, finals)
            if batch.check:
                finals.append(_check_statement(lf, batch.fingerprint, outcome))
                outcome.checked = True
            with conn.pipeline():
                for statement, params in finals:
                    cur.execute(statement, params)
                cur.execute("commit")
        except BaseException:
            if conn.pgconn.transaction_status != psycopg.pq.TransactionStatus.IDLE and (
                not conn.closed
            ):
                conn.execute("rollback")
            raise
    return outcome


#: Each file commits asynchronously: a commit that a server crash loses loses the whole file
#: (its raw rows with its ops.landed_files row), which the next run loads again, so nothing is
#: half-loaded; :func:`flush_commits` ends a dealer's files with one durable commit.
_FILE_SETTINGS = ("set local synchronous_commit = off",)


def flush_commits(conn: psycopg.Connection) -> None:
    """Make every transaction committed before this call durable: one synchronous commit of a
    transaction that writes WAL (a logical-decoding message, no table touched) flushes the
    write-ahead log up to it, and so every asynchronous commit before it."""
    with conn.transaction():
        conn.execute("set local synchronous_commit = on")
        conn.execute("select pg_logical_emit_message(true, 'dealerfunnel.landing', 'flush')")


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


def _bulk_target(
    batch: _Batch, local_tz: ZoneInfo, ctx: LoadContext, skew: float
) -> bulk.BulkTarget:
    return bulk.BulkTarget(
        table=sql.Identifier("raw", f"{batch.source}__{batch.lf.obj}"),
        metadata=dict(zip(METADATA_COLUMNS[:-1], _meta(batch), strict=True)),
        local_tz=local_tz,
        vocabulary=ctx.vocabulary,
        source=ctx.source,
        load_time=batch.started_at,
        skew_minutes=skew,
    )


def _write_bulk(
    cur: psycopg.Cursor,
    batch: _Batch,
    found: bulk.BulkFile,
    encoding: str,
    target: bulk.BulkTarget,
    finals: list[_Statement],
) -> FileOutcome:
    """:func:`_write_file` for a file the set-based path loads (raw rows first)."""
    result = bulk.load(cur, found, batch.lf.obj, target)
    outcome = PreparedFile(LOADED, result.rows_in, bad=[_bad_row(r) for r in result.bad])
    outcome.encoding = encoding
    return _write_file(cur, batch, outcome, finals, loaded=result.loaded)


@dataclass(frozen=True)
class _Batch:
    """One load of one file: what every row it writes is stamped with."""

    lf: LandingFile
    sha: str
    batch_id: uuid.UUID
    started_at: datetime  # also the rows' _extracted_at
    source: str
    limits: LandingLimits = LandingLimits()
    check: bool = False  # write the file's ops.landing_file_checks row in its transaction
    fingerprint: str | None = None


_INSERT_LANDED = """
    insert into ops.landed_files (dealer_code, content_sha256, file_name, object,
        batch_id, status, rows_in, rows_loaded, rows_quarantined, encoding, reason,
        duplicate_of)
    values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""


def _write_duplicate(
    lf: LandingFile, sha: str, first: _Landed, finals: list[_Statement]
) -> FileOutcome:
    """Record a byte-identical copy of content already landed: no rows, a trace."""
    reason = f"byte-identical to {first.file_name}: not loaded again"
    finals.append(
        (
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
    )
    return FileOutcome(DUPLICATE, first.batch_id, sha, reason=reason, duplicate_of=first.file_name)


def _write_file(
    cur: psycopg.Cursor,
    batch: _Batch,
    prepared: PreparedFile,
    finals: list[_Statement],
    *,
    loaded: int | None = None,
) -> FileOutcome:
    """The raw and quarantine rows (open transaction); the batch row and the landed-file row
    go to ``finals`` (the batch row at once when quarantine rows must reference it).

    ``loaded``: the raw rows are already written (the set-based path), this many."""
    lf = batch.lf
    good = len(prepared.good) if loaded is None else loaded
    set_based = loaded is not None
    if loaded is None:
        loaded = _copy_raw(cur, batch, prepared.good)
    batch_row = _insert_batch(batch, prepared, good, set_based=set_based)
    if prepared.bad:  # quarantine rows reference the batch row: it goes first
        cur.execute(*batch_row)
    else:
        finals.append(batch_row)
    quarantined = _copy_quarantine(cur, batch, prepared.bad)
    if (loaded, quarantined) != (good, len(prepared.bad)):
        raise RuntimeError(f"{lf.where}: COPY wrote an unexpected row count")
    if prepared.rows_in != loaded + quarantined:
        raise RuntimeError(f"{lf.where}: rows_in != loaded + quarantined")
    finals.append(
        (
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
    batch: _Batch, prepared: PreparedFile, good: int, *, set_based: bool
) -> _Statement:
    """The ``ops.load_batches`` row of the file (finished: it is written last)."""
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
    return (
        """
        insert into ops.load_batches (batch_id, source, dealer_code, object, started_at,
            finished_at, status, rows_in, rows_loaded, rows_quarantined, detail)
        values (%s, %s, %s, %s, %s, clock_timestamp(), %s, %s, %s, %s, %s::jsonb)
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
#
# Three steps, so that an orchestrator can run the dealers as separate tasks:
# list_landing (discovery, the registry, which files changed), load_dealer_folder (one dealer's
# changed files, one work item of the listing) and merge_reports (one report of them all).
# load_landing runs the three in one process.

_COUNTS = ("rows_in", "rows_loaded", "rows_quarantined")
_FILE_KEYS = {
    LOADED: "files_loaded",
    REJECTED: "files_rejected",
    EMPTY: "files_empty",
    DUPLICATE: "files_duplicate",
    SKIPPED: "files_skipped",
}
# A file's stat is trusted to stand for its content only when the file was last changed at
# least this long before the stat was taken: a file rewritten within the same file-system
# timestamp tick keeps its mtime (the "racily clean" case of git's index), so a file changed
# that recently is always read and hashed again.
STAT_SETTLE_NS = 2_000_000_000


def _empty_summary() -> dict[str, int]:
    return dict.fromkeys(("files", *_FILE_KEYS.values(), *_COUNTS), 0)


def _add(summary: dict[str, int], outcome: FileOutcome) -> None:
    summary["files"] += 1
    summary[_FILE_KEYS[outcome.status]] += 1
    for name in _COUNTS:
        summary[name] += getattr(outcome, name)


def file_fingerprint(path: Location, *, now_ns: int | None = None) -> str | None:
    """``size:mtime_ns:ctime_ns:inode`` of a settled local regular file, else None.

    None (never trusted, the file is read and hashed) for object storage, a file that is not
    a regular file any more, and a file changed less than :data:`STAT_SETTLE_NS` before
    ``now_ns`` (default: now). ``ctime`` changes on every write and cannot be set back by a
    copy that keeps the modification time (``cp -p``, ``rsync -t``).
    """
    if not isinstance(path, Path):
        return None
    now_ns = time.time_ns() if now_ns is None else now_ns
    try:
        st = os.lstat(path)
    except OSError:
        return None
    settled = max(st.st_mtime_ns, st.st_ctime_ns) <= now_ns - STAT_SETTLE_NS
    if not (stat.S_ISREG(st.st_mode) and settled):
        return None
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"


def _checked_files(
    conn: psycopg.Connection, dealer_codes: Sequence[str]
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """The trusted fingerprints of files whose content is still in ``ops.landed_files``."""
    rows = conn.execute(
        """
        select c.dealer_code, c.folder, c.file_name, c.fingerprint, c.content_sha256,
               l.batch_id, l.duplicate_of
        from ops.landing_file_checks as c
        join ops.landed_files as l
            on l.dealer_code = c.dealer_code
            and l.content_sha256 = c.content_sha256
            and l.file_name = c.file_name
        where c.dealer_code = any(%s) and c.fingerprint is not null
        """,
        (list(dealer_codes),),
    ).fetchall()
    return {
        (code, folder, name): {
            "fingerprint": fingerprint,
            "sha256": sha,
            "batch_id": str(batch),
            "duplicate_of": duplicate_of,
        }
        for code, folder, name, fingerprint, sha, batch, duplicate_of in rows
    }


def _record_check(
    conn: psycopg.Connection, lf: LandingFile, fingerprint: str | None, outcome: FileOutcome
) -> None:
    """Remember the fingerprint taken before reading a file whose content is now landed.

    Committed asynchronously, like the files (flush_commits ends the dealer): a crash that loses
    it only makes the next run hash that file again."""
    with conn.transaction():
        conn.execute("set local synchronous_commit = off")
        _insert_check(conn, lf, fingerprint, outcome)


def _insert_check(
    conn: psycopg.Connection, lf: LandingFile, fingerprint: str | None, outcome: FileOutcome
) -> None:
    conn.execute(*_check_statement(lf, fingerprint, outcome))


_UPSERT_CHECK = """
    insert into ops.landing_file_checks
        (dealer_code, folder, file_name, fingerprint, content_sha256, checked_at)
    values (%s, %s, %s, %s, %s, now())
    on conflict (dealer_code, folder, file_name) do update set
        fingerprint = excluded.fingerprint, content_sha256 = excluded.content_sha256,
        checked_at = excluded.checked_at
"""


def _check_statement(lf: LandingFile, fingerprint: str | None, outcome: FileOutcome) -> _Statement:
    """The upsert of the file's ``ops.landing_file_checks`` row."""
    return (
        _UPSERT_CHECK,
        (lf.dealer_code, lf.folder or lf.dealer_code, lf.name, fingerprint, outcome.sha256),
    )


def _file_entry(lf: LandingFile, outcome: FileOutcome) -> dict[str, Any]:
    return {
        "file": lf.name,
        "folder": lf.folder or lf.dealer_code,
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


def list_landing(
    url: str,
    landing_dir: str | Path | ObjectStoragePath,
    *,
    source: str = "dealer_export",
    rehash: bool = False,
) -> dict:
    """Discover the landing folder, register its dealers, and list the files to load.

    No file is read here. A file whose fingerprint (:func:`file_fingerprint`) equals the one
    taken when its content was last loaded, and whose content is still in
    ``ops.landed_files``, is unchanged: it is reported ``skipped_already_loaded`` without
    being read or hashed. Every other file (new, changed, recently written, on object
    storage, or every file with ``rehash=True``) goes to ``work``, where
    :func:`load_dealer_folder` reads and hashes it, so a file is still loaded once per
    content. JSON-serialisable::

        {"source", "landing_dir", "started_at", "unregistered_dealers", "ignored", "refused",
         "dealers": {code: {"folders": [...], "timezone", "unchanged": [file entry, ...]}},
         "work": [{"dealer_code", "source", "landing_dir",
                   "files": [{"folder", "file"}, ...]}, ...]}   # dealers with files to load

    A missing ``landing_dir`` is logged and lists nothing (the registry is still synchronised).
    """
    started = datetime.now(UTC)
    location = landing_location(landing_dir)
    if location.is_dir():
        found = discover(location)
    else:
        log.warning("landing folder %s does not exist: nothing to load", location)
        found = Discovery()
    with connect(url, autocommit=True) as conn:
        with conn.transaction():
            unregistered = _register(conn, found.dealers)
        zones = dict(
            conn.execute(
                "select dealer_code, timezone from ops.dealers where dealer_code = any(%s)",
                (list(found.dealers),),
            ).fetchall()
        )
        checked = {} if rehash else _checked_files(conn, list(found.dealers))
    now_ns = time.time_ns()
    dealers: dict[str, dict[str, Any]] = {}
    work: list[dict[str, Any]] = []
    for code, files in found.dealers.items():
        unchanged: list[dict[str, Any]] = []
        to_load: list[dict[str, str]] = []
        for lf in files:
            folder = lf.folder or code
            seen = checked.get((code, folder, lf.name))
            if seen is not None and seen["fingerprint"] == file_fingerprint(lf.path, now_ns=now_ns):
                outcome = FileOutcome(
                    SKIPPED, seen["batch_id"], seen["sha256"], duplicate_of=seen["duplicate_of"]
                )
                unchanged.append(_file_entry(lf, outcome))
            else:
                to_load.append({"folder": folder, "file": lf.name})
        dealers[code] = {
            "folders": found.folders.get(code, [code]),
            "timezone": zones.get(code),
            "unchanged": unchanged,
        }
        if to_load:
            work.append(
                {
                    "dealer_code": code,
                    "source": source,
                    "landing_dir": str(location),
                    "files": to_load,
                }
            )
    log.info(
        "landing: %d dealer folder(s), %d with files to load (%d files), %d file(s) unchanged",
        len(dealers),
        len(work),
        sum(len(w["files"]) for w in work),
        sum(len(d["unchanged"]) for d in dealers.values()),
    )
    return {
        "source": source,
        "landing_dir": str(location),
        "started_at": started.isoformat(),
        "unregistered_dealers": unregistered,
        "ignored": found.ignored,
        "refused": found.refused,
        "dealers": dealers,
        "work": work,
    }


def _load_context(source: str, limits: LandingLimits | None, set_based: bool) -> LoadContext:
    vocabulary = load_stage_mapping().get(source)
    if vocabulary is None:
        raise ConfigError(f"stage_mapping.csv: no vocabulary for source {source!r}")
    return LoadContext(
        source, vocabulary, limits or LandingLimits(), load_funnel_settings(), set_based
    )


def load_dealer_folder(
    url: str,
    item: Mapping[str, Any],
    *,
    limits: LandingLimits | None = None,
    set_based: bool = True,
) -> dict[str, Any]:
    """Load one work item of :func:`list_landing` (one dealer's files) on its own connection.

    Returns the dealer's report ``{"dealer_code", "timezone", "files", "totals", "refused"}``.
    Each file loads in its own transaction, so a failure keeps the files committed before it
    and a retry skips them by hash. Raises :class:`ConfigError` (unknown stage vocabulary or
    dealer time zone) and database or file errors as they come.
    """
    ctx = _load_context(item["source"], limits, set_based)
    with connect(url, autocommit=True) as conn:
        return _load_folder(conn, item, ctx)


def _load_folder(
    conn: psycopg.Connection, item: Mapping[str, Any], ctx: LoadContext
) -> dict[str, Any]:
    code = item["dealer_code"]
    root = landing_location(item["landing_dir"])
    local_tz = _dealer_zones(conn, [code]).get(code)
    if local_tz is None:
        raise ConfigError(f"ops.dealers: dealer {code} is not registered (list the folder first)")
    summary = _empty_summary()
    entries: list[dict[str, Any]] = []
    refused: list[dict[str, str]] = []
    known = landed_contents(conn, code)  # the dealer's landed contents, read once
    try:
        for wanted in item["files"]:
            folder, name = wanted["folder"], wanted["file"]
            obj = object_for(name)
            if obj is None:
                raise ValueError(f"{folder}/{name}: not a landing file name")
            lf = LandingFile(code, root / folder / name, obj, folder)
            fingerprint = file_fingerprint(lf.path)  # before reading: a later write changes it
            try:
                outcome = load_file(
                    conn, lf, local_tz, ctx, known, check=True, fingerprint=fingerprint
                )
            except NotARegularFile as exc:
                reason = str(exc).split(": ", 1)[-1]
                refused.append({"path": lf.where, "reason": reason})
                log.warning("landing: %s refused: %s", lf.where, reason)
                continue
            if not outcome.checked:  # skipped without a transaction
                _record_check(conn, lf, fingerprint, outcome)
            _add(summary, outcome)
            _log_outcome(lf, outcome)
            entries.append(_file_entry(lf, outcome))
    finally:
        wrote = summary["files"] - summary["files_skipped"]
        if wrote and conn.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            flush_commits(conn)  # the dealer's files durable before its report is returned
    return {
        "dealer_code": code,
        "timezone": local_tz.key,
        "files": entries,
        "totals": summary,
        "refused": refused,
    }


def merge_reports(listing: Mapping[str, Any], results: Iterable[Mapping | None]) -> dict:
    """One landing report (the format of :func:`load_landing`) from the listing and the
    dealer reports of :func:`load_dealer_folder`; ``None`` stands for a failed dealer.

    A dealer whose work item has no report is listed under ``failed_dealers`` (its unchanged
    files are still reported, the files it was to load are not).
    """
    loaded = {r["dealer_code"]: r for r in results if r}
    failed = sorted(w["dealer_code"] for w in listing["work"] if w["dealer_code"] not in loaded)
    refused = list(listing["refused"])
    dealers: dict[str, dict[str, Any]] = {}
    totals = _empty_summary()
    for code, listed in listing["dealers"].items():
        result = loaded.get(code)
        files = [*listed["unchanged"], *(result["files"] if result else [])]
        files.sort(key=lambda e: (e["file"], e["folder"]))
        summary = _empty_summary()
        for entry in files:
            summary["files"] += 1
            summary[_FILE_KEYS[entry["status"]]] += 1
            for name in _COUNTS:
                summary[name] += entry[name]
        for name in totals:
            totals[name] += summary[name]
        if result:
            refused.extend(result["refused"])
        dealers[code] = {
            "timezone": result["timezone"] if result else listed["timezone"],
            "files": files,
            "totals": summary,
            "is_registered": code not in listing["unregistered_dealers"],
            "folders": listed["folders"],
        }
    report = {
        "source": listing["source"],
        "landing_dir": listing["landing_dir"],
        "started_at": listing["started_at"],
        "finished_at": datetime.now(UTC).isoformat(),
        "dealers": dealers,
        "unregistered_dealers": listing["unregistered_dealers"],
        "failed_dealers": failed,
        "ignored": listing["ignored"],
        "refused": refused,
        "totals": {"dealers": len(dealers), **totals, "refused": len(refused)},
    }
    log.info("landing load finished: %s", json.dumps(report["totals"]))
    return report


def load_landing(
    url: str,
    landing_dir: str | Path | ObjectStoragePath,
    *,
    source: str = "dealer_export",
    limits: LandingLimits | None = None,
    set_based: bool = True,
    workers: int = 2,
    rehash: bool = False,
) -> dict:
    """Load every new file under ``landing_dir``; return a JSON-serialisable report.

    :func:`list_landing`, :func:`load_dealer_folder` for each dealer with files to load, then
    :func:`merge_reports`, in one process (the DAG runs the dealers as mapped tasks instead).
    Dealer folders load in parallel on ``workers`` connections (one dealer's files in order,
    on one connection); after a failure no other dealer starts and the first error is raised.
    ``set_based=False`` loads every file row by row (the reference path that the set-based
    one must equal); ``rehash=True`` reads and hashes every file, changed or not.

    Report::

        {"source", "landing_dir", "started_at", "finished_at",
         "dealers": {code: {"is_registered", "timezone", "folders": [name, ...], "files": [
             {"file", "folder", "object", "sha256", "status", "rows_in", "rows_loaded",
              "rows_quarantined", "batch_id", "reason", "encoding", "duplicate_of",
              "blank_lines"}, ...],
             "totals": {"files", "files_loaded", "files_rejected", "files_empty",
                        "files_duplicate", "files_skipped",
                        "rows_in", "rows_loaded", "rows_quarantined"}}},
         "unregistered_dealers": [code, ...], "failed_dealers": [code, ...],
         "ignored": ["SH001/readme.txt", ...],
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
    ctx = _load_context(source, limits, set_based)
    listing = list_landing(url, landing_dir, source=source, rehash=rehash)
    local = threading.local()
    opening = threading.Lock()
    failed = threading.Event()  # after a failure no other dealer starts (like a plain loop)

    with ExitStack() as connections:

        def load(item: dict[str, Any]) -> dict[str, Any] | None:
            if failed.is_set():
                return None
            if not hasattr(local, "conn"):  # one connection per worker thread
                with opening:
                    local.conn = connections.enter_context(connect(url, autocommit=True))
            try:
                return _load_folder(local.conn, item, ctx)
            except BaseException:
                failed.set()
                raise

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = [pool.submit(load, item) for item in listing["work"]]
        errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:
            raise errors[0]
        results = [future.result() for future in futures]
    return merge_reports(listing, results)


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

"""Pure parsing of dealer CRM export files: bytes -> header + rows -> typed values.

Nothing here touches the database or the file system; :mod:`.files` does the loading. Every
function raises :class:`ValueError` (or :class:`FileRejected`) with a message that is stored
as the quarantine ``reason``, so messages are short, stable and quote the offending value.

CSV text is cut into records by :func:`split_records`, a small record splitter that reads
physical lines, follows the quote state to assemble logical records (a quoted field may span
lines) and gives every record its line numbers, its raw text and either its fields (parsed
with :mod:`csv`, ``strict``) or the problem that makes it unreadable. One bad record (an
unterminated quote, an oversized field, malformed quoting) never stops the records after it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from dealerfunnel.settings import CANONICAL_STAGES

#: The objects of the dealer CRM export contract, by file name prefix.
OBJECTS: tuple[str, ...] = (
    "leads",
    "stage_events",
    "followups",
    "activities",
    "surveys",
    "targets",
)

#: Required columns per object (DESIGN.md section 3).
REQUIRED_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "leads": ("lead_id", "created_at"),
    "stage_events": ("lead_id", "stage", "occurred_at"),
    "followups": ("lead_id", "occurred_at"),
    "activities": ("lead_id", "activity", "occurred_at"),
    "surveys": ("lead_id", "occurred_at", "score"),
    "targets": ("month", "metric", "target"),
}

#: The values of ``activities.activity`` (DESIGN.md section 3), compared after trimming and
#: case-folding; anything else quarantines the row (``unknown activity 'x'``).
ACTIVITIES: tuple[str, ...] = (
    "appointment",
    "showroom_visit",
    "test_drive",
    "proposal",
    "quote",
    "order_signed",
    "delivered",
    "first_service",
)

#: Optional columns with a closed vocabulary: a value outside it (after trimming and
#: case-folding) quarantines the row (``unknown purpose 'x'``); an empty cell is NULL.
CHECKED_VALUE_COLUMNS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "followups": {"purpose": ("sales", "after_sales")},
}

#: Optional columns that get a typed raw column when present (empty cell -> NULL).
OPTIONAL_TIMESTAMP_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "leads": ("assigned_at",),
    "stage_events": (),
    "followups": ("recorded_at",),
    "activities": (),
    "surveys": (),
    "targets": (),
}

#: Optional timestamp columns of the contract without a typed raw column: validated (and
#: checked against the clock) when present and not empty; kept in the payload.
CHECKED_TIMESTAMP_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "leads": (),
    "stage_events": (),
    "followups": (),
    "activities": (),
    "surveys": (),
    "targets": (),
}

#: ``surveys.kind`` and ``targets.metric`` (DESIGN.md section 3): closed vocabularies, compared
#: after trimming and case-folding; anything else quarantines the row.
SURVEY_KINDS: tuple[str, ...] = ("purchase", "after_sales")
TARGET_METRICS: tuple[str, ...] = ("leads", "interested", "won", "amount")
#: ``surveys.scale_max`` when the column is absent or empty.
DEFAULT_SCALE_MAX = Decimal(10)

#: A field longer than this (characters) quarantines its record: ``field over the size limit``.
FIELD_SIZE_LIMIT = 64 * 1024
#: The raw text of a quarantined record is kept up to this many characters (``raw_length``
#: holds the full length).
RAW_TEXT_LIMIT = 4 * 1024

#: Canonical stage codes, accepted as is by every source.
CANONICAL_CODES: tuple[str, ...] = (*CANONICAL_STAGES, "lost")

_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DATETIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<oh>\d{2})(?::?(?P<om>\d{2}))?)?"
)


class FileRejected(ValueError):
    """The whole file is unusable (encoding, header); the message is the quarantine reason."""


# -- timestamps -----------------------------------------------------------------------------


def _offset(match: re.Match[str]) -> tzinfo | None:
    if match.group("utc"):
        return UTC
    if not match.group("sign"):
        return None
    hours, minutes = int(match.group("oh")), int(match.group("om") or 0)
    if hours > 23 or minutes > 59:
        raise ValueError("offset out of range")
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if match.group("sign") == "-" else delta)


def parse_timestamp(value: str, local_tz: tzinfo) -> datetime:
    """Parse an ISO 8601 date or datetime into a UTC-aware :class:`datetime`.

    Accepted: ``2026-05-04`` (local midnight), ``2026-05-04 09:30``, ``2026-05-04T09:30:00``,
    optional fractional seconds (``.123``, up to 9 digits, truncated to microseconds) and an
    optional offset (``Z``, ``+08:00``, ``+0800``, ``+08``). Without an offset the value is in
    ``local_tz``. Surrounding whitespace is ignored; none is allowed before the offset.

    Raises :class:`ValueError` for anything else: empty strings, other separators
    (``2026/05/04``), single-digit fields, out-of-range fields (``2026-13-45``, ``25:00``),
    week or ordinal dates, and free text.
    """
    text = value.strip()
    match = _DATETIME_RE.fullmatch(text)
    if match:
        year, month, day, hour, minute, second, fraction = match.groups()[:7]
        micro = int(fraction.ljust(6, "0")[:6]) if fraction else 0
        naive = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro
        )
        offset = _offset(match)
    else:
        match = _DATE_RE.fullmatch(text)
        if not match:
            raise ValueError(f"not an ISO 8601 date or datetime: {value!r}")
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        naive = datetime(day.year, day.month, day.day)
        offset = None
    try:
        return naive.replace(tzinfo=offset or local_tz).astimezone(UTC)
    except OverflowError:  # 0001-01-01 or 9999-12-31 shifted out of range
        raise ValueError(f"out of range: {value!r}") from None


# -- stages ---------------------------------------------------------------------------------


def normalise_stage(value: str, vocabulary: Mapping[str, str], source: str) -> str:
    """Map a source stage value to its canonical code.

    ``vocabulary`` is ``load_stage_mapping()[source]`` (keys already trimmed and casefolded).
    The value is trimmed and compared case-insensitively; a canonical code is accepted as is.
    Raises :class:`ValueError` (``empty stage`` / ``unknown stage 'x' for source s``).
    """
    key = value.strip().casefold()
    if not key:
        raise ValueError("empty stage")
    if key in CANONICAL_CODES:
        return key
    try:
        return vocabulary[key]
    except KeyError:
        raise ValueError(f"unknown stage {value!r} for source {source}") from None


def normalise_activity(value: str) -> str:
    """An ``activities`` row's ``activity``, trimmed and lower-cased; one of :data:`ACTIVITIES`.

    Raises :class:`ValueError` (``empty activity`` / ``unknown activity 'x'``).
    """
    key = value.strip().casefold()
    if not key:
        raise ValueError("empty activity")
    if key not in ACTIVITIES:
        raise ValueError(f"unknown activity {value!r}")
    return key


# -- numbers, months and closed vocabularies (surveys, targets) -----------------------------

_NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?")
_MONTH_RE = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")


def parse_number(value: str) -> Decimal:
    """A plain decimal number; spaces and thousands separators (``,``) are dropped
    (``1,200,000`` -> 1200000). Raises :class:`ValueError` for anything else (``12%``,
    ``1e3``, ``NaN``, an empty string)."""
    text = re.sub(r"[\s,]", "", value)
    if not _NUMBER_RE.fullmatch(text):
        raise ValueError(f"not a number: {value!r}")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern only lets plain numbers through
        raise ValueError(f"not a number: {value!r}") from None


def parse_month(value: str) -> date:
    """The first day of a month written ``YYYY-MM`` or ``YYYY-MM-01``. Raises
    :class:`ValueError` for another day of the month, an invalid month or other text."""
    match = _MONTH_RE.fullmatch(value.strip())
    if not match:
        raise ValueError(f"not a month (YYYY-MM): {value!r}")
    year, month, day = match.groups()
    if day is not None and day != "01":
        raise ValueError(f"not a month (YYYY-MM): {value!r} is not the first day")
    try:
        return date(int(year), int(month), 1)
    except ValueError:
        raise ValueError(f"not a month (YYYY-MM): {value!r}") from None


def normalise_choice(value: str, column: str, choices: Sequence[str]) -> str:
    """``value`` trimmed and case-folded, one of ``choices``; :class:`ValueError`
    (``unknown metric 'x'``) otherwise."""
    key = value.strip().casefold()
    if key not in choices:
        raise ValueError(f"unknown {column} {value!r} (one of {', '.join(choices)})")
    return key


# -- bytes, header and rows -----------------------------------------------------------------


_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class Decoded:
    """Decoded text and how: ``utf-8``, ``utf-8-sig`` (one or more BOMs) or ``gb18030``."""

    text: str
    encoding: str
    boms: int = 0


def strip_boms(data: bytes) -> tuple[bytes, int]:
    """``data`` without any number of leading UTF-8 BOMs, and how many there were."""
    count = 0
    while data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
        count += 1
    return data, count


def decode(data: bytes) -> Decoded:
    """Detect the encoding and decode: strip every leading UTF-8 BOM, try strict UTF-8, else
    strict GB18030 (a superset of GBK/GB2312: what Excel writes on Chinese Windows).

    Raises :class:`FileRejected` naming the first bad byte of each attempt when neither
    decodes (``not valid UTF-8 (byte 0xe9 at offset 25, line 2) nor GB18030 (...)``),
    or when the file is UTF-16 (a UTF-16 BOM).
    """
    body, boms = strip_boms(data)
    if body.startswith(_UTF16_BOMS) and not boms:
        raise FileRejected("UTF-16 text is not supported: save the file as CSV UTF-8")
    try:
        return Decoded(body.decode("utf-8"), "utf-8-sig" if boms else "utf-8", boms)
    except UnicodeDecodeError as exc:
        utf8 = _bad_byte(body, exc.start, boms)
    try:
        text = body.decode("gb18030")
    except UnicodeDecodeError as exc:
        gb = _bad_byte(body, exc.start, boms)
        raise FileRejected(f"not valid UTF-8 ({utf8}) nor GB18030 ({gb})") from None
    return Decoded(text.lstrip("\ufeff"), "gb18030", boms)


def _bad_byte(body: bytes, start: int, boms: int) -> str:
    line = body.count(b"\n", 0, start) + 1
    return f"byte 0x{body[start]:02x} at offset {start + 3 * boms}, line {line}"


def decode_lossy(data: bytes) -> str:
    """The text of an undecodable file, bad bytes as U+FFFD: only to count and keep its rows."""
    return strip_boms(data)[0].decode("utf-8", errors="replace")


# -- the record splitter --------------------------------------------------------------------

_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def physical_lines(text: str) -> list[tuple[str, str]]:
    """``text`` cut into ``(content, terminator)`` pairs.

    A line ends with ``\r\n``, ``\n`` or ``\r`` (what :mod:`csv` accepts); the last line may
    have no terminator (``""``). ``"".join(c + t for c, t in lines) == text``.
    """
    lines = []
    for match in _LINE_RE.finditer(text):
        line = match.group()
        if line.endswith("\r\n"):
            lines.append((line[:-2], "\r\n"))
        elif line.endswith(("\n", "\r")):
            lines.append((line[:-1], line[-1]))
        else:
            lines.append((line, ""))
    return lines


@dataclass(frozen=True)
class Record:
    """One logical record: physical lines ``line``..``end_line`` (1-based) of the file.

    ``text`` is the raw text of those lines without the last terminator. ``fields`` are the
    parsed values, or ``None`` when ``problem`` says why the record cannot be read.
    """

    line: int
    end_line: int
    text: str
    fields: list[str] | None
    problem: str | None = None

    @property
    def blank(self) -> bool:
        """An empty or whitespace-only line: it holds no data and is not a row."""
        return self.fields is not None and (
            not self.fields or (len(self.fields) == 1 and not self.fields[0].strip())
        )


class _Scan:
    """Quote state of the record being assembled (the :mod:`csv` default dialect)."""

    __slots__ = ("current", "fields", "longest", "longest_at", "malformed", "quoted")

    def __init__(self) -> None:
        self.quoted = False  # inside a quoted field at the end of the line read last
        self.malformed = False  # a character other than ',' after a closing quote
        self.fields = 0  # completed fields
        self.current = 0  # raw length of the field being read
        self.longest = 0
        self.longest_at = 0

    def end_field(self) -> None:
        if self.current > self.longest:
            self.longest, self.longest_at = self.current, self.fields
        self.fields += 1
        self.current = 0

    def line(self, line: str) -> None:
        """Advance over one physical line (without its terminator)."""
        n, i = len(line), 0
        start = not self.quoted  # at the start of a field
        while True:
            if self.quoted:
                j = line.find('"', i)
                if j < 0:
                    self.current += n - i
                    return
                if j + 1 < n and line[j + 1] == '"':  # an escaped quote
                    self.current += j + 2 - i
                    i = j + 2
                    continue
                self.current += j + 1 - i
                i, self.quoted, start = j + 1, False, False
                if i < n and line[i] != ",":
                    self.malformed = True
            elif start and i < n and line[i] == '"':
                self.quoted, start = True, False
                self.current += 1
                i += 1
                continue
            k = line.find(",", i)  # a quote inside an unquoted field is a plain character
            if k < 0:
                self.current += n - i
                self.end_field()
                return
            self.current += k - i
            self.end_field()
            i, start = k + 1, True


def split_records(
    text: str,
    *,
    width: int | None = None,
    header: bool = True,
    field_limit: int = FIELD_SIZE_LIMIT,
) -> Iterator[Record]:
    """Cut CSV text into :class:`Record` objects; every physical line is in exactly one.

    Records are assembled by following the quote state over physical lines: a quoted field
    may span lines. A record spanning several lines is accepted only when it is well formed
    and has ``width`` fields (``width`` is the header's field count: the first non-blank
    record's when ``header`` is true and ``width`` is None). Otherwise, and when the file
    ends inside quotes, the quote opened on the first line is unterminated: that line alone
    becomes a record with the problem ``unterminated quote ...`` and splitting resumes on the
    next line, so the rows after it are read. A record with a field longer than
    ``field_limit`` characters gets ``field over the size limit`` (without being parsed); one
    :mod:`csv` cannot parse (``strict``: a character after a closing quote) gets
    ``malformed CSV: ...``. Never raises.
    """
    lines = physical_lines(text)
    names: list[str] = []
    seen_header = not header
    i, total = 0, len(lines)
    while i < total:
        scan = _Scan()
        j = i
        while True:
            scan.line(lines[j][0])
            if not scan.quoted or j + 1 == total:
                break
            scan.current += len(lines[j][1])  # the line break is inside the quoted field
            j += 1
        if scan.quoted or (
            j > i and (scan.malformed or (width is not None and scan.fields != width))
        ):
            if scan.quoted:
                problem = "unterminated quote: no closing quote before the end of the file"
            else:
                problem = (
                    f"unterminated quote: closing it on line {j + 1} would merge lines "
                    f"{i + 1}-{j + 1} into one malformed row"
                )
            yield Record(i + 1, i + 1, lines[i][0], None, problem)
            i += 1
            continue
        raw = "".join(c + t for c, t in lines[i:j]) + lines[j][0]
        if scan.longest > field_limit:
            at = scan.longest_at
            column = names[at] if at < len(names) else f"field {at + 1}"
            problem = (
                f"field over the size limit: {column} has {scan.longest} characters "
                f"(limit {field_limit})"
            )
            record = Record(i + 1, j + 1, raw, None, problem)
        else:
            record = _parse_record(i + 1, j + 1, raw)
        if not seen_header and not record.blank:
            seen_header = True
            if record.fields is not None:
                names = [name.strip() for name in record.fields]
                width = len(names) if width is None else width
        yield record
        i = j + 1


def _parse_record(line: int, end_line: int, raw: str) -> Record:
    try:
        rows = list(csv.reader(io.StringIO(raw, newline=""), strict=True))
    except csv.Error as exc:
        return Record(line, end_line, raw, None, f"malformed CSV: {exc}")
    if len(rows) > 1:  # cannot happen for a record the splitter assembled; never merge rows
        return Record(line, end_line, raw, None, "malformed CSV: more than one row")
    return Record(line, end_line, raw, rows[0] if rows else [])


@dataclass
class Table:
    """A file as header + data records (blank lines dropped and counted)."""

    header: list[str]
    header_line: int
    records: list[Record]
    blank_lines: int = 0
    problem: str | None = None  # the header record cannot be read: the file is rejected


def read_csv(text: str, *, field_limit: int = FIELD_SIZE_LIMIT) -> Table:
    """Split decoded CSV text into the trimmed header and the data records.

    The header is the first non-blank record. Empty and whitespace-only lines hold no data:
    they are skipped and counted (``blank_lines``); a line of empty fields (``,,``) is a row.
    Quoted fields may span lines. Empty header names become ``_column_<n>`` (1-based). A
    header record that cannot be read sets ``problem``. Raises :class:`FileRejected` only
    when there is no non-blank line at all (``empty file: no header row``).
    """
    head: Record | None = None
    records: list[Record] = []
    blank = 0
    for record in split_records(text, field_limit=field_limit):
        if record.blank:
            blank += 1
        elif head is None:
            head = record
        else:
            records.append(record)
    if head is None:
        raise FileRejected("empty file: no header row")
    if head.fields is None:
        problem = f"unreadable header (line {head.line}): {head.problem}"
        return Table([], head.line, records, blank, problem)
    header = [name.strip() or f"_column_{i}" for i, name in enumerate(head.fields, start=1)]
    return Table(header, head.line, records, blank)


def _csv_line(fields: Sequence[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(fields)
    return buffer.getvalue()


def read_xlsx(data: bytes) -> Table:
    """The first worksheet of an XLSX workbook as header + records of strings.

    Cells become the text a CSV export would hold: dates and datetimes in ISO 8601 (a naive
    datetime stays naive, so it is read in the dealer's local time like a CSV value), whole
    numbers without a decimal point (phone numbers typed as numbers), other numbers as
    ``repr``, booleans as ``true``/``false``, empty cells as ``""``. Completely empty rows are
    skipped and counted. A record's line is its worksheet row number and its text the row as
    a CSV line. Raises :class:`FileRejected` when the bytes are not a readable workbook or
    the worksheet has no non-empty row.
    """
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileRejected(f"not a readable XLSX workbook: {exc}") from None
    rows: list[tuple[int, list[str]]] = []
    blank = 0
    try:
        sheet = workbook.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            if any(value not in (None, "") for value in row):
                rows.append((number, [_cell_text(value) for value in row]))
            else:
                blank += 1
    finally:
        workbook.close()
    if not rows:
        raise FileRejected("empty workbook: no header row")
    first = rows[0][1]
    while first and first[-1] == "":  # trailing empty header cells
        width = len(first) - 1
        if any(len(r) > width and r[width] for _, r in rows[1:]):
            break
        rows = [(n, r[:width]) for n, r in rows]
        first = rows[0][1]
    header = [name.strip() or f"_column_{i}" for i, name in enumerate(first, start=1)]
    width = len(header)
    records = []
    for number, cells in rows[1:]:
        fields = cells + [""] * (width - len(cells)) if len(cells) < width else cells
        records.append(Record(number, number, _csv_line(fields), fields))
    return Table(header, rows[0][0], records, blank)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return repr(value)
    return str(value)


def header_problem(header: Sequence[str], obj: str) -> str | None:
    """Why ``header`` cannot be loaded as ``obj``, or ``None`` when it can.

    ``duplicate column 'x'`` (the pairing of values to names would be ambiguous), or
    ``missing required column 'x'`` / ``missing required columns 'x', 'y'`` (exact names,
    after trimming).
    """
    seen: set[str] = set()
    for name in header:
        if name in seen:
            return f"duplicate column {name!r}"
        seen.add(name)
    missing = [name for name in REQUIRED_COLUMNS[obj] if name not in seen]
    if not missing:
        return None
    names = ", ".join(repr(name) for name in missing)
    return f"missing required column{'s' if len(missing) > 1 else ''} {names}"


def row_record(header: Sequence[str], fields: Sequence[str]) -> dict[str, Any]:
    """The row as a JSON object ``{column: value}``; empty cells become ``None``.

    When the field count does not match the header, or the header repeats a name, the pairing
    is meaningless, so the record is ``{"fields": [...]}`` instead (the raw values, in order).
    NUL characters (which PostgreSQL cannot store) are replaced by U+FFFD.
    """
    if any("\x00" in value for value in fields):
        fields = [value.replace("\x00", "\ufffd") for value in fields]
    if len(fields) != len(header) or len(set(header)) != len(header):
        return {"fields": list(fields)}
    return {name: value or None for name, value in zip(header, fields, strict=True)}


# -- typed rows -----------------------------------------------------------------------------


@dataclass
class ParsedRow:
    """One data row: ``values`` are the typed columns (in :func:`typed_columns` order) or
    ``errors`` says why the row goes to quarantine.

    ``row_number`` is the data row's ordinal in the file (1-based, blank lines not counted),
    ``line`` the physical line it starts on (1-based, the header included) and ``raw`` its
    text as in the file (``None`` when the caller has none). ``record`` is ``None`` when the
    row could not be cut into fields.
    """

    row_number: int
    record: dict[str, Any] | None
    values: list[Any] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    line: int | None = None
    raw: str | None = None

    @property
    def reason(self) -> str:
        return "; ".join(self.errors)


def typed_columns(obj: str) -> tuple[str, ...]:
    """The typed raw columns of ``obj``, in table order (before the payload)."""
    return {
        "leads": ("lead_id", "created_at", "assigned_at"),
        "stage_events": ("lead_id", "stage", "occurred_at"),
        "followups": ("lead_id", "occurred_at", "recorded_at"),
        "activities": ("lead_id", "activity", "occurred_at"),
        "surveys": ("lead_id", "occurred_at", "score", "scale_max", "kind"),
        "targets": ("month", "metric", "target", "consultant"),
    }[obj]


def _minutes(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class RowParser:
    """Turns the records of one file (with a valid header) into :class:`ParsedRow` objects.

    With ``load_time``, a timestamp later than ``load_time + clock_skew_minutes`` is an error
    (``timestamp in the future: created_at 2099-01-01 > load time + 10 min``): every
    timestamp column of the object, typed or checked.

    Every rule here has a twin in SQL in :mod:`dealerfunnel.landing.bulk` (the set-based path
    must find exactly the rows this finds bad): a new rule goes into both, and
    ``tests/integration/test_landing_bulk.py`` proves them equal.
    """

    def __init__(
        self,
        obj: str,
        header: Sequence[str],
        local_tz: tzinfo,
        vocabulary: Mapping[str, str],
        source: str,
        *,
        load_time: datetime | None = None,
        clock_skew_minutes: float = 10,
    ) -> None:
        self.obj = obj
        self.header = list(header)
        self.local_tz = local_tz
        self.vocabulary = vocabulary
        self.source = source
        self.index = {name: i for i, name in enumerate(header)}
        self.columns = typed_columns(obj)
        self.checked = [c for c in CHECKED_TIMESTAMP_COLUMNS[obj] if c in self.index]
        self.vocabularies = {
            c: values for c, values in CHECKED_VALUE_COLUMNS.get(obj, {}).items() if c in self.index
        }
        self.skew = clock_skew_minutes
        self.not_after = (
            None if load_time is None else load_time + timedelta(minutes=clock_skew_minutes)
        )

    def parse(self, records: Sequence[Sequence[str] | Record]) -> Iterator[ParsedRow]:
        for number, item in enumerate(records, start=1):
            if isinstance(item, Record):
                yield self.parse_record(number, item)
            else:
                yield self.parse_row(number, item)

    def parse_record(self, row_number: int, record: Record) -> ParsedRow:
        """:meth:`parse_row` for a :class:`Record`; an unreadable record is an error row."""
        if record.fields is None:
            row = ParsedRow(row_number, None, line=record.line, raw=record.text)
            row.errors.append(record.problem or "unreadable record")
            return row
        row = self.parse_row(row_number, record.fields)
        row.line, row.raw = record.line, record.text
        return row

    def parse_row(self, row_number: int, fields: Sequence[str]) -> ParsedRow:
        """Parse one record; never raises: problems end up in ``ParsedRow.errors``.

        A field count different from the header's (``row has 7 fields, header has 6``) or a
        NUL character (``NUL character in note``) stops parsing at once. Otherwise every
        column problem is collected (joined by ``; `` in :attr:`ParsedRow.reason`): an empty
        ``lead_id``, an empty or unparseable required timestamp
        (``unparseable created_at: 'yesterday'``), an unparseable optional timestamp, a
        timestamp in the future, an empty or unknown stage.
        """
        if len(fields) != len(self.header):
            row = ParsedRow(row_number, row_record(self.header, fields))
            row.errors.append(f"row has {len(fields)} fields, header has {len(self.header)}")
            return row
        nul = next((n for n, v in zip(self.header, fields, strict=True) if "\x00" in v), None)
        if nul is not None:
            row = ParsedRow(row_number, row_record(self.header, fields))
            row.errors.append(f"NUL character in {nul}")
            return row
        record = {name: value or None for name, value in zip(self.header, fields, strict=True)}
        row = ParsedRow(row_number, record)
        for column in self.columns:
            row.values.append(self._typed(column, fields, row.errors))
        for column in self.checked:
            self._typed(column, fields, row.errors)
        for column, values in self.vocabularies.items():
            value = fields[self.index[column]].strip()
            if value and value.casefold() not in values:
                row.errors.append(f"unknown {column} {value!r}")
        if self.obj == "surveys":
            _check_score(row.values, row.errors)
        return row

    def _typed(self, column: str, fields: Sequence[str], errors: list[str]) -> Any:
        position = self.index.get(column)
        raw = fields[position] if position is not None else ""
        value = raw.strip()
        required = column in REQUIRED_COLUMNS[self.obj]
        if column == "lead_id":
            if not value:
                errors.append("empty lead_id")
            return value
        if column == "activity":
            try:
                return normalise_activity(raw)
            except ValueError as exc:
                errors.append(str(exc))
                return None
        if column in _SURVEY_TARGET_COLUMNS:
            return _survey_target_value(column, value, raw, required, errors)
        if column == "stage":
            try:
                return normalise_stage(raw, self.vocabulary, self.source)
            except ValueError as exc:
                errors.append(str(exc))
                return None
        if not value:
            if required:
                errors.append(f"empty {column}")
            return None
        try:
            parsed = parse_timestamp(value, self.local_tz)
        except ValueError:
            errors.append(f"unparseable {column}: {raw!r}")
            return None
        if self.not_after is not None and parsed > self.not_after:
            errors.append(
                f"timestamp in the future: {column} {value} > load time + {_minutes(self.skew)} min"
            )
            return None
        return parsed


# -- surveys and targets --------------------------------------------------------------------

_SURVEY_TARGET_COLUMNS = ("score", "scale_max", "kind", "month", "metric", "target", "consultant")


def _survey_target_value(
    column: str, value: str, raw: str, required: bool, errors: list[str]
) -> Any:
    """The typed value of a ``surveys`` / ``targets`` column (see :func:`typed_columns`); an
    empty optional cell is NULL (``scale_max``: :data:`DEFAULT_SCALE_MAX`)."""
    if not value:
        if required:
            errors.append(f"empty {column}")
        return DEFAULT_SCALE_MAX if column == "scale_max" else None
    try:
        if column == "consultant":
            return " ".join(value.split())
        if column == "kind":
            return normalise_choice(value, column, SURVEY_KINDS)
        if column == "metric":
            return normalise_choice(value, column, TARGET_METRICS)
        if column == "month":
            return parse_month(value)
        number = parse_number(value)
    except ValueError as exc:
        errors.append(f"{exc}" if column in ("kind", "metric") else f"{column}: {exc}")
        return None
    if column == "scale_max" and number <= 0:
        errors.append(f"scale_max must be above 0: {raw!r}")
        return None
    if column == "target" and number < 0:
        errors.append(f"negative target: {raw!r}")
        return None
    return number


def _check_score(values: list[Any], errors: list[str]) -> None:
    """A survey score lies in 0..scale_max (``score 11 out of range 0-10``)."""
    score, scale_max = values[2], values[3]
    if score is not None and scale_max is not None and not 0 <= score <= scale_max:
        errors.append(f"score {score} out of range 0-{scale_max}")

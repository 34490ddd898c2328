"""Pure parsing of dealer CRM export files: bytes -> header + rows -> typed values.

Nothing here touches the database or the file system; :mod:`.files` does the loading. Every
function raises :class:`ValueError` (or :class:`FileRejected`) with a message that is stored
as the quarantine ``reason``, so messages are short, stable and quote the offending value.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any

from dealerfunnel.settings import CANONICAL_STAGES

#: The objects of the dealer CRM export contract, by file name prefix.
OBJECTS: tuple[str, ...] = ("leads", "stage_events", "followups")

#: Required columns per object (DESIGN.md section 3).
REQUIRED_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "leads": ("lead_id", "created_at"),
    "stage_events": ("lead_id", "stage", "occurred_at"),
    "followups": ("lead_id", "occurred_at"),
}

#: Optional columns that get a typed raw column when present (empty cell -> NULL).
OPTIONAL_TIMESTAMP_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "leads": ("assigned_at",),
    "stage_events": (),
    "followups": (),
}

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


# -- bytes, header and rows -----------------------------------------------------------------


def decode(data: bytes) -> str:
    """Decode UTF-8 with or without a BOM.

    Raises :class:`FileRejected` naming the first bad byte when ``data`` is not valid UTF-8.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRejected(
            f"not valid UTF-8: {exc.reason} (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None


def read_csv(text: str) -> tuple[list[str], list[list[str]]]:
    """Split decoded CSV text into the trimmed header and the data records.

    Completely blank lines are skipped (they hold no data); a line of empty fields is a row.
    Quoted fields may span lines. Empty header names become ``_column_<n>`` (1-based).
    Raises :class:`FileRejected` when there is no header row or the CSV is malformed (a
    character after a closing quote, or a quote left open at the end of the file: parsing
    on would silently merge rows).
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        records = [record for record in reader if record]
    except csv.Error as exc:
        raise FileRejected(f"malformed CSV near line {reader.line_num}: {exc}") from None
    if not records:
        raise FileRejected("empty file: no header row")
    header = [name.strip() or f"_column_{i}" for i, name in enumerate(records[0], start=1)]
    return header, records[1:]


def read_xlsx(data: bytes) -> tuple[list[str], list[list[str]]]:
    """The first worksheet of an XLSX workbook as header + records of strings.

    Cells become the text a CSV export would hold: dates and datetimes in ISO 8601 (a naive
    datetime stays naive, so it is read in the dealer's local time like a CSV value), whole
    numbers without a decimal point (phone numbers typed as numbers), other numbers as
    ``repr``, booleans as ``true``/``false``, empty cells as ``""``. Completely empty rows are
    skipped. Raises :class:`FileRejected` when the bytes are not a readable workbook.
    """
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileRejected(f"not a readable XLSX workbook: {exc}") from None
    try:
        sheet = workbook.worksheets[0]
        records = [
            [_cell_text(value) for value in row]
            for row in sheet.iter_rows(values_only=True)
            if any(value not in (None, "") for value in row)
        ]
    finally:
        workbook.close()
    if not records:
        raise FileRejected("empty workbook: no header row")
    while records[0] and records[0][-1] == "":  # trailing empty header cells
        width = len(records[0]) - 1
        if any(len(r) > width and r[width] for r in records[1:]):
            break
        records = [r[:width] for r in records]
    header = [name.strip() or f"_column_{i}" for i, name in enumerate(records[0], start=1)]
    width = len(header)
    rows = [r + [""] * (width - len(r)) if len(r) < width else r for r in records[1:]]
    return header, rows


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
    ``errors`` says why the row goes to quarantine."""

    row_number: int
    record: dict[str, Any]
    values: list[Any] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str:
        return "; ".join(self.errors)


def typed_columns(obj: str) -> tuple[str, ...]:
    """The typed raw columns of ``obj``, in table order (before the payload)."""
    return {
        "leads": ("lead_id", "created_at", "assigned_at"),
        "stage_events": ("lead_id", "stage", "occurred_at"),
        "followups": ("lead_id", "occurred_at"),
    }[obj]


class RowParser:
    """Turns the records of one file (with a valid header) into :class:`ParsedRow` objects."""

    def __init__(
        self,
        obj: str,
        header: Sequence[str],
        local_tz: tzinfo,
        vocabulary: Mapping[str, str],
        source: str,
    ) -> None:
        self.obj = obj
        self.header = list(header)
        self.local_tz = local_tz
        self.vocabulary = vocabulary
        self.source = source
        self.index = {name: i for i, name in enumerate(header)}
        self.columns = typed_columns(obj)

    def parse(self, records: Sequence[Sequence[str]]) -> Iterator[ParsedRow]:
        for number, fields in enumerate(records, start=1):
            yield self.parse_row(number, fields)

    def parse_row(self, row_number: int, fields: Sequence[str]) -> ParsedRow:
        """Parse one record; never raises: problems end up in ``ParsedRow.errors``.

        A field count different from the header's (``row has 7 fields, header has 6``) or a
        NUL character (``NUL character in note``) stops parsing at once. Otherwise every
        column problem is collected (joined by ``; `` in :attr:`ParsedRow.reason`): an empty
        ``lead_id``, an empty or unparseable required timestamp
        (``unparseable created_at: 'yesterday'``), an unparseable optional timestamp, an
        empty or unknown stage.
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
            return parse_timestamp(value, self.local_tz)
        except ValueError:
            errors.append(f"unparseable {column}: {raw!r}")
            return None

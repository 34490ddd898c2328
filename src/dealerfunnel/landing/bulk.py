"""Set-based landing of a plain CSV file: COPY it as it is, then type, check and split in SQL.

The row-by-row path (:func:`dealerfunnel.landing.files.prepare`) parses every record in
Python, which costs many times a bare ``COPY``. For the common file, a machine export with
no quoting at all, this module does the same work inside PostgreSQL:

1. ``COPY ... (FORMAT csv, HEADER true)`` of the decoded text into a temporary all-text table
   whose identity column numbers the data rows in file order;
2. one ``SELECT`` finds the rows that break a rule (empty ``lead_id``, an empty, unparseable
   or future timestamp, an empty or unknown stage, a field over the size limit);
3. one ``INSERT ... SELECT`` types the other rows (trimmed ids, stages mapped through the
   vocabulary, local times converted to UTC in the dealer's zone, offsets honoured, the jsonb
   payload) straight into the raw table.

**The same result as the row-by-row path.** The rows SQL finds bad are parsed again by
:class:`~dealerfunnel.landing.parsing.RowParser`, so their quarantine reasons are the Python
path's own; if it finds such a row good (full-width digits, exotic case folding), the file is
:class:`Unsupported` and goes the row-by-row way, like any file outside what the SQL
reproduces exactly. A file is taken here only when its text has no double quote (PostgreSQL
and Python then cut the same fields, and a row's raw text is its fields joined by commas), no
NUL, a usable header on line 1, only typed columns this module knows, and a dealer time zone
with one UTC offset all year (Python's ``fold`` rules for ambiguous local times are not
PostgreSQL's). A year before 2000 or after 9998 is left to Python too. A file PostgreSQL
cannot COPY as it is (a ragged row, a blank line, mixed line breaks) rolls back to a savepoint
and is :class:`Unsupported`. Every data row is one physical line, so its ``line_number`` is
its row number + 1; a line count that disagrees with the rows copied is :class:`Unsupported`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from dealerfunnel.landing.parsing import (
    ACTIVITIES,
    CANONICAL_CODES,
    CHECKED_TIMESTAMP_COLUMNS,
    CHECKED_VALUE_COLUMNS,
    REQUIRED_COLUMNS,
    ParsedRow,
    RowParser,
    header_problem,
    physical_lines,
    typed_columns,
)


class Unsupported(Exception):
    """The file is not one this module reproduces exactly: load it row by row."""


#: What Python's ``str.strip()`` removes, for PostgreSQL's ``btrim``.
WHITESPACE = (
    " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000"
)


def _timestamp_shapes() -> dict[str, list[int]]:
    """Every form ``parse_timestamp`` accepts, as its *shape* (digits as ``9``, ``T``/``t`` as a
    space) -> where its parts are: ``[hour, second, fraction, fraction digits, has offset,
    offset sign, offset hours, offset minutes]`` (1-based positions, 0 = absent).

    PostgreSQL's regular expressions cost about a millisecond per capturing match; a shape
    lookup and fixed-position ``substr`` cost almost nothing, and say exactly the same."""
    shapes = {"9999-99-99": [0, 0, 0, 0, 0, 1, 0, 0]}
    endings = [("", 0, 0)]  # (text after hh:mm, second position, fraction digits)
    endings.append((":99", 18, 0))
    endings += [(f":99{sep}{'9' * n}", 18, n) for sep in ".," for n in range(1, 10)]
    for ending, second, digits in endings:
        base = "9999-99-99 99:99" + ending
        at = len(base) + 1  # where an offset starts
        for offset in ("", "Z", "z", "+99", "-99", "+99:99", "-99:99", "+9999", "-9999"):
            hours = at + 1 if offset[:1] in ("+", "-") else 0
            minutes = {6: at + 4, 5: at + 3}.get(len(offset), 0)
            shapes[base + offset] = [
                12,
                second,
                21 if digits else 0,
                digits,
                1 if offset else 0,
                -1 if offset.startswith("-") else 1,
                hours,
                minutes,
            ]
    return shapes


TIMESTAMP_SHAPES = _timestamp_shapes()

#: A timestamp column's parts as integers, from its trimmed text ``{v}`` and its shape entry
#: ``{e}`` (the shape says where each part is; every part of a date-only value's time is 0;
#: ``y`` is NULL when the shape is unknown).
_TIMESTAMP_PARTS = {
    "y": "case when {e} is not null then substr({v}, 1, 4)::int end",
    "mo": "case when {e} is not null then substr({v}, 6, 2)::int end",
    "d": "case when {e} is not null then substr({v}, 9, 2)::int end",
    "h": "case when {e} ->> 0 <> '0' then substr({v}, 12, 2)::int else 0 end",
    "mi": "case when {e} ->> 0 <> '0' then substr({v}, 15, 2)::int else 0 end",
    "s": "case when {e} ->> 1 <> '0' then substr({v}, 18, 2)::int else 0 end",
    "us": "case when {e} ->> 2 <> '0' then rpad(left(substr({v}, ({e} ->> 2)::int,"
    " ({e} ->> 3)::int), 6), 6, '0')::int else 0 end",
    "has_offset": "coalesce({e} ->> 4 = '1', false)",
    "sign": "coalesce(({e} ->> 5)::int, 1)",
    "oh": "case when {e} ->> 6 <> '0' then substr({v}, ({e} ->> 6)::int, 2)::int else 0 end",
    "om": "case when {e} ->> 7 <> '0' then substr({v}, ({e} ->> 7)::int, 2)::int else 0 end",
}

#: The UTC value of those parts, NULL where ``parse_timestamp`` raises (or where Python is
#: left to decide: a year outside 2000-9998).
_TIMESTAMP_VALUE = """case
    when {y} is null or {y} not between 2000 and 9998 or {mo} not between 1 and 12
        or {d} < 1 or {d} > (array[31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[{mo}]
            + ({mo} = 2 and {y} %% 4 = 0 and ({y} %% 100 <> 0 or {y} %% 400 = 0))::int
        or {h} > 23 or {mi} > 59 or {s} > 59 or {oh} > 23 or {om} > 59 then null
    else (
        make_timestamp({y}, {mo}, {d}, {h}, {mi}, {s})
        + {us} * interval '1 microsecond'
        - {sign} * ({oh} * 60 + {om}) * interval '1 minute'
    ) at time zone (case when {has_offset} then 'UTC' else %(tz)s end)
end"""


@dataclass(frozen=True)
class BulkFile:
    """A decoded CSV file that :func:`load` can take: its text and physical lines, its header
    names as the file has them (trimmed) and as columns (an empty name as ``_column_<n>``),
    its number of data rows, and for a file with quotes the physical line each data row
    starts on (``starts[0]`` for row 1; a quoted field may span lines) and the digest of the
    rows as Python's :mod:`csv` reads them, which PostgreSQL's reading must reproduce."""

    text: str
    lines: list[str]
    raw_header: list[str]
    header: list[str]
    rows: int
    starts: list[int] | None = None
    digest: str | None = None

    def line_of(self, row_number: int) -> int:
        return row_number + 1 if self.starts is None else self.starts[row_number - 1]

    def raw_of(self, row_number: int) -> str:
        """The row's text as in the file (its line breaks included, not the last one)."""
        first = self.line_of(row_number)
        last = self.line_of(row_number + 1) - 1 if row_number < self.rows else len(self.lines)
        if first == last:
            return self.lines[first - 1]
        pairs = physical_lines(self.text)[first - 1 : last]
        return "".join(c + t for c, t in pairs[:-1]) + pairs[-1][0]


_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_FIELD_SEPARATOR, _ROW_SEPARATOR = "\x1f", "\x1e"


def eligible(text: str, obj: str, local_tz: ZoneInfo, field_limit: int) -> BulkFile | None:
    """The file as a :class:`BulkFile` when this module can load it, else ``None``."""
    if any(c in text for c in ("\x00", _FIELD_SEPARATOR, _ROW_SEPARATOR)):
        return None
    if any(_kind(c) is None for c in (*typed_columns(obj), *CHECKED_TIMESTAMP_COLUMNS[obj])):
        return None
    if not _fixed_offset(local_tz):
        return None
    lines = _LINE_BREAK.split(text)
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()  # the break that ends the last line
    if not lines[0].strip():
        return None  # leading blank lines: the row-by-row path counts them
    if '"' not in text:
        if max(map(len, lines)) > field_limit:
            return None  # a row that may hold an oversized field
        return _with_header(BulkFile(text, lines, [], lines[0].split(","), len(lines) - 1), obj)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows, ends = [], []
    try:
        for row in reader:
            rows.append(row)
            ends.append(reader.line_num)
    except csv.Error:
        return None
    width = len(rows[0])
    if ends[0] != 1 or ends[-1] != len(lines) or any(len(row) != width for row in rows):
        return None  # a header over several lines, a blank line, a ragged row
    starts = [end + 1 for end in ends[:-1]]
    for first, last in zip(starts, ends[1:], strict=True):
        # a record's text bounds each of its fields, as the row-by-row path measures them
        if sum(len(line) + 2 for line in lines[first - 1 : last]) > field_limit:
            return None
    found = BulkFile(text, lines, [], rows[0], len(rows) - 1, starts, _digest(rows[1:]))
    return _with_header(found, obj)


def _with_header(found: BulkFile, obj: str) -> BulkFile | None:
    """``found`` with its header names (given as the header's raw fields), or ``None`` when
    the row-by-row path would reject the header."""
    raw_header = [name.strip() for name in found.header]
    header = [name or f"_column_{i}" for i, name in enumerate(raw_header, start=1)]
    if header_problem(header, obj):
        return None
    return replace(found, raw_header=raw_header, header=header)


def _digest(rows: Iterable[Sequence[str]]) -> str:
    hashed = hashlib.md5(usedforsecurity=False)
    for row in rows:
        hashed.update(_FIELD_SEPARATOR.join(row).encode() + _ROW_SEPARATOR.encode())
    return hashed.hexdigest()


def _kind(column: str) -> str | None:
    if column == "lead_id":
        return "id"
    if column in ("stage", "activity"):
        return column
    if column.endswith("_at"):
        return "timestamp"
    return None


def _fixed_offset(zone: ZoneInfo) -> bool:
    """The zone keeps one UTC offset all year, this year and last."""
    year = datetime.now(UTC).year
    offsets = {
        datetime(y, m, 1, tzinfo=zone).utcoffset() for y in (year - 1, year) for m in range(1, 13)
    }
    return len(offsets) == 1


@dataclass(frozen=True)
class BulkResult:
    rows_in: int
    loaded: int
    bad: list[ParsedRow]


@dataclass(frozen=True)
class BulkTarget:
    """Where and how the rows land: the raw table, its constant ``_`` columns (in table order,
    before ``_row_number``) and the parsing context of the row-by-row path."""

    table: sql.Composable
    metadata: Mapping[str, object]
    local_tz: ZoneInfo
    vocabulary: Mapping[str, str]
    source: str
    load_time: datetime
    skew_minutes: float


def load(
    cur: psycopg.Cursor,
    bulk: BulkFile,
    obj: str,
    target: BulkTarget,
) -> BulkResult:
    """COPY, check and insert ``bulk`` in one savepoint (see the module docstring); on
    :class:`Unsupported` the caller's transaction is as it was before the call."""
    columns = [f"c{i}" for i in range(1, len(bulk.header) + 1)]
    rows_name = f"_landing_rows_{len(columns)}"
    rows = sql.Identifier(rows_name)
    by_name = dict(zip(bulk.header, columns, strict=True))
    present = [c for c in (*typed_columns(obj), *CHECKED_TIMESTAMP_COLUMNS[obj]) if c in by_name]
    stamps = [c for c in present if _kind(c) == "timestamp"]
    vocabularies = {c: v for c, v in CHECKED_VALUE_COLUMNS.get(obj, {}).items() if c in by_name}
    statement = sql.SQL(
        """
        with typed as (
            select parts.*, {values_of}
            from (
                select shaped.*{parts}
                from (select copied.*{shapes} from {rows} as copied offset 0) as shaped
                offset 0
            ) as parts
        ),
        parsed as (
            select typed.*, {ok} as is_ok from typed
        ),
        inserted as (
            insert into {table} ({raw_columns})
            select {typed}, jsonb_object(%(names)s::text[], array[{values}]), {meta}, _row
            from parsed where is_ok
            returning 1
        )
        select
            (select count(*) from inserted),
            coalesce(
                jsonb_agg(jsonb_build_array(_row, {values}) order by _row)
                    filter (where not is_ok),
                '[]'
            )
        from parsed
        """
    ).format(
        values_of=sql.SQL(", ").join(
            sql.SQL("{} as {}, {} as {}").format(
                _value(c, by_name[c]), _typed(c), _trimmed(by_name[c]), _text(c)
            )
            for c in present
        ),
        # each timestamp's text and shape, then its parts, each computed once per row
        shapes=sql.SQL("").join(
            sql.SQL(
                ", {v} as {tv}, %(shapes)s::jsonb -> translate({v}, '0123456789Tt',"
                " '9999999999  ') as {te}"
            ).format(v=_trimmed(by_name[c]), tv=_part(c, "v"), te=_part(c, "e"))
            for c in stamps
        ),
        parts=sql.SQL("").join(
            sql.SQL(", {} as {}").format(
                sql.SQL(template).format(v=_part(c, "v"), e=_part(c, "e")), _part(c, name)
            )
            for c in stamps
            for name, template in _TIMESTAMP_PARTS.items()
        ),
        ok=sql.SQL(" and ").join(
            [
                *(_check(c, obj) for c in present),
                # an optional column with a closed vocabulary: empty, or one of its values
                *(
                    sql.SQL("({v} = '' or lower({v}) = any({values}))").format(
                        v=_trimmed(by_name[c]), values=sql.Placeholder(f"values_{c}")
                    )
                    for c in vocabularies
                ),
            ]
        ),
        rows=rows,
        table=target.table,
        raw_columns=sql.SQL(", ").join(
            map(_col, [*typed_columns(obj), "payload", *target.metadata, "_row_number"])
        ),
        typed=sql.SQL(", ").join(
            _typed(c) if c in by_name else sql.SQL("null") for c in typed_columns(obj)
        ),
        values=sql.SQL(", ").join(map(_col, columns)),
        meta=sql.SQL(", ").join(sql.Placeholder(f"m{i}") for i in range(len(target.metadata))),
    )
    params = {
        "ws": WHITESPACE,
        "shapes": Jsonb(TIMESTAMP_SHAPES),
        "tz": target.local_tz.key,
        "not_after": target.load_time + timedelta(minutes=target.skew_minutes),
        # the row-by-row path accepts a canonical code before it looks up the vocabulary
        "names": bulk.header,  # a parameter: a header is data, whatever it holds
        "activities": list(ACTIVITIES),
        **{f"values_{c}": list(values) for c, values in vocabularies.items()},
        "vocab": Jsonb({**dict(target.vocabulary), **{c: c for c in CANONICAL_CODES}}),
        **{f"m{i}": v for i, v in enumerate(target.metadata.values())},
    }
    try:
        with cur.connection.transaction():  # a savepoint: a refused file leaves nothing
            # the temporary table has no statistics: the planner would guess a large table and
            # spend ~0.1 s JIT-compiling the expressions for a few hundred rows
            cur.execute("set local jit = off")
            # one temporary table per header width and session, emptied at every commit:
            # creating one per file costs more catalog work than the rows themselves
            cur.execute(
                sql.SQL(
                    "create temporary table if not exists {}"
                    " (_row bigint generated always as identity, {}) on commit delete rows"
                ).format(
                    rows, sql.SQL(", ").join(sql.SQL("{} text").format(_col(c)) for c in columns)
                )
            )
            cur.execute("select setval(pg_get_serial_sequence(%s, '_row'), 1, false)", (rows_name,))
            copy_sql = sql.SQL("copy {} ({}) from stdin (format csv, header true)")
            with cur.copy(copy_sql.format(rows, sql.SQL(", ").join(map(_col, columns)))) as copy:
                copy.write(bulk.text.encode("utf-8"))
            if bulk.digest is not None and bulk.digest != _copied_digest(cur, rows, columns):
                raise Unsupported("PostgreSQL reads the quoted fields differently from Python")
            loaded, found = cur.execute(statement, params).fetchone()
            bad = _recheck(found, obj, bulk, target)
            rows_in = loaded + len(bad)
            if rows_in != bulk.rows:
                raise Unsupported("COPY read another number of rows than the file has")
    except psycopg.errors.DataError as exc:
        raise Unsupported(f"COPY refused the file as it is: {exc.diag.message_primary}") from None
    return BulkResult(rows_in, loaded, bad)


def _col(name: str) -> sql.Identifier:
    return sql.Identifier(name)


def _part(name: str, part: str) -> sql.Identifier:
    return sql.Identifier(f"_{part}_{name}")


def _typed(name: str) -> sql.Identifier:
    return sql.Identifier(f"_typed_{name}")


def _text(name: str) -> sql.Identifier:
    return sql.Identifier(f"_text_{name}")


def _trimmed(column: str) -> sql.Composable:
    return sql.SQL("btrim(coalesce({}, ''), %(ws)s)").format(_col(column))


def _value(name: str, column: str) -> sql.Composable:
    """The typed value of column ``name`` (the file's ``column``) as the raw table holds it."""
    kind = _kind(name)
    if kind == "id":
        return _trimmed(column)
    if kind == "stage":
        return sql.SQL("(%(vocab)s::jsonb ->> lower({}))").format(_trimmed(column))
    if kind == "activity":
        return sql.SQL("(case when lower({v}) = any(%(activities)s) then lower({v}) end)").format(
            v=_trimmed(column)
        )
    return sql.SQL(_TIMESTAMP_VALUE).format(**{p: _part(name, p) for p in _TIMESTAMP_PARTS})


def _check(name: str, obj: str) -> sql.Composable:
    """The condition of a good value of ``name`` (the row-by-row path's rules)."""
    kind = _kind(name)
    if kind == "id":
        return sql.SQL("{} <> ''").format(_typed(name))
    if kind in ("stage", "activity"):
        return sql.SQL("{} is not null").format(_typed(name))
    parsed_ok = sql.SQL("coalesce({} <= %(not_after)s, false)").format(_typed(name))
    if name in REQUIRED_COLUMNS[obj]:
        return parsed_ok
    return sql.SQL("({} = '' or {})").format(_text(name), parsed_ok)


def _copied_digest(cur: psycopg.Cursor, rows: sql.Identifier, columns: Sequence[str]) -> str:
    """:func:`_digest` of the rows as COPY read them."""
    fields = sql.SQL(", ").join(sql.SQL("coalesce({}, '')").format(_col(c)) for c in columns)
    query = sql.SQL(
        "select md5(coalesce(string_agg(concat_ws(%(fs)s, {}) || %(rs)s, '' order by _row), ''))"
        " from {}"
    ).format(fields, rows)
    return cur.execute(query, {"fs": _FIELD_SEPARATOR, "rs": _ROW_SEPARATOR}).fetchone()[0]


def _recheck(
    found: Sequence[list], obj: str, bulk: BulkFile, target: BulkTarget
) -> list[ParsedRow]:
    """The rows SQL found bad, parsed by the row-by-row path for their reasons."""
    parser = RowParser(
        obj,
        bulk.header,
        target.local_tz,
        target.vocabulary,
        target.source,
        load_time=target.load_time,
        clock_skew_minutes=target.skew_minutes,
    )
    bad = []
    for row_number, *values in found:
        row = parser.parse_row(row_number, ["" if v is None else v for v in values])
        if not row.errors:
            raise Unsupported(f"row {row_number}: SQL and the row parser disagree")
        row.line, row.raw = bulk.line_of(row_number), bulk.raw_of(row_number)
        bad.append(row)
    return bad

"""Set-based landing of a CSV file: COPY it as it is, then type, check and split in SQL.

The row-by-row path (:func:`dealerfunnel.landing.files.prepare`) parses every record in
Python, which costs many times a bare ``COPY``. For the common file, a machine export, this
module does the same work inside PostgreSQL, and no per-row work in Python:

1. ``COPY ... (FORMAT csv, HEADER true, FORCE_NULL (...))`` of the file's own UTF-8 bytes
   into a temporary all-text table (one per session and header width) whose identity column
   numbers the data rows in file order. The table keeps its rows across commits: emptying it
   at every commit (``on commit delete rows``) truncates every such table of the session, its
   TOAST table and index, and cost 1.5-3 ms per file commit against 0.2 ms (the micro-benchmark
   in ``bench/staging_commit.py``). A file's rows are the last ones its COPY numbered (the
   identity's last value minus the rows copied, after it); the table is truncated between
   files once it holds :data:`TRUNCATE_AFTER_ROWS` rows, so that finding them stays cheap;
2. one ``INSERT ... SELECT`` (its text composed once per file shape, so psycopg prepares it on
   the server after a few files) types the good rows (trimmed ids, stages mapped through the
   vocabulary, local times converted to UTC in the dealer's zone, offsets honoured, the jsonb
   payload) straight into the raw table; each trimmed text, timestamp shape and part is
   computed once per row (sub-queries fenced by ``offset 0``), and the common timestamp
   shapes (:data:`COMMON_SHAPES`) are resolved by a ``case`` rather than a jsonb lookup;
3. only when that inserted fewer rows than were copied, one ``SELECT`` finds the rows that
   break a rule (empty ``lead_id``, an empty, unparseable or future timestamp, an empty or
   unknown stage or activity, a value outside a closed vocabulary).

**The same result as the row-by-row path.** The rows SQL finds bad are parsed again by
:class:`~dealerfunnel.landing.parsing.RowParser`, so their quarantine reasons are the Python
path's own; if it finds such a row good (full-width digits, exotic case folding), the file is
:class:`Unsupported` and goes the row-by-row way, like any file outside what the SQL
reproduces exactly. A file is taken here only when it has no NUL, a usable unquoted header
on line 1, only typed columns this module knows, and a dealer time zone with one UTC offset
all year (Python's ``fold`` rules for ambiguous local times are not PostgreSQL's). Quotes
are allowed when every one belongs to a well-formed quoted field that is a whole field
(``"..."`` with inner quotes doubled, between commas or line breaks; a line break inside is
fine): two regular expressions over the text check that, and on such text PostgreSQL's CSV
reading and Python's :mod:`csv` cut the same fields. Masking every quoted field leaves one
line per record: that counts the records, and a line (and a quoted field) within the field
size limit bounds every field. A year before 2000 or after 9998 is left to Python too. A file
PostgreSQL cannot COPY as it is (a ragged row, a blank line, mixed line breaks) is
:class:`Unsupported` (the caller rolls its transaction back and loads the file row by row in
a new one), as is one where COPY reads another number of rows than the text has records.
Where each record starts (its ``line_number``, its raw text) is worked out only for
quarantined rows.
"""

from __future__ import annotations

import csv
import io
import json
import re
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from psycopg.types.numeric import Int8

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

#: The shapes of nearly every machine export's timestamps: looked up by a ``case``, without
#: the jsonb lookup (and its conversion) that the other shapes take.
COMMON_SHAPES = ("9999-99-99 99:99:99", "9999-99-99 99:99", "9999-99-99")

#: A timestamp column's parts as integers, from its trimmed text ``{v}`` and its shape entry
#: ``{e}`` as an ``int[]`` (the shape says where each part is; every part of a date-only
#: value's time is 0; ``y`` is NULL when the shape is unknown).
_TIMESTAMP_PARTS = {
    "y": "case when {e} is not null then substr({v}, 1, 4)::int end",
    "mo": "case when {e} is not null then substr({v}, 6, 2)::int end",
    "d": "case when {e} is not null then substr({v}, 9, 2)::int end",
    "h": "case when {e}[1] <> 0 then substr({v}, 12, 2)::int else 0 end",
    "mi": "case when {e}[1] <> 0 then substr({v}, 15, 2)::int else 0 end",
    "s": "case when {e}[2] <> 0 then substr({v}, 18, 2)::int else 0 end",
    "us": "case when {e}[3] <> 0 then rpad(left(substr({v}, {e}[3], {e}[4]), 6), 6, '0')::int"
    " else 0 end",
    "has_offset": "coalesce({e}[5] = 1, false)",
    "sign": "coalesce({e}[6], 1)",
    "oh": "case when {e}[7] <> 0 then substr({v}, {e}[7], 2)::int else 0 end",
    "om": "case when {e}[8] <> 0 then substr({v}, {e}[8], 2)::int else 0 end",
}

#: The UTC value of those parts, NULL where ``parse_timestamp`` raises (or where Python is
#: left to decide: a year outside 2000-9998). Without a fraction or an offset (the common
#: case) no interval arithmetic is done.
_TIMESTAMP_VALUE = """case
    when {y} is null or {y} not between 2000 and 9998 or {mo} not between 1 and 12
        or {d} < 1 or {d} > (array[31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[{mo}]
            + ({mo} = 2 and {y} %% 4 = 0 and ({y} %% 100 <> 0 or {y} %% 400 = 0))::int
        or {h} > 23 or {mi} > 59 or {s} > 59 or {oh} > 23 or {om} > 59 then null
    when not {has_offset} and {us} = 0
        then make_timestamp({y}, {mo}, {d}, {h}, {mi}, {s}) at time zone %(tz)s
    else (
        make_timestamp({y}, {mo}, {d}, {h}, {mi}, {s})
        + {us} * interval '1 microsecond'
        - {sign} * ({oh} * 60 + {om}) * interval '1 minute'
    ) at time zone (case when {has_offset} then 'UTC' else %(tz)s end)
end"""


@dataclass(frozen=True)
class BulkFile:
    """A decoded CSV file that :func:`load` can take: its text and the UTF-8 bytes COPY reads,
    its header names as the file has them (trimmed) and as columns (an empty name as
    ``_column_<n>``), its number of data records and whether it holds quoted fields.

    Its physical lines and, for a quoted file, the physical line each record starts on (a
    quoted field may span lines) are worked out only when a row goes to quarantine."""

    text: str
    data: bytes
    raw_header: list[str]
    header: list[str]
    rows: int
    quoted: bool = False

    @cached_property
    def lines(self) -> list[str]:
        lines = _LINE_BREAK.split(self.text)
        if len(lines) > 1 and lines[-1] == "":
            lines.pop()  # the break that ends the last line
        return lines

    @cached_property
    def starts(self) -> list[int] | None:
        """The physical line each data record starts on (``None``: record n is on line n + 1)."""
        if not self.quoted:
            return None
        reader = csv.reader(io.StringIO(self.text, newline=""), strict=True)
        ends = []
        for _row in reader:
            ends.append(reader.line_num)
        return [end + 1 for end in ends[:-1]]

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
#: A well-formed quoted field: quotes inside it doubled (the unrolled ``"([^"]|"")*"``).
_QUOTED = re.compile(r'"[^"]*(?:""[^"]*)*"')
#: Characters that never occur in a file taken here; the first stands in for a quoted field.
_MASK, _SPARE = "\x1f", "\x1e"
#: A quoted field that is not a whole field (text before its opening or after its closing quote).
_MISPLACED = re.compile(r"[^,\r\n]\x1f|\x1f[^,\r\n]")


def eligible(
    text: str, obj: str, local_tz: ZoneInfo, field_limit: int, data: bytes | None = None
) -> BulkFile | None:
    """The file as a :class:`BulkFile` when this module can load it, else ``None``.

    ``data`` are the file's UTF-8 bytes without BOMs when ``text`` is their decoding (else
    ``text`` is encoded again). Quoted fields are checked with two regular expressions, not by
    reading the file with :mod:`csv`: every quote must belong to a well-formed quoted field
    that is a whole field; the text with each quoted field masked then has one line per record.
    """
    if any(c in text for c in ("\x00", _MASK, _SPARE)):
        return None
    if any(_kind(c) is None for c in (*typed_columns(obj), *CHECKED_TIMESTAMP_COLUMNS[obj])):
        return None
    if not _fixed_offset(local_tz):
        return None
    masked, quoted = text, '"' in text
    if quoted:
        # a quoted field's raw length (quotes and line breaks included) is what the row-by-row
        # path measures against the limit
        if max(map(len, _QUOTED.findall(text)), default=0) > field_limit:
            return None
        masked = _QUOTED.sub(_MASK, text)
        if '"' in masked or _MISPLACED.search(masked):
            return None  # a stray or unterminated quote, text beside a quoted field
    first = _LINE_BREAK.split(masked, maxsplit=1)[0]
    if not first.strip() or _MASK in first:
        return None  # a blank first line (the row-by-row path counts it), a quoted header
    # an unquoted field lies within a line: a line within the limit bounds it (conservative
    # for lone \r breaks, which this split does not cut)
    if len(masked) > field_limit and max(map(len, masked.split("\n"))) > field_limit:
        return None
    breaks = masked.count("\n") + masked.count("\r") - masked.count("\r\n")
    lines = breaks + (0 if masked.endswith(("\n", "\r")) else 1)
    if data is None:
        data = text.encode("utf-8")
    found = BulkFile(text, data, [], first.split(","), lines - 1, quoted)
    return _with_header(found, obj)


def _with_header(found: BulkFile, obj: str) -> BulkFile | None:
    """``found`` with its header names (given as the header's raw fields), or ``None`` when
    the row-by-row path would reject the header."""
    raw_header = [name.strip() for name in found.header]
    header = [name or f"_column_{i}" for i, name in enumerate(raw_header, start=1)]
    if header_problem(header, obj):
        return None
    return replace(found, raw_header=raw_header, header=header)


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


@dataclass(frozen=True)
class _Statements:
    """The SQL of one (object, header, target table, metadata) shape, composed once per process:
    the temporary table, its COPY, the insert of the good rows and the query of the bad ones."""

    rows_name: str
    truncate: str
    create: str
    copy: str
    insert: str
    bad: str


_STATEMENTS: dict[tuple, _Statements] = {}
#: ``set local`` statements for the transaction :func:`load` runs in: the temporary table has
#: no statistics, so the planner would guess a large table and spend ~0.1 s JIT-compiling the
#: expressions for a few hundred rows.
SESSION_SETTINGS = ("set local jit = off",)
_SHAPES_JSON = json.dumps(TIMESTAMP_SHAPES, separators=(",", ":"))


def _statements(
    conn: psycopg.Connection, bulk: BulkFile, obj: str, target: BulkTarget
) -> _Statements:
    """The statements for ``bulk`` (cached by shape: composing them costs more than a file's
    rows; the same text also lets psycopg prepare them on the server after a few files)."""
    key = (obj, tuple(bulk.header), target.table.as_string(conn), tuple(target.metadata))
    found = _STATEMENTS.get(key)
    if found is not None:
        return found
    columns = [f"c{i}" for i in range(1, len(bulk.header) + 1)]
    rows_name = f"_landing_rows_{len(columns)}"
    rows = sql.Identifier(rows_name)
    typed, ok = _typed_rows(bulk, obj, rows_name)
    values = sql.SQL(", ").join(map(_col, columns))
    insert = sql.SQL(
        "insert into {table} ({raw_columns})"
        " select {typed_values}, jsonb_object(%(names)s::text[], array[{values}]), {meta}, _row"
        " from ({typed}) as typed where {ok}"
    ).format(
        table=target.table,
        raw_columns=sql.SQL(", ").join(
            map(_col, [*typed_columns(obj), "payload", *target.metadata, "_row_number"])
        ),
        typed_values=sql.SQL(", ").join(
            _typed(c) if c in bulk.header else sql.SQL("null") for c in typed_columns(obj)
        ),
        values=values,
        meta=sql.SQL(", ").join(sql.Placeholder(f"m{i}") for i in range(len(target.metadata))),
        typed=typed,
        ok=ok,
    )
    bad = sql.SQL(
        "select _row, {values} from ({typed}) as typed where not ({ok}) order by _row"
    ).format(values=values, typed=typed, ok=ok)
    # one temporary table per header width and session, kept across commits (rows a rolled
    # back file copied go with its transaction): creating one per file costs more catalog work
    # than the rows, and emptying it at each commit costs more than the file's commit
    create = sql.SQL(
        "create temporary table if not exists {} (_row bigint generated always as identity, {})"
    ).format(rows, sql.SQL(", ").join(sql.SQL("{} text").format(_col(c)) for c in columns))
    # force_null: a quoted empty field is NULL like an unquoted one (the row parser's record
    # holds None for both)
    copy = sql.SQL("copy {} ({}) from stdin (format csv, header true, force_null ({}))").format(
        rows, values, values
    )
    found = _STATEMENTS[key] = _Statements(
        rows_name,
        sql.SQL("truncate {} restart identity").format(rows).as_string(conn),
        create.as_string(conn),
        copy.as_string(conn),
        insert.as_string(conn),
        bad.as_string(conn),
    )
    return found


#: The temporary tables each connection has (created outside any file's transaction), with
#: the number of rows copied into each since it was created or truncated.
_TEMPORARY: weakref.WeakKeyDictionary[psycopg.Connection, dict[str, int]] = (
    weakref.WeakKeyDictionary()
)

#: A temporary table is truncated before the next file once files copied this many rows into
#: it: each file's statements scan the whole table for their rows, and a truncate (a new
#: relation file, its own small transaction) costs about as much as scanning a few thousand.
TRUNCATE_AFTER_ROWS = 2_500


def prepare_session(conn: psycopg.Connection, bulk: BulkFile, obj: str, target: BulkTarget) -> None:
    """Create the temporary table ``bulk`` is copied into, once per session, or truncate it
    when it holds :data:`TRUNCATE_AFTER_ROWS` rows; outside the file's transaction (``conn``
    in autocommit mode, no transaction open)."""
    statements = _statements(conn, bulk, obj, target)
    held = _TEMPORARY.setdefault(conn, {})
    name = statements.rows_name
    if name not in held:
        with conn.transaction():
            conn.execute(statements.create)
            sequence = conn.execute(
                "select relname from pg_class"
                " where oid = pg_get_serial_sequence(%s, '_row')::regclass",
                (f"pg_temp.{name}",),
            ).fetchone()
        if sequence != (f"{name}__row_seq",):  # the statements read it by this name
            raise RuntimeError(f"{name}: unexpected identity sequence {sequence}")
        held[name] = 0
    elif held[name] >= TRUNCATE_AFTER_ROWS:
        with conn.pipeline(), conn.transaction():
            # a temporary table: the commit need not wait for the write-ahead log
            conn.execute("set local synchronous_commit = off")
            conn.execute(statements.truncate)
        held[name] = 0


def load(
    cur: psycopg.Cursor,
    bulk: BulkFile,
    obj: str,
    target: BulkTarget,
) -> BulkResult:
    """COPY, check and insert ``bulk`` in the caller's open transaction (see the module
    docstring), after :func:`prepare_session`. On :class:`Unsupported` the caller must roll
    the transaction back (and may load the file row by row in a new one).

    The caller's transaction has ``jit`` off (:data:`SESSION_SETTINGS`)."""
    statements = _statements(cur.connection, bulk, obj, target)
    vocabularies = CHECKED_VALUE_COLUMNS.get(obj, {})
    params = {
        "ws": WHITESPACE,
        "shapes": _SHAPES_JSON,
        "tz": target.local_tz.key,
        "not_after": target.load_time + timedelta(minutes=target.skew_minutes),
        "names": bulk.header,  # a parameter: a header is data, whatever it holds
        "activities": list(ACTIVITIES),
        **{f"values_{c}": list(v) for c, v in vocabularies.items() if c in bulk.header},
        # the row-by-row path accepts a canonical code before it looks up the vocabulary
        "vocab": Jsonb({**dict(target.vocabulary), **{c: c for c in CANONICAL_CODES}}),
        **{f"m{i}": v for i, v in enumerate(target.metadata.values())},
    }
    try:
        with cur.copy(statements.copy) as copy:
            copy.write(bulk.data)
        copied = cur.rowcount
        held = _TEMPORARY.get(cur.connection)
        if held is not None:  # counted even if the transaction rolls them back: harmless
            held[statements.rows_name] = held.get(statements.rows_name, 0) + copied
        if copied != bulk.rows:
            raise Unsupported("COPY read another number of rows than the file has")
        params["copied"] = Int8(copied)
        loaded = cur.execute(statements.insert, params).rowcount
        bad: list[ParsedRow] = []
        if loaded < copied:  # only then: a second pass that finds the bad rows
            found = cur.execute(statements.bad, params).fetchall()
            bad = _recheck(found, obj, bulk, target)
        if loaded + len(bad) != copied:
            raise Unsupported("SQL found another number of bad rows than it left out")
    except psycopg.errors.DataError as exc:
        raise Unsupported(f"COPY refused the file as it is: {exc.diag.message_primary}") from None
    return BulkResult(copied, loaded, bad)


def _typed_rows(bulk: BulkFile, obj: str, rows_name: str) -> tuple[sql.Composable, ...]:
    """The query of the copied rows with each typed column as ``_typed_<name>`` (and its
    trimmed text as ``_v_<name>``), and the condition of a good row over it.

    Each step is a sub-query fenced by ``offset 0`` so that PostgreSQL computes every trimmed
    text, shape and part once per row instead of once per use."""
    rows = sql.Identifier(rows_name)
    by_name = dict(zip(bulk.header, (f"c{i}" for i in range(1, len(bulk.header) + 1)), strict=True))
    present = [c for c in (*typed_columns(obj), *CHECKED_TIMESTAMP_COLUMNS[obj]) if c in by_name]
    stamps = [c for c in present if _kind(c) == "timestamp"]
    vocabularies = [c for c in CHECKED_VALUE_COLUMNS.get(obj, {}) if c in by_name]
    trimmed = [*present, *(c for c in vocabularies if c not in present)]

    def step(inner: sql.Composable, name: str, columns: list[sql.Composable]) -> sql.Composable:
        listed = sql.SQL("").join(sql.SQL(", ") + c for c in columns)
        return sql.SQL("select {name}.*{listed} from ({inner}) as {name} offset 0").format(
            name=sql.Identifier(name), listed=listed, inner=inner
        )

    # the table keeps earlier files' rows: this file's are the last ``copied`` its identity
    # numbered (one session uses its temporary sequence, so they are consecutive), numbered
    # from 1 in file order
    numbered = sql.SQL(
        "select {rows}._row - after._row as _row, {cs} from {rows},"
        " (select last_value - %(copied)s as _row from {sequence}) as after"
        " where {rows}._row > after._row"
    )
    query = step(
        numbered.format(
            rows=rows,
            sequence=sql.Identifier("pg_temp", f"{rows_name}__row_seq"),
            cs=sql.SQL(", ").join(map(_col, by_name.values())),
        ),
        "copied",
        [
            sql.SQL("btrim(coalesce({}, ''), %(ws)s) as {}").format(_col(by_name[c]), _part(c, "v"))
            for c in trimmed
        ],
    )
    query = step(
        query,
        "trimmed",
        [
            sql.SQL("translate({}, '0123456789Tt', '9999999999  ') as {}").format(
                _part(c, "v"), _part(c, "shape")
            )
            for c in stamps
        ],
    )
    common = sql.SQL(" ").join(
        sql.SQL("when {} then {}::int[]").format(
            sql.Literal(shape), sql.Literal("{" + ",".join(map(str, TIMESTAMP_SHAPES[shape])) + "}")
        )
        for shape in COMMON_SHAPES
    )
    query = step(
        query,
        "shaped",
        [
            sql.SQL(
                "case {s} {common} else translate((%(shapes)s::jsonb -> {s})::text, '[]', '{{}}')"
                "::int[] end as {e}"
            ).format(s=_part(c, "shape"), common=common, e=_part(c, "e"))
            for c in stamps
        ],
    )
    query = step(
        query,
        "located",
        [
            sql.SQL("{} as {}").format(
                sql.SQL(template).format(v=_part(c, "v"), e=_part(c, "e")), _part(c, name)
            )
            for c in stamps
            for name, template in _TIMESTAMP_PARTS.items()
        ],
    )
    query = step(
        query, "parts", [sql.SQL("{} as {}").format(_value(c), _typed(c)) for c in present]
    )
    ok = sql.SQL(" and ").join(
        [
            *(_check(c, obj) for c in present),
            # an optional column with a closed vocabulary: empty, or one of its values
            *(
                sql.SQL("({v} = '' or lower({v}) = any({values}))").format(
                    v=_part(c, "v"), values=sql.Placeholder(f"values_{c}")
                )
                for c in vocabularies
            ),
        ]
    )
    return query, ok


def _col(name: str) -> sql.Identifier:
    return sql.Identifier(name)


def _part(name: str, part: str) -> sql.Identifier:
    return sql.Identifier(f"_{part}_{name}")


def _typed(name: str) -> sql.Identifier:
    return sql.Identifier(f"_typed_{name}")


def _value(name: str) -> sql.Composable:
    """The typed value of column ``name`` as the raw table holds it (from its trimmed text)."""
    kind, v = _kind(name), _part(name, "v")
    if kind == "id":
        return v
    if kind == "stage":
        return sql.SQL("(%(vocab)s::jsonb ->> lower({}))").format(v)
    if kind == "activity":
        return sql.SQL("(case when lower({v}) = any(%(activities)s) then lower({v}) end)").format(
            v=v
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
    return sql.SQL("({} = '' or {})").format(_part(name, "v"), parsed_ok)


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

"""Property-based tests (Hypothesis) of the record splitter: no database."""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dealerfunnel.landing.parsing import physical_lines, split_records

# No example database: nothing is written into the checkout.
# Text fields with everything that makes CSV hard: quotes, commas, line breaks, NUL, non-ASCII.
FIELD = st.text(
    alphabet=st.one_of(
        st.sampled_from(['"', ",", "\n", "\r", "\x00", " ", "\t", "'", "é", "李", "\ufeff"]),
        st.characters(min_codepoint=1, max_codepoint=0x9FFF, exclude_categories=("Cs",)),
    ),
    max_size=12,
)
TERMINATOR = st.sampled_from(["\r\n", "\n"])


def _written(rows: list[list[str]], terminator: str) -> str:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator=terminator).writerows(rows)
    return buffer.getvalue()


def _lines_of(text: str) -> int:
    return len(physical_lines(text))


@settings(
    database=None, max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    width=st.integers(min_value=1, max_value=5),
    data=st.data(),
    terminator=TERMINATOR,
)
def test_written_rows_split_back_with_their_line_numbers(width, data, terminator) -> None:
    rows = data.draw(st.lists(st.lists(FIELD, min_size=width, max_size=width), max_size=8))
    # csv.writer quotes only fields holding a character of its line terminator: with "\n"
    # it writes a bare "\r" unquoted, which no CSV reader can tell from a line break
    assume(terminator == "\r\n" or not any("\r" in f for row in rows for f in row))
    text = _written(rows, terminator)
    records = list(split_records(text, width=width, header=False))
    assert [r.fields for r in records] == rows
    assert all(r.problem is None for r in records)
    # each record starts on the line after the previous one ends, and spans its own lines
    line = 1
    for row, record in zip(rows, records, strict=True):
        assert record.line == line
        assert record.end_line == line + _lines_of(_written([row], terminator)) - 1
        line = record.end_line + 1
    assert line - 1 == _lines_of(text)


@settings(database=None, max_examples=200, deadline=None)
@given(
    header=st.lists(st.text(alphabet="abcxyz_", min_size=1, max_size=5), min_size=2, max_size=4),
    data=st.data(),
)
def test_the_header_sets_the_width(header, data) -> None:
    rows = data.draw(
        st.lists(st.lists(FIELD, min_size=len(header), max_size=len(header)), max_size=6)
    )
    text = _written([header, *rows], "\r\n")
    records = list(split_records(text))
    assert [r.fields for r in records] == [header, *rows]


def _assert_covers_every_line(text: str, records) -> None:
    lines = physical_lines(text)
    covered = []
    for record in records:
        assert 1 <= record.line <= record.end_line <= len(lines)
        covered.extend(range(record.line, record.end_line + 1))
        assert (record.fields is None) == (record.problem is not None)
        expected = "".join(c + t for c, t in lines[record.line - 1 : record.end_line])
        assert expected.startswith(record.text)
    assert covered == list(range(1, len(lines) + 1))  # every line in exactly one record, in order


@settings(database=None, max_examples=500, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_crash_and_every_line_is_in_one_record(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    _assert_covers_every_line(text, list(split_records(text, field_limit=50)))


QUOTEY = st.text(alphabet='ab,"\r\n\x00李 ', max_size=200)


@settings(database=None, max_examples=500, deadline=None)
@given(QUOTEY, st.one_of(st.none(), st.integers(min_value=1, max_value=4)))
def test_quote_heavy_text_never_crashes(text: str, width) -> None:
    _assert_covers_every_line(text, list(split_records(text, width=width, field_limit=20)))


@settings(database=None, max_examples=200, deadline=None)
@given(
    st.lists(st.lists(st.text(alphabet="ab é李", max_size=6), min_size=3, max_size=3), max_size=6),
    st.integers(min_value=0, max_value=6),
)
def test_an_unterminated_quote_costs_only_its_own_line(rows, at) -> None:
    """A stray opening quote on one line quarantines that line; every other row reads back."""
    lines = _written(rows, "\n").splitlines(keepends=True)  # no quote to close the stray one
    at = min(at, len(lines))
    broken = [*lines[:at], 'X,"open,x\n', *lines[at:]]
    records = list(split_records("".join(broken), width=3, header=False))
    bad = [r for r in records if r.problem]
    assert [(r.line, r.problem.split(":")[0]) for r in bad] == [(at + 1, "unterminated quote")]
    assert [r.fields for r in records if not r.problem] == rows

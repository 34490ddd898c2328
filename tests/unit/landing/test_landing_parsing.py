"""Parsing of dealer CRM export files: timestamps, stages, encoding, header, rows."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from dealerfunnel.landing.files import EMPTY, LOADED, REJECTED, object_for, prepare
from dealerfunnel.landing.parsing import (
    Decoded,
    FileRejected,
    RowParser,
    decode,
    header_problem,
    normalise_stage,
    parse_timestamp,
    read_csv,
    row_record,
)
from dealerfunnel.settings import load_stage_mapping

SHANGHAI = ZoneInfo("Asia/Shanghai")
URUMQI = ZoneInfo("Asia/Urumqi")


@pytest.fixture(scope="module")
def vocabulary() -> dict[str, str]:
    return load_stage_mapping()["dealer_export"]


# -- timestamps -----------------------------------------------------------------------------


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-05-04", utc(2026, 5, 3, 16, 0)),  # local midnight
        ("2026-05-04 09:30", utc(2026, 5, 4, 1, 30)),
        ("2026-05-04 09:30:00", utc(2026, 5, 4, 1, 30)),
        ("2026-05-04T09:30:00", utc(2026, 5, 4, 1, 30)),
        ("  2026-05-04T09:30:15  ", utc(2026, 5, 4, 1, 30, 15)),
        ("2026-05-04T09:30:00.5", utc(2026, 5, 4, 1, 30, 0, 500000)),
        ("2026-05-04 09:30:00.123456", utc(2026, 5, 4, 1, 30, 0, 123456)),
        ("2026-05-04T09:30:00.123456789", utc(2026, 5, 4, 1, 30, 0, 123456)),
        ("2026-05-04T09:30:00+08:00", utc(2026, 5, 4, 1, 30)),
        ("2026-05-04 09:30+0800", utc(2026, 5, 4, 1, 30)),
        ("2026-05-04T09:30:00-05:30", utc(2026, 5, 4, 15, 0)),
        ("2026-05-04T09:30:00+00", utc(2026, 5, 4, 9, 30)),
        ("2026-05-04T09:30:00Z", utc(2026, 5, 4, 9, 30)),
        ("2026-05-04T09:30:00.250Z", utc(2026, 5, 4, 9, 30, 0, 250000)),
        ("2026-05-04t09:30z", utc(2026, 5, 4, 9, 30)),
    ],
)
def test_parse_timestamp_accepts_iso_8601(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text, SHANGHAI)
    assert parsed == expected
    assert parsed.tzinfo is UTC


def test_parse_timestamp_uses_the_dealer_zone_only_without_offset() -> None:
    assert parse_timestamp("2026-05-04", URUMQI) == utc(2026, 5, 3, 18, 0)
    assert parse_timestamp("2026-05-04 09:30:00", URUMQI) == utc(2026, 5, 4, 3, 30)
    assert parse_timestamp("2026-05-04 09:30:00+08:00", URUMQI) == utc(2026, 5, 4, 1, 30)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "yesterday",
        "not a date",
        "N/A",
        "2026-13-45",
        "2026-02-30",
        "2026-05-04 25:61",
        "2026-05-04 24:00",
        "0000-00-00 00:00:00",
        "2026/05/04",
        "2026/05/32",
        "31.05.2026",
        "2026-5-4",
        "2026-5-4T9",
        "2026-05-04 9:30",
        "20260504",
        "2026-W19-1",
        "2026-124",
        "2026-05-04T09",
        "2026-05-04 09:30 +08:00",
        "2026-05-04T09:30:00+25:00",
        "2026-05-04T09:30:00.",
        "0001-01-01",  # local midnight in +08:00 is before year 1 in UTC
        "9999-12-31T23:00:00-05:00",  # after year 9999 in UTC
    ],
)
def test_parse_timestamp_rejects_everything_else(text: str) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(text, SHANGHAI)


# -- stages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("potential", "potential"),
        ("needs_defined", "needs_defined"),
        ("  WON ", "won"),
        ("Lost", "lost"),
        ("潜在客户", "potential"),
        (" 意向客户 ", "interested"),
        ("战败", "lost"),
        ("new", "potential"),
        ("Contacted", "interested"),
        ("QUALIFIED", "needs_defined"),
        (" Closed Won ", "won"),
        ("closed lost", "lost"),
    ],
)
def test_stage_mapping_is_case_and_whitespace_insensitive(
    value: str, expected: str, vocabulary: dict[str, str]
) -> None:
    assert normalise_stage(value, vocabulary, "dealer_export") == expected


def test_unknown_and_empty_stages_are_errors(vocabulary: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"^unknown stage 'foo' for source dealer_export$"):
        normalise_stage("foo", vocabulary, "dealer_export")
    with pytest.raises(ValueError, match="unknown stage 'closed  won'"):
        normalise_stage("closed  won", vocabulary, "dealer_export")
    with pytest.raises(ValueError, match=r"^empty stage$"):
        normalise_stage("  ", vocabulary, "dealer_export")


# -- encoding, header -----------------------------------------------------------------------


def test_decode_strips_boms_and_accepts_plain_utf8() -> None:
    assert decode("\ufefflead_id,名字\n".encode()) == Decoded("lead_id,名字\n", "utf-8-sig", 1)
    assert decode("lead_id,名字\n".encode()) == Decoded("lead_id,名字\n", "utf-8", 0)
    doubled = b"\xef\xbb\xbf\xef\xbb\xbflead_id\n"
    assert decode(doubled) == Decoded("lead_id\n", "utf-8-sig", 2)


def test_decode_falls_back_to_gb18030() -> None:
    text = "lead_id,名字\nL1,李雷\n"
    assert decode(text.encode("gbk")) == Decoded(text, "gb18030", 0)
    assert decode(text.encode("gb18030")) == Decoded(text, "gb18030", 0)
    assert decode(b"\xef\xbb\xbf" + text.encode("gbk")).text == text


def test_decode_rejects_other_encodings() -> None:
    reason = (
        r"^not valid UTF-8 \(byte 0xe9 at offset 24, line 2\) "
        r"nor GB18030 \(byte 0xe9 at offset 24, line 2\)$"
    )
    with pytest.raises(FileRejected, match=reason):
        decode("lead_id,created_at\nL1,x é\n".encode("latin-1"))
    with pytest.raises(FileRejected, match="UTF-16"):
        decode("lead_id\n".encode("utf-16"))


def test_read_csv_trims_header_and_skips_blank_lines() -> None:
    table = read_csv(' lead_id , created_at,,note\n\n1,2026-05-04,,"a\nb"\n  \n,,,\n')
    assert table.header == ["lead_id", "created_at", "_column_3", "note"]
    assert [(r.line, r.fields) for r in table.records] == [
        (3, ["1", "2026-05-04", "", "a\nb"]),
        (6, ["", "", "", ""]),
    ]
    assert table.blank_lines == 2


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ('lead_id,created_at\n1,"2026-05-04"x\n2,ok\n', 2, "malformed CSV"),
        ('lead_id,created_at\n1,"2026-05-04\n2,x\n', 2, "unterminated quote: no closing"),
        ('lead_id,created_at\n1,"2026-05-04\n2,x\n3,"a"b\n', 2, "unterminated quote: closing"),
    ],
)
def test_read_csv_keeps_unreadable_records(text: str, line: int, problem: str) -> None:
    table = read_csv(text)
    bad = [r for r in table.records if r.problem]
    assert bad[0].line == line and bad[0].problem.startswith(problem)
    assert bad[0].fields is None and bad[0].text.startswith(f"{line - 1},")
    assert any(r.fields and r.fields[0] == "2" for r in table.records)


def test_read_csv_rejects_a_file_without_a_header() -> None:
    with pytest.raises(FileRejected, match="empty file: no header row"):
        read_csv("\n \n")
    assert read_csv('"lead_id\n').problem.startswith("unreadable header (line 1)")


@pytest.mark.parametrize(
    ("header", "obj", "problem"),
    [
        (["lead_id", "created_at", "extra"], "leads", None),
        (["lead_id", "stage", "occurred_at"], "stage_events", None),
        (
            ["lead_id", "contacted_on", "method"],
            "followups",
            "missing required column 'occurred_at'",
        ),
        (["lead_id"], "stage_events", "missing required columns 'stage', 'occurred_at'"),
        (["Lead_ID", "created_at"], "leads", "missing required column 'lead_id'"),
        (["lead_id", "created_at", "lead_id"], "leads", "duplicate column 'lead_id'"),
    ],
)
def test_header_problem(header: list[str], obj: str, problem: str | None) -> None:
    assert header_problem(header, obj) == problem


@pytest.mark.parametrize(
    ("name", "obj"),
    [
        ("leads_2026-05.csv", "leads"),
        ("Leads.CSV", "leads"),
        ("STAGE_EVENTS_may.csv", "stage_events"),
        ("followups_legacy_export.csv", "followups"),
        ("leads_2026-05.xlsx", "leads"),
        ("Stage_Events_1.XLSX", "stage_events"),
        ("leads_2026-05.xls", None),
        ("old_leads.csv", None),
        ("readme.txt", None),
    ],
)
def test_object_for_file_names(name: str, obj: str | None) -> None:
    assert object_for(name) == obj


# -- rows -----------------------------------------------------------------------------------


def test_row_record_keeps_every_column_and_nulls_empty_cells() -> None:
    header = ["lead_id", "created_at", "utm_source"]
    assert row_record(header, ["L1", "2026-05-04", ""]) == {
        "lead_id": "L1",
        "created_at": "2026-05-04",
        "utm_source": None,
    }
    assert row_record(header, ["L1", "x"]) == {"fields": ["L1", "x"]}
    assert row_record(header, ["L1", "a\x00b", ""])["created_at"] == "a\ufffdb"


def test_row_parser_types_leads(vocabulary: dict[str, str]) -> None:
    header = ["lead_id", "created_at", "assigned_at", "utm_source"]
    parser = RowParser("leads", header, SHANGHAI, vocabulary, "dealer_export")
    rows = list(
        parser.parse(
            [
                [" L1 ", "2026-05-04 09:30:00", "", "google"],
                ["L2", "2026-05-04", "2026-05-04T10:00:00Z", ""],
            ]
        )
    )
    assert [r.errors for r in rows] == [[], []]
    assert rows[0].values == ["L1", utc(2026, 5, 4, 1, 30), None]
    assert rows[0].record["lead_id"] == " L1 "  # payload keeps the original value
    assert rows[1].values == ["L2", utc(2026, 5, 3, 16), utc(2026, 5, 4, 10)]
    assert rows[1].row_number == 2
    assert rows[1].record["utm_source"] is None


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        (["", "2026-05-04", ""], "empty lead_id"),
        (["L1", "yesterday", ""], "unparseable created_at: 'yesterday'"),
        (["L1", "", ""], "empty created_at"),
        (["L1", "2026-05-04", "soon"], "unparseable assigned_at: 'soon'"),
        (["", "2026-13-45", ""], "empty lead_id; unparseable created_at: '2026-13-45'"),
        (["L1", "2026-05-04"], "row has 2 fields, header has 3"),
        (["L1", "2026-05-04", "", "x"], "row has 4 fields, header has 3"),
        (["L1", "2026-05-04", "\x00"], "NUL character in assigned_at"),
    ],
)
def test_row_parser_reasons(fields: list[str], reason: str, vocabulary: dict[str, str]) -> None:
    parser = RowParser(
        "leads", ["lead_id", "created_at", "assigned_at"], SHANGHAI, vocabulary, "dealer_export"
    )
    assert parser.parse_row(1, fields).reason == reason


def test_row_parser_maps_stages(vocabulary: dict[str, str]) -> None:
    header = ["lead_id", "stage", "occurred_at"]
    parser = RowParser("stage_events", header, SHANGHAI, vocabulary, "dealer_export")
    good = parser.parse_row(1, ["L1", " 意向客户", "2026-05-04 09:30"])
    assert good.values == ["L1", "interested", utc(2026, 5, 4, 1, 30)]
    assert good.record["stage"] == " 意向客户"
    bad = parser.parse_row(2, ["L1", "foo", "2026-05-04"])
    assert bad.reason == "unknown stage 'foo' for source dealer_export"


# -- whole files ----------------------------------------------------------------------------


def test_prepare_a_bom_file(vocabulary: dict[str, str]) -> None:
    data = "\ufefflead_id,occurred_at\nL1,2026-05-04\nL2,later\n".encode()
    prepared = prepare(data, "followups", SHANGHAI, vocabulary, "dealer_export", "f.csv")
    assert prepared.status == LOADED
    assert prepared.rows_in == 2
    assert [r.record for r in prepared.good] == [{"lead_id": "L1", "occurred_at": "2026-05-04"}]
    assert [(q.row_number, q.reason) for q in prepared.bad] == [
        (2, "unparseable occurred_at: 'later'")
    ]


def test_prepare_rejects_a_file_missing_a_required_column(vocabulary: dict[str, str]) -> None:
    data = b"lead_id,contacted_on\nL1,2026-05-04\nL2,2026-05-05,extra\n"
    prepared = prepare(data, "followups", SHANGHAI, vocabulary, "dealer_export", "f.csv")
    assert prepared.status == REJECTED
    assert prepared.rows_in == 2
    assert prepared.good == []
    assert [(q.row_number, q.line, q.record, q.reason) for q in prepared.bad] == [
        (
            1,
            2,
            {"lead_id": "L1", "contacted_on": "2026-05-04"},
            "missing required column 'occurred_at'",
        ),
        (2, 3, {"fields": ["L2", "2026-05-05", "extra"]}, "missing required column 'occurred_at'"),
    ]


def test_prepare_rejects_an_undecodable_file_row_by_row(vocabulary: dict[str, str]) -> None:
    data = "lead_id,created_at\nL1,2026-05-04 é\nL2,2026-05-04\n".encode("latin-1")
    prepared = prepare(data, "leads", SHANGHAI, vocabulary, "dealer_export", "x.csv")
    assert prepared.status == REJECTED
    assert (prepared.rows_in, len(prepared.good), len(prepared.bad)) == (2, 0, 2)
    assert [(q.line, q.raw) for q in prepared.bad] == [
        (2, "L1,2026-05-04 \ufffd"),
        (3, "L2,2026-05-04"),
    ]
    assert prepared.bad[0].reason.startswith("not valid UTF-8")
    assert prepared.encoding is None


def test_prepare_an_empty_file(vocabulary: dict[str, str]) -> None:
    for data in (b"", b" \r\n\t\n", b"\xef\xbb\xbf\xef\xbb\xbf\n"):
        prepared = prepare(data, "leads", SHANGHAI, vocabulary, "dealer_export", "x.csv")
        assert (prepared.status, prepared.rows_in, prepared.bad) == (EMPTY, 0, [])


def test_prepare_quarantines_future_timestamps(vocabulary: dict[str, str]) -> None:
    data = (
        b"lead_id,occurred_at,recorded_at\n"
        b"L1,2026-05-04 10:00,2026-05-04 10:05\n"
        b"L2,2026-05-04 10:09+00:00,\n"  # within the skew
        b"L3,2026-05-04 10:11+00:00,\n"
        b"L4,2026-05-04,2099-01-01\n"
    )
    load_time = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
    prepared = prepare(
        data, "followups", SHANGHAI, vocabulary, "dealer_export", "f.csv", load_time=load_time
    )
    assert [r.record["lead_id"] for r in prepared.good] == ["L1", "L2"]
    assert [(q.line, q.reason) for q in prepared.bad] == [
        (4, "timestamp in the future: occurred_at 2026-05-04 10:11+00:00 > load time + 10 min"),
        (5, "timestamp in the future: recorded_at 2099-01-01 > load time + 10 min"),
    ]
    relaxed = prepare(
        data,
        "followups",
        SHANGHAI,
        vocabulary,
        "dealer_export",
        "f.csv",
        load_time=load_time,
        skew_minutes=15,
    )
    assert len(relaxed.good) == 3


# -- surveys and targets --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("8", "8"), (" 7.5 ", "7.5"), ("1,200,000", "1200000"), ("-3", "-3"), ("2 500", "2500")],
)
def test_parse_number_accepts_plain_numbers(text: str, expected: str) -> None:
    from decimal import Decimal

    from dealerfunnel.landing.parsing import parse_number

    assert parse_number(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["", "12%", "1e3", "NaN", "eight", "1.2.3"])
def test_parse_number_refuses_anything_else(text: str) -> None:
    from dealerfunnel.landing.parsing import parse_number

    with pytest.raises(ValueError, match="not a number"):
        parse_number(text)


def test_parse_month() -> None:
    from datetime import date

    from dealerfunnel.landing.parsing import parse_month

    assert parse_month("2026-05") == parse_month(" 2026-05-01 ") == date(2026, 5, 1)
    for bad in ("2026-5", "2026-00", "2026-05-02", "May 2026", "2026/05"):
        with pytest.raises(ValueError, match="not a month"):
            parse_month(bad)


def test_survey_and_target_files_are_recognised() -> None:
    assert object_for("surveys_2026-05.csv") == "surveys"
    assert object_for("Targets 2026.XLSX") == "targets"

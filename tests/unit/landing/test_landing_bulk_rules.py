"""The set-based landing path knows every column rule of the row parser (or leaves the object
to it): a rule added to the parser without its SQL twin fails here first."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from dealerfunnel.landing import bulk
from dealerfunnel.landing.parsing import (
    CHECKED_TIMESTAMP_COLUMNS,
    CHECKED_VALUE_COLUMNS,
    OBJECTS,
    REQUIRED_COLUMNS,
    parse_timestamp,
    typed_columns,
)

SET_BASED_OBJECTS = ("leads", "stage_events", "followups", "activities")


@pytest.mark.parametrize("obj", OBJECTS)
def test_every_typed_and_checked_column_has_a_sql_twin_or_the_object_is_row_by_row(obj) -> None:
    columns = (*typed_columns(obj), *CHECKED_TIMESTAMP_COLUMNS[obj])
    header = ",".join(dict.fromkeys((*REQUIRED_COLUMNS[obj], *columns)))
    found = bulk.eligible(header + "\n", obj, ZoneInfo("Asia/Shanghai"), 100)
    unknown = [c for c in columns if bulk._kind(c) is None]
    if obj in SET_BASED_OBJECTS:
        assert unknown == [] and found is not None
    else:  # surveys, targets: numbers, months and scores are checked by the row parser only
        assert unknown and found is None
    assert set(CHECKED_VALUE_COLUMNS) <= set(SET_BASED_OBJECTS)


@pytest.mark.parametrize(
    "value",
    [
        "2026-05-04",
        "2026-05-04 09:30",
        "2026-05-04T09:30:00",
        "2026-05-04t09:30:00.123456789",
        "2026-05-04 09:30:00,5Z",
        "2026-05-04 09:30+08:00",
        "2026-05-04 09:30:00-0530",
        "2026-05-04 09:30:00+08",
    ],
)
def test_every_form_parse_timestamp_accepts_has_a_shape(value) -> None:
    parse_timestamp(value, ZoneInfo("Asia/Shanghai"))  # accepted by the row parser
    shape = value.translate(str.maketrans("0123456789Tt", "9999999999  "))
    assert shape in bulk.TIMESTAMP_SHAPES


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('lead_id,created_at\n"L1,2026-05-04\n', "an unterminated quote"),
        ("lead_id,created_at\nL1,2026-05-04\x00\n", "a NUL"),
        ("\nlead_id,created_at\nL1,2026-05-04\n", "a blank first line"),
        ("lead_id,when\nL1,2026-05-04\n", "a header the row parser rejects"),
        ('lead_id,created_at\nL1,"2026-05-04"x\n', "a character after a closing quote"),
    ],
)
def test_files_left_to_the_row_parser(text, why) -> None:
    assert bulk.eligible(text, "leads", ZoneInfo("Asia/Shanghai"), 100) is None, why


def test_a_zone_with_daylight_saving_time_is_left_to_the_row_parser() -> None:
    text = "lead_id,created_at\nL1,2026-05-04\n"
    assert bulk.eligible(text, "leads", ZoneInfo("Asia/Shanghai"), 100) is not None
    assert bulk.eligible(text, "leads", ZoneInfo("Europe/Berlin"), 100) is None

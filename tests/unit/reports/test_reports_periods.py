"""Which week, month and quarter a report shows: hand-worked dates."""

from __future__ import annotations

from datetime import date

import pytest

from dealerfunnel.reports.periods import (
    is_complete,
    latest_calendar_complete,
    latest_complete,
    period_end,
    period_label,
    period_start_of,
    row_is_complete,
    trailing,
)


@pytest.mark.parametrize(
    ("start", "grain", "end"),
    [
        (date(2026, 9, 28), "week", date(2026, 10, 5)),
        (date(2026, 12, 28), "week", date(2027, 1, 4)),
        (date(2026, 2, 1), "month", date(2026, 3, 1)),
        (date(2026, 12, 1), "month", date(2027, 1, 1)),
        (date(2026, 10, 1), "quarter", date(2027, 1, 1)),
        (date(2026, 7, 1), "quarter", date(2026, 10, 1)),
    ],
)
def test_period_end_is_exclusive(start, grain, end):
    assert period_end(start, grain) == end


def test_period_start_of():
    # Wed 2026-09-30: week of Mon 09-28, month 09-01, quarter 07-01
    day = date(2026, 9, 30)
    assert period_start_of(day, "week") == date(2026, 9, 28)
    assert period_start_of(day, "month") == date(2026, 9, 1)
    assert period_start_of(day, "quarter") == date(2026, 7, 1)


def test_a_period_is_complete_from_the_day_after_its_last_day():
    week = date(2026, 9, 28)  # Mon 09-28 .. Sun 10-04
    assert not is_complete(week, "week", date(2026, 10, 4))
    assert is_complete(week, "week", date(2026, 10, 5))
    assert not is_complete(date(2026, 7, 1), "quarter", date(2026, 9, 30))
    assert is_complete(date(2026, 7, 1), "quarter", date(2026, 10, 1))


def test_the_mart_flag_wins_over_the_calendar():
    old = {"period_start": date(2026, 1, 5), "is_period_complete": False}
    assert not row_is_complete(old, "week", date(2026, 10, 20))
    young = {"period_start": date(2026, 10, 19), "is_period_complete": True}
    assert row_is_complete(young, "week", date(2026, 10, 20))
    unknown = {"period_start": date(2026, 10, 12), "is_period_complete": None}
    assert row_is_complete(unknown, "week", date(2026, 10, 20))


def test_latest_complete_period():
    rows = [
        {"period_start": date(2026, 9, 28)},
        {"period_start": date(2026, 10, 5)},
        {"period_start": date(2026, 10, 19)},  # running on Tue 10-20
    ]
    assert latest_complete(rows, "week", date(2026, 10, 20)) == date(2026, 10, 5)
    # on Sun 10-11 the week of 10-05 is still running
    assert latest_complete(rows, "week", date(2026, 10, 11)) == date(2026, 9, 28)
    assert latest_complete(rows, "week", date(2026, 9, 30)) is None
    assert latest_complete([], "month", date(2026, 9, 30)) is None
    flagged = [{**r, "is_period_complete": r["period_start"] < date(2026, 10, 5)} for r in rows]
    assert latest_complete(flagged, "week", date(2026, 10, 20)) == date(2026, 9, 28)


def test_latest_calendar_complete():
    assert latest_calendar_complete("week", date(2026, 10, 20)) == date(2026, 10, 12)
    assert latest_calendar_complete("week", date(2026, 10, 19)) == date(2026, 10, 12)
    assert latest_calendar_complete("month", date(2026, 10, 1)) == date(2026, 9, 1)
    assert latest_calendar_complete("quarter", date(2026, 10, 20)) == date(2026, 7, 1)
    assert latest_calendar_complete("quarter", date(2026, 1, 1)) == date(2025, 10, 1)


def test_trailing_keeps_the_last_periods_oldest_first():
    rows = [{"period_start": date(2026, 9, d)} for d in (21, 7, 28, 14)]
    assert [r["period_start"].day for r in trailing(rows, 2)] == [21, 28]
    assert [r["period_start"].day for r in trailing(rows, 2, date(2026, 9, 20))] == [7, 14]
    assert trailing(rows, 0) == []


def test_period_labels():
    assert period_label(date(2026, 9, 28), "week") == "week 2026-09-28 – 2026-10-04"
    assert period_label(date(2026, 9, 1), "month") == "September 2026"
    assert period_label(date(2026, 10, 1), "quarter") == "Q4 2026"

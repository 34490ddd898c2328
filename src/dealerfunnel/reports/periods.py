"""Report periods: which week, month and quarter a report shows (pure functions).

A period is named by its ``period_start`` (a Monday for a week, the 1st of a month or quarter),
as in the marts. It is complete once its last day is over in the dealer's local time; where a
mart publishes ``is_period_complete`` that flag decides instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

GRAINS = ("week", "month", "quarter")
GRAIN_TITLES = {"week": "Week", "month": "Month", "quarter": "Quarter"}
TREND_PERIODS = {"week": 12, "month": 12, "quarter": 8}
"""How many periods a trend chart shows, ending with the latest one."""


def _add_months(start: date, months: int) -> date:
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_end(start: date, grain: str) -> date:
    """The first day after the period (exclusive end)."""
    if grain == "week":
        return start + timedelta(days=7)
    if grain == "month":
        return _add_months(start, 1)
    if grain == "quarter":
        return _add_months(start, 3)
    raise ValueError(f"unknown period grain {grain!r}")


def period_start_of(day: date, grain: str) -> date:
    """The start of the period holding ``day``."""
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    raise ValueError(f"unknown period grain {grain!r}")


def is_complete(start: date, grain: str, today: date) -> bool:
    """The period's last day is over on ``today`` (the local date)."""
    return period_end(start, grain) <= today


def row_is_complete(row: Mapping[str, Any], grain: str, today: date) -> bool:
    """A mart row's own ``is_period_complete`` when it has one, else the calendar rule."""
    flag = row.get("is_period_complete")
    if flag is not None:
        return bool(flag)
    return is_complete(row["period_start"], grain, today)


def latest_complete(rows: Iterable[Mapping[str, Any]], grain: str, today: date) -> date | None:
    """The latest ``period_start`` among ``rows`` whose period is complete, or None."""
    starts = [r["period_start"] for r in rows if row_is_complete(r, grain, today)]
    return max(starts, default=None)


def latest_calendar_complete(grain: str, today: date) -> date:
    """The last period that ended before ``today``, whether or not it has data."""
    return period_start_of(period_start_of(today, grain) - timedelta(days=1), grain)


def trailing(
    rows: Iterable[Mapping[str, Any]], count: int, until: date | None = None
) -> list[Mapping[str, Any]]:
    """The last ``count`` rows by ``period_start`` (up to ``until`` when given), oldest first."""
    kept = sorted(
        (r for r in rows if until is None or r["period_start"] <= until),
        key=lambda r: r["period_start"],
    )
    return kept[-count:] if count else []


def period_label(start: date, grain: str) -> str:
    """``week of Mon 2026-09-28``, ``September 2026``, ``Q3 2026``."""
    if grain == "week":
        last = start + timedelta(days=6)
        return f"week {start.isoformat()} – {last.isoformat()}"
    if grain == "month":
        return start.strftime("%B %Y")
    if grain == "quarter":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    raise ValueError(f"unknown period grain {grain!r}")

"""Minimal published marts written straight into a test warehouse (alert tests).

The alert tests move the data through breach, persistence and recovery in seconds, so they
write the columns an alert reads instead of building dbt. The rows carry what the dbt model
would publish: the counts, the rate, the maturity flags and the one-sided 95 % Wilson bounds
(the formula of the macro ``wilson_bound``, z = 1.644854, rounded to 4 decimals).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import psycopg

Z = 1.644854


def wilson(successes: int, trials: int, z: float = Z) -> tuple[float, float] | tuple[None, None]:
    if not trials:
        return None, None
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * (p * (1 - p) / trials + z * z / (4 * trials * trials)) ** 0.5 / (1 + z * z / trials)
    return round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)


@dataclass(frozen=True)
class Week:
    """One dealer x week of marts.mart_funnel_monitoring (potential -> interested only)."""

    dealer_code: str
    period_start: date
    potential: int
    interested: int
    complete: bool = True
    mature: bool = True


def write_monitoring_mart(url: str, weeks: Iterable[Week]) -> None:
    """(Re)create marts.mart_funnel_monitoring with the columns the rate rule reads."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema if not exists marts")
        conn.execute("drop table if exists marts.mart_funnel_monitoring")
        conn.execute(
            """create table marts.mart_funnel_monitoring (
                dealer_code text, period_grain text, period_start date,
                leads_potential int, leads_interested int,
                rate_potential_to_interested numeric,
                rate_potential_to_interested_lower numeric,
                rate_potential_to_interested_upper numeric,
                is_period_complete boolean, is_potential_to_interested_mature boolean,
                is_mature boolean)"""
        )
        with conn.cursor().copy("copy marts.mart_funnel_monitoring from stdin") as copy:
            for w in weeks:
                rate = round(w.interested / w.potential, 4) if w.potential else None
                lower, upper = wilson(w.interested, w.potential)
                copy.write_row(
                    (
                        w.dealer_code,
                        "week",
                        w.period_start,
                        w.potential,
                        w.interested,
                        rate,
                        lower,
                        upper,
                        w.complete,
                        w.complete and w.mature,
                        False,
                    )
                )

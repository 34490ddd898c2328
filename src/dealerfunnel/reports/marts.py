"""Reading the published marts for the report pages.

Only schema ``marts`` is read. Which marts and columns exist is read once from
``information_schema`` (:func:`read_catalog`), so a page leaves out, with a note, what is not
built yet instead of failing. Every identifier is quoted with ``sql.Identifier`` and every value
is bound; no rate is computed here (rates come from the marts), only counts are summed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from psycopg import sql

SCHEMA = "marts"

CONVERSION = "mart_funnel_conversion"
MONITORING = "mart_funnel_monitoring"
GROUP_OVERVIEW = "mart_group_overview"
SLA = "mart_sla_compliance"
SCORECARD = "mart_consultant_scorecard"
CHANNEL_ROI = "mart_channel_roi"
FCT_LEADS = "fct_leads"
TARGETS = "mart_targets_attainment"
RANKING = "mart_dealer_ranking"
LOST_REASONS = "mart_lost_reasons"
SHOWROOM = "mart_showroom_activity"
DEALERS = "dim_dealerships"

STAGES = ("potential", "interested", "needs_defined", "decision", "won")
COUNTS = tuple(f"leads_{stage}" for stage in STAGES)
RATES = (
    "rate_potential_to_interested",
    "rate_interested_to_needs_defined",
    "rate_needs_defined_to_decision",
    "rate_decision_to_won",
    "rate_lead_to_won",
)
RATE_LABELS = {
    "rate_potential_to_interested": "potential → interested",
    "rate_interested_to_needs_defined": "interested → needs defined",
    "rate_needs_defined_to_decision": "needs defined → decision",
    "rate_decision_to_won": "decision → won",
    "rate_lead_to_won": "lead → won",
}


def rate_maturity_column(rate: str) -> str:
    """``rate_potential_to_interested`` -> ``is_potential_to_interested_mature``."""
    return f"is_{rate.removeprefix('rate_')}_mature"


MATURITY = (
    "cohort_age_days",
    "is_period_complete",
    "is_mature",
    *(rate_maturity_column(r) for r in RATES),
)
MATURITY_FLAGS = tuple(c for c in MATURITY if c.startswith("is_"))


@dataclass(frozen=True)
class Catalog:
    """The tables of schema ``marts`` and their columns."""

    columns: Mapping[str, frozenset[str]]

    def has(self, table: str, *columns: str) -> bool:
        present = self.columns.get(table)
        return present is not None and all(c in present for c in columns)

    def present(self, table: str, columns: Iterable[str]) -> list[str]:
        """The ``columns`` that ``table`` has, in the order given."""
        have = self.columns.get(table, frozenset())
        return [c for c in columns if c in have]


def read_catalog(conn) -> Catalog:
    rows = conn.execute(
        "select table_name, column_name from information_schema.columns where table_schema = %s",
        (SCHEMA,),
    ).fetchall()
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        columns.setdefault(table, set()).add(column)
    return Catalog({t: frozenset(c) for t, c in columns.items()})


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def _fetch(conn, query: sql.Composable, params: Sequence[Any]) -> list[dict[str, Any]]:
    cur = conn.execute(query, params)
    names = [c.name for c in cur.description]
    return [dict(zip(names, map(_plain, row), strict=True)) for row in cur.fetchall()]


def _table(name: str) -> sql.Composable:
    return sql.SQL("{}.{}").format(sql.Identifier(SCHEMA), sql.Identifier(name))


def _where(
    equal: Mapping[str, Any], date_range: tuple[str, date, date] | None
) -> tuple[sql.Composable, list[Any]]:
    parts: list[sql.Composable] = []
    params: list[Any] = []
    for column, value in equal.items():
        parts.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
        params.append(value)
    if date_range is not None:
        column, start, end = date_range
        parts.append(sql.SQL("{0} >= %s and {0} < %s").format(sql.Identifier(column)))
        params.extend((start, end))
    if not parts:
        return sql.SQL(""), params
    return sql.SQL(" where ") + sql.SQL(" and ").join(parts), params


def select(
    conn,
    table: str,
    columns: Sequence[str],
    *,
    equal: Mapping[str, Any] | None = None,
    date_range: tuple[str, date, date] | None = None,
    order_by: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """``select columns from marts.table where col = %s ... [and col in [start, end)]``."""
    where, params = _where(equal or {}, date_range)
    query = sql.SQL("select {cols} from {table}{where}").format(
        cols=sql.SQL(", ").join(map(sql.Identifier, columns)), table=_table(table), where=where
    )
    if order_by:
        query += sql.SQL(" order by ") + sql.SQL(", ").join(map(sql.Identifier, order_by))
    return _fetch(conn, query, params)


def select_totals(
    conn,
    table: str,
    group_by: Sequence[str],
    sums: Sequence[str],
    *,
    all_true: Sequence[str] = (),
    minimum: Sequence[str] = (),
    equal: Mapping[str, Any] | None = None,
    date_range: tuple[str, date, date] | None = None,
) -> list[dict[str, Any]]:
    """Counts summed per ``group_by`` (``bool_and`` of flags, ``min`` of ages); never a rate."""
    where, params = _where(equal or {}, date_range)
    items = [sql.Identifier(c) for c in group_by]
    items += [sql.SQL("sum({0})::bigint as {0}").format(sql.Identifier(c)) for c in sums]
    items += [sql.SQL("bool_and({0}) as {0}").format(sql.Identifier(c)) for c in all_true]
    items += [sql.SQL("min({0}) as {0}").format(sql.Identifier(c)) for c in minimum]
    query = sql.SQL("select {items} from {table}{where}").format(
        items=sql.SQL(", ").join(items), table=_table(table), where=where
    )
    if group_by:
        keys = sql.SQL(", ").join(map(sql.Identifier, group_by))
        query += sql.SQL(" group by {0} order by {0}").format(keys)
    return _fetch(conn, query, params)


def won_cycle_days(
    conn, catalog: Catalog, start: date, end: date, dealer_code: str | None = None
) -> list[float]:
    """``fct_leads.cycle_days`` of the leads won in [start, end) in their dealer's local time,
    cycle anomalies left out."""
    conds = [
        sql.SQL("f.is_won"),
        sql.SQL("f.cycle_days is not null"),
        sql.SQL("(f.won_at at time zone d.timezone)::date >= %s"),
        sql.SQL("(f.won_at at time zone d.timezone)::date < %s"),
    ]
    params: list[Any] = [start, end]
    if catalog.has(FCT_LEADS, "has_cycle_anomaly"):
        conds.append(sql.SQL("not f.has_cycle_anomaly"))
    else:
        conds.append(sql.SQL("f.cycle_days >= 0"))
    if dealer_code is not None:
        conds.append(sql.SQL("f.dealer_code = %s"))
        params.append(dealer_code)
    query = sql.SQL(
        "select f.cycle_days from {leads} as f join {dealers} as d using (dealer_code)"
        " where {conds} order by f.cycle_days"
    ).format(leads=_table(FCT_LEADS), dealers=_table(DEALERS), conds=sql.SQL(" and ").join(conds))
    return [float(row[0]) for row in conn.execute(query, params).fetchall()]

"""The report pages: ``index.html``, one page per dealer and ``group.html``.

Each page has a section for the latest complete week, month and quarter. The data comes from
the published marts only (:mod:`.marts`), the figures from :mod:`.figures`, the HTML from the
Jinja templates in ``templates/`` (autoescaped). Every page loads one local ``plotly.min.js``
copied next to it, so the pages work offline from ``file://`` and from the Airflow plugin.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dealerfunnel.reports import figures, marts
from dealerfunnel.reports.figures import Series, Spec, Threshold
from dealerfunnel.reports.marts import Catalog, select, select_totals
from dealerfunnel.reports.periods import (
    GRAINS,
    TREND_PERIODS,
    latest_calendar_complete,
    latest_complete,
    period_end,
    period_label,
    period_start_of,
    row_is_complete,
    trailing,
)

log = logging.getLogger(__name__)

PLOTLY_JS = "plotly.min.js"
DEFAULT_TREND_RATE = "rate_potential_to_interested"
LOST_COLUMNS = ("dealer_code", "lost_reason", "month_start", "leads_lost", "share_of_month_lost")
SHOWROOM_COLUMNS = ("dealer_code", "consultant", "week_start", *figures.SHOWROOM_COUNTS)
TARGET_COLUMNS = (
    "dealer_code",
    "consultant",
    "metric",
    "target",
    "actual",
    "attainment",
    "months_with_target",
    "is_period_complete",
)
RANKING_COLUMNS = (
    "dealer_code",
    "metric",
    "metric_value",
    "dealer_rank",
    "dealers_ranked",
    "is_group_total",
    "previous_period_value",
    "change_vs_previous_period",
    "previous_year_value",
    "change_vs_previous_year",
    "is_period_complete",
)
SLA_RATES = {
    "assignment_sla_rate": "assignment SLA",
    "first_contact_sla_rate": "first-contact SLA",
    "cadence_on_time_rate": "grade cadence on time",
    "interested_contact_rate": "interested leads contacted weekly",
}
SCORECARD_RATES = {**SLA_RATES, "post_sale_followup_rate": "post-sale follow-ups on time"}
SLA_COUNTS = (
    ("assignment", "assignments_due", "assignments_met"),
    ("first contact", "first_contacts_due", "first_contacts_met"),
    ("cadence", "cadence_followups_due", "cadence_followups_on_time"),
)
ROI_COLUMNS = (
    "dealer_code",
    "channel",
    "campaign",
    "month_start",
    "spend",
    "leads",
    "leads_won",
    "cost_per_lead",
    "cost_per_won",
    "currency",
)
GROUP_COST_ROWS = 30


@dataclass
class Block:
    """One chart (or note, or table) of a section."""

    title: str
    figure: Spec | None = None
    note: str | None = None
    table: dict[str, Any] | None = None


@dataclass
class Section:
    grain: str
    title: str
    period: str | None = None
    note: str | None = None
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Page:
    filename: str
    title: str
    subtitle: str
    sections: list[Section]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Rules:
    """The alert thresholds on funnel rates (``dealerfunnel.alerts.load_rules``)."""

    rules: tuple[Any, ...]
    error: str | None = None

    def thresholds(self, grain: str, dealer_code: str | None, rates: Sequence[str]) -> list:
        out = []
        for rule in self.rules:
            metric = getattr(rule, "metric", None)
            if metric not in rates or getattr(rule, "period_grain", None) != grain:
                continue
            # rate rules judge the dealer-level monitoring mart (or, for counts, the cohorts)
            if getattr(rule, "mart", marts.MONITORING) not in (marts.MONITORING, marts.CONVERSION):
                continue
            if getattr(rule, "threshold", None) is None:
                continue
            applied = rule.for_dealer(dealer_code) if dealer_code else rule
            direction = getattr(applied, "direction", "below")
            out.append(
                Threshold(
                    f"alert {applied.rule}: {marts.RATE_LABELS[metric]} {direction} "
                    f"{applied.threshold:.0%}",
                    float(applied.threshold),
                )
            )
        return out

    def metrics(self) -> list[str]:
        found = [getattr(r, "metric", None) for r in self.rules]
        return [m for m in dict.fromkeys(found) if m in marts.RATES] or [DEFAULT_TREND_RATE]


def load_threshold_rules() -> Rules:
    from dealerfunnel.alerts import load_rules
    from dealerfunnel.settings import ConfigError

    try:
        return Rules(tuple(load_rules()))
    except ConfigError as exc:
        log.warning("report pages drawn without alert thresholds: %s", exc)
        return Rules((), str(exc))


def page_filename(dealer_code: str) -> str:
    """``SH001.html``; a code that is not a plain file name gets a hashed name."""
    if re.fullmatch(
        r"[A-Za-z0-9][A-Za-z0-9_.-]{0,80}", dealer_code
    ) and dealer_code.lower() not in (
        "index",
        "group",
    ):
        return f"{dealer_code}.html"
    return f"dealer-{hashlib.sha256(dealer_code.encode()).hexdigest()[:12]}.html"


def local_today(timezone: str | None, now: datetime) -> date:
    try:
        return now.astimezone(ZoneInfo(timezone or "UTC")).date()
    except (KeyError, ValueError):
        return now.astimezone(UTC).date()


# -- one report context: a dealer, or the group -------------------------------------------------


@dataclass
class Scope:
    """What a page is about: one dealer (``dealer_code``) or the whole group (None)."""

    conn: Any
    catalog: Catalog
    rules: Rules
    today: date
    dealer_code: str | None = None
    dealer_names: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def equal(self) -> dict[str, Any]:
        return {"dealer_code": self.dealer_code} if self.dealer_code else {}


def _complete(rows: list[dict[str, Any]], grain: str, today: date) -> list[dict[str, Any]]:
    for row in rows:
        row["period_complete"] = row_is_complete(row, grain, today)
    return rows


def funnel_rows(scope: Scope, grain: str) -> tuple[list[dict[str, Any]], str | None]:
    """Cohort rows per period (all channels) and the mart they came from."""
    cat = scope.catalog
    key = ("period_grain", "period_start")
    maturity = cat.present
    if scope.dealer_code and cat.has(marts.MONITORING, "dealer_code", *key, *marts.COUNTS):
        columns = [
            "period_start",
            *marts.COUNTS,
            *maturity(marts.MONITORING, marts.RATES),
            *maturity(marts.MONITORING, marts.MATURITY),
        ]
        rows = select(
            scope.conn,
            marts.MONITORING,
            columns,
            equal={**scope.equal, "period_grain": grain},
            order_by=["period_start"],
        )
        return _complete(rows, grain, scope.today), marts.MONITORING
    if cat.has(marts.CONVERSION, "dealer_code", *key, *marts.COUNTS):
        rows = select_totals(
            scope.conn,
            marts.CONVERSION,
            ["period_start"],
            marts.COUNTS,
            all_true=maturity(marts.CONVERSION, marts.MATURITY_FLAGS),
            minimum=maturity(marts.CONVERSION, ["cohort_age_days"]),
            equal={**scope.equal, "period_grain": grain},
        )
        return _complete(rows, grain, scope.today), marts.CONVERSION
    return [], None


def _maturity_note(row: dict[str, Any], source: str, catalog: Catalog) -> str:
    if not catalog.present(source, marts.MATURITY_FLAGS):
        return (
            f"Maturity not available: marts.{source} does not publish maturity flags yet, "
            "so late-stage counts of a young cohort may still grow."
        )
    age = row.get("cohort_age_days")
    mature = row.get("is_mature")
    text = f"Cohort age {age} days. " if age is not None else ""
    if mature is None:
        return text + "Pale bars: rates not mature yet."
    return text + (
        "The cohort is mature: its rates are final."
        if mature
        else "The cohort is not mature yet: pale bars are rates that may still rise."
    )


def funnel_block(scope: Scope, row: dict[str, Any], source: str, label: str) -> Block:
    title = f"Funnel of the leads created in {label}"
    notes = [_maturity_note(row, source, scope.catalog)]
    if source != marts.MONITORING:
        notes.append(
            "Counts only: rates over all channels come from marts.mart_funnel_monitoring, "
            "which is not built yet."
            if scope.dealer_code
            else "Counts summed over every dealer and channel; rates per region × brand are "
            "in the trend."
        )
    return Block(title, figures.funnel_figure(row, title), " ".join(notes))


def trend_block(
    scope: Scope, grain: str, rows: list[dict[str, Any]], source: str, latest: date
) -> Block:
    count = TREND_PERIODS[grain]
    title = f"Conversion per {grain}, last {count} {grain}s"
    watched = scope.rules.metrics()
    thresholds = scope.rules.thresholds(grain, scope.dealer_code, marts.RATES)
    hollow = "Hollow markers: period still running or cohort not mature for that rate."
    if scope.rules.error:
        hollow += f" Alert thresholds not available ({scope.rules.error})."
    window = trailing(rows, count)
    if source == marts.MONITORING:
        rates = scope.catalog.present(marts.MONITORING, marts.RATES)
        series = [Series(marts.RATE_LABELS[r], r, window) for r in rates]
        if not scope.catalog.present(marts.MONITORING, marts.MATURITY_FLAGS):
            hollow += " Maturity not available."
        return Block(title, figures.trend_figure(series, thresholds, title, grain), hollow)
    # Without the dealer-level monitoring mart: the watched rates per channel (dealer page) or
    # per region × brand (group page), as the marts publish them.
    starts = {r["period_start"] for r in window}
    if scope.dealer_code:
        table, split, columns = marts.CONVERSION, ("channel",), marts.MATURITY
    else:
        table, split, columns = marts.GROUP_OVERVIEW, ("region", "brand"), ()
    rates = scope.catalog.present(table, watched)
    if not rates or not scope.catalog.has(table, *split, "period_grain", "period_start"):
        return Block(title, note=f"Not available: marts.{table} has no rate columns to draw.")
    selected = [*split, "period_start", *rates, *scope.catalog.present(table, columns)]
    found = select(
        scope.conn,
        table,
        selected,
        equal={**scope.equal, "period_grain": grain},
        order_by=[*split, "period_start"],
    )
    found = _complete([r for r in found if r["period_start"] in starts], grain, scope.today)
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in found:
        groups.setdefault(" · ".join(str(row[c]) for c in split), []).append(row)
    series = [
        Series(f"{name}: {marts.RATE_LABELS[rate]}" if len(rates) > 1 else name, rate, group)
        for name, group in groups.items()
        for rate in rates
    ]
    title += " by " + " × ".join(split)
    note = hollow + (
        " Per channel: the dealer's rate over all channels needs marts.mart_funnel_monitoring."
        if scope.dealer_code
        else " Maturity not available for the group overview."
    )
    if not scope.catalog.present(table, marts.MATURITY_FLAGS) and scope.dealer_code:
        note += " Maturity not available."
    return Block(title, figures.trend_figure(series, thresholds, title, grain), note)


def cycle_block(scope: Scope, start: date, end: date, label: str) -> Block:
    title = f"Sales cycle of the leads won in {label}"
    if not (
        scope.catalog.has(marts.FCT_LEADS, "cycle_days", "won_at", "is_won", "dealer_code")
        and scope.catalog.has(marts.DEALERS, "dealer_code", "timezone")
    ):
        return Block(title, note="Not available: marts.fct_leads is not built.")
    days = marts.won_cycle_days(scope.conn, scope.catalog, start, end, scope.dealer_code)
    if not days:
        return Block(title, note="No lead was won in this period.")
    return Block(
        title,
        figures.cycle_figure(days, f"{title} ({len(days)} leads)"),
        "From marts.fct_leads.cycle_days; leads with contradictory dates are left out.",
    )


def sla_block(scope: Scope, grain: str, start: date, end: date, label: str) -> Block:
    cat = scope.catalog
    title = f"SLA and follow-up compliance, {label}"
    # each check is charged to the person responsible (the manager for assignments)
    person = "responsible" if cat.has(marts.SLA, "responsible") else "consultant"
    if scope.dealer_code and grain == "week" and cat.has(marts.SLA, person, "week_start"):
        rates = {c: n for c, n in SLA_RATES.items() if cat.has(marts.SLA, c)}
        rows = select(
            scope.conn,
            marts.SLA,
            [person, *rates],
            equal={**scope.equal, "week_start": start},
            order_by=[person],
        )
        if not rows:
            return Block(title, note="No SLA check was decided in this week.")
        title += " (per person responsible)"
        return Block(title, figures.rate_bars_figure(rows, person, rates, title))
    if scope.dealer_code and grain == "month" and cat.has(marts.SCORECARD, "consultant"):
        rates = {c: n for c, n in SCORECARD_RATES.items() if cat.has(marts.SCORECARD, c)}
        rows = select(
            scope.conn,
            marts.SCORECARD,
            ["consultant", *rates],
            equal={**scope.equal, "month_start": start},
            order_by=["consultant"],
        )
        if not rows:
            return Block(title, note="No consultant had leads or checks due in this month.")
        title += " (consultant scorecard)"
        return Block(title, figures.rate_bars_figure(rows, "consultant", rates, title))
    pairs = [p for p in SLA_COUNTS if cat.has(marts.SLA, p[1], p[2])]
    if not pairs or not cat.has(marts.SLA, "week_start", person):
        return Block(title, note="Not available: marts.mart_sla_compliance is not built.")
    by = person if scope.dealer_code else "dealer_code"
    rows = select_totals(
        scope.conn,
        marts.SLA,
        [by],
        [c for _, due, met in pairs for c in (due, met)],
        equal=scope.equal,
        date_range=("week_start", start, end),
    )
    if not rows:
        return Block(title, note="No SLA check was decided in this period.")
    title += f" (checks per {by.replace('_', ' ')})"
    return Block(
        title,
        figures.count_bars_figure(rows, by, pairs, title),
        "Checks due and met, summed over the weeks of the period (the marts publish rates per "
        "week and per consultant-month).",
    )


def cost_block(scope: Scope, grain: str, start: date, end: date, label: str) -> Block:
    title = f"Channel cost per lead and per sale, {label}"
    if grain == "week":
        return Block(title, note="Channel cost is published per month: see the month section.")
    if not scope.catalog.has(marts.CHANNEL_ROI, *ROI_COLUMNS):
        return Block(title, note="Not available: marts.mart_channel_roi is not built.")
    mixed = scope.catalog.present(marts.CHANNEL_ROI, ["has_mixed_currencies"])
    rows = select(
        scope.conn,
        marts.CHANNEL_ROI,
        [*ROI_COLUMNS, *mixed],
        equal=scope.equal,
        date_range=("month_start", start, end),
        order_by=["dealer_code", "channel", "campaign", "month_start"],
    )
    notes = ["One panel per currency: amounts in different currencies are never added up."]
    left_out = [r for r in rows if r.get("has_mixed_currencies")]
    if left_out:
        notes.append(
            f"{len(left_out)} campaign-month(s) with spend in more than one currency are left "
            "out (marts.mart_channel_roi.has_mixed_currencies): "
            + ", ".join(figures.cost_label(r, True, not scope.dealer_code) for r in left_out)
            + "."
        )
    if not scope.dealer_code:
        # the campaigns with the highest spend, per currency (amounts compare within one only)
        kept = []
        for currency in sorted({str(r["currency"]) for r in rows if r["spend"] is not None}):
            spent = sorted(
                (r for r in rows if r["spend"] is not None and str(r["currency"]) == currency),
                key=lambda r: -r["spend"],
            )
            if len(spent) > GROUP_COST_ROWS:
                notes.append(f"The {GROUP_COST_ROWS} campaigns with the highest {currency} spend.")
            kept += spent[:GROUP_COST_ROWS]
        rows = kept
    figure = figures.channel_cost_figure(rows, title, with_dealer=not scope.dealer_code)
    if figure is None:
        notes.insert(0, "No ad spend reported in this period (organic channels cost 0).")
        return Block(title, note=" ".join(notes[:1] + notes[2:]))
    return Block(title, figure, " ".join(notes))


def lost_reasons_block(scope: Scope, grain: str, start: date, end: date, label: str) -> Block:
    """Why leads were lost (mart_lost_reasons): losses per canonical reason and stage at loss
    over the months of the period; the share of the month's losses where the mart publishes it
    for what is shown (one dealer, one month)."""
    title = f"Why leads were lost, {label}"
    if grain == "week":
        return Block(title, note="Lost reasons are published per month: see the month section.")
    stages = scope.catalog.present(marts.LOST_REASONS, figures.LOST_STAGES)
    if not scope.catalog.has(marts.LOST_REASONS, *LOST_COLUMNS):
        return Block(title, note=f"Not available: marts.{marts.LOST_REASONS} is not built.")
    rows = select(
        scope.conn,
        marts.LOST_REASONS,
        [*LOST_COLUMNS, *stages],
        equal=scope.equal,
        date_range=("month_start", start, end),
        order_by=["dealer_code", "month_start", "lost_reason"],
    )
    if not rows:
        return Block(title, note="No lead was lost in this period.")
    # one dealer's one month: its channels' shares have one denominator and add up
    with_share = bool(scope.dealer_code) and grain == "month"
    reasons: dict[str, dict[str, Any]] = {}
    for row in rows:
        total = reasons.setdefault(
            row["lost_reason"],
            {
                "lost_reason": row["lost_reason"],
                "leads_lost": 0,
                "share": 0.0 if with_share else None,
            },
        )
        total["leads_lost"] += row["leads_lost"]
        for column in stages:
            total[column] = total.get(column, 0) + (row[column] or 0)
        if with_share:
            total["share"] += row["share_of_month_lost"] or 0
    ordered = sorted(reasons.values(), key=lambda r: (-r["leads_lost"], r["lost_reason"]))
    unmapped = sum(r["leads_lost"] for r in ordered if r["lost_reason"] == "other")
    note = (
        "Canonical reasons (seed lost_reasons); 'other' = the source's reason is not mapped "
        f"({unmapped} lost lead(s) in this period), 'unknown' = no reason given. Counted in the "
        "month the lead was lost, stacked by the stage it was lost at."
    )
    if not with_share:
        note += (
            " The share of the month's losses is published per dealer and month: see the "
            + ("month section" if scope.dealer_code else "dealer pages")
            + "; here counts only add up."
        )
    table = {
        "columns": ["reason", "leads lost", "share of the month's losses"],
        "rows": [
            [r["lost_reason"], f"{r['leads_lost']:,}", figures.percent(r["share"])] for r in ordered
        ],
    }
    return Block(title, figures.lost_reasons_figure(ordered, title), note, table)


def showroom_block(scope: Scope, grain: str, start: date, end: date, label: str) -> Block:
    """Showroom visits, test drives and appointment show-up (mart_showroom_activity): per
    consultant on a dealer page, per dealer on the group page."""
    title = f"Showroom visits, test drives and show-up, {label}"
    cat = scope.catalog
    if not cat.has(marts.SHOWROOM, *SHOWROOM_COLUMNS):
        return Block(title, note=f"Not available: marts.{marts.SHOWROOM} is not built.")
    by = "consultant" if scope.dealer_code else "dealer_code"
    rates = cat.present(marts.SHOWROOM, figures.SHOWROOM_RATES)
    if scope.dealer_code and grain == "week":
        # the mart's own grain: the consultant-week rates as published
        rows = select(
            scope.conn,
            marts.SHOWROOM,
            [by, *figures.SHOWROOM_COUNTS, *rates, *cat.present(marts.SHOWROOM, marts.MATURITY)],
            equal={**scope.equal, "week_start": start},
            order_by=[by],
        )
        rows = _complete([{**r, "period_start": start} for r in rows], grain, scope.today)
        note = (
            "Bars: counts; diamonds: the consultant's appointment show-up rate (shown ÷ shown or "
            "no-show) and test drive → won (a cohort rate: hollow while not mature)."
        )
    else:
        rows = select_totals(
            scope.conn,
            marts.SHOWROOM,
            [by],
            list(figures.SHOWROOM_COUNTS),
            equal=scope.equal,
            date_range=("week_start", start, end),
        )
        note = (
            "Counts summed over the weeks starting in this period. The show-up and test drive → "
            "won rates are published per consultant and week: "
            + ("see the week section." if scope.dealer_code else "see the dealer pages.")
        )
        if not scope.dealer_code:
            for row in rows:
                row["dealer_code"] = (scope.dealer_names.get(row["dealer_code"]) or {}).get(
                    "dealer_name"
                ) or row["dealer_code"]
    if not rows:
        return Block(title, note="No appointment, showroom visit or test drive in this period.")
    columns = {**figures.SHOWROOM_COUNTS}
    if rows and "show_up_rate" in rows[0]:
        columns["show_up_rate"] = figures.SHOWROOM_RATES["show_up_rate"]
    table = {
        "columns": ["consultant" if scope.dealer_code else "dealer", *columns.values()],
        "rows": [
            [
                r[by],
                *(
                    figures.percent(r[c]) if c in figures.SHOWROOM_RATES else f"{int(r[c] or 0):,}"
                    for c in columns
                ),
            ]
            for r in rows
        ],
    }
    return Block(title, figures.showroom_figure(rows, by, title), note, table)


def ranking_block(scope: Scope, grain: str, start: date, label: str) -> Block:
    title = f"Dealer ranking, {label}"
    cat = scope.catalog
    rate = "rate_lead_to_won"
    if cat.has(marts.MONITORING, "dealer_code", "period_grain", "period_start", rate):
        columns = ["dealer_code", "leads_potential", "leads_won", rate]
        columns += cat.present(marts.MONITORING, marts.MATURITY_FLAGS)
        rows = select(
            scope.conn,
            marts.MONITORING,
            columns,
            equal={"period_grain": grain, "period_start": start},
        )
        ranked = figures.rank_dealers(rows, rate, "leads_potential")
        note = "Ranked on lead → won rate, then lead volume. Pale bars: cohort not mature yet."
    elif cat.has(marts.CONVERSION, "dealer_code", "period_grain", "period_start", *marts.COUNTS):
        rows = select_totals(
            scope.conn,
            marts.CONVERSION,
            ["dealer_code"],
            ["leads_potential", "leads_won"],
            equal={"period_grain": grain, "period_start": start},
        )
        ranked = figures.rank_dealers(rows, "leads_won", "leads_potential")
        rate = None
        note = (
            "Ranked on won leads, then lead volume: the lead → won rate per dealer comes from "
            "marts.mart_funnel_monitoring, which is not built yet."
        )
    else:
        return Block(title, note="Not available: no funnel mart is built.")
    if not ranked:
        return Block(title, note="No dealer had leads in this period.")
    for row in ranked:
        row.update(scope.dealer_names.get(row["dealer_code"], {}))
    table = {
        "columns": ["rank", "dealer", "region", "brand", "leads", "won", "lead → won"],
        "rows": [
            [
                row["rank"],
                {
                    "text": row.get("dealer_name") or row["dealer_code"],
                    "href": page_filename(row["dealer_code"]),
                },
                row.get("region", ""),
                row.get("brand", ""),
                f"{int(row.get('leads_potential') or 0):,}",
                f"{int(row.get('leads_won') or 0):,}",
                figures.percent(row.get("rate_lead_to_won")) if rate else "not available",
            ]
            for row in ranked
        ],
    }
    figure = figures.ranking_figure(ranked, rate, "leads_potential" if rate else "leads_won", title)
    return Block(title, figure, note, table)


def targets_block(scope: Scope, grain: str, start: date, label: str) -> Block:
    """Targets vs actual (mart_targets_attainment): a dealer's own and its consultants', or
    every dealer's own on the group page."""
    title = f"Targets vs actual, {label}"
    if not scope.catalog.has(marts.TARGETS, *TARGET_COLUMNS, "period_grain", "period_start"):
        return Block(title, note=f"Not available: marts.{marts.TARGETS} is not built.")
    equal = {**scope.equal, "period_grain": grain, "period_start": start}
    if not scope.dealer_code:
        equal["consultant"] = "(all)"
    rows = select(
        scope.conn,
        marts.TARGETS,
        TARGET_COLUMNS,
        equal=equal,
        order_by=["dealer_code", "consultant", "metric"],
    )
    if not rows:
        return Block(title, note="No target was set for this period (targets*.csv).")
    for row in rows:
        row["period_complete"] = row["is_period_complete"]
        row["who"] = (
            "dealer total"
            if row["consultant"] == "(all)" and scope.dealer_code
            else row["consultant"]
            if scope.dealer_code
            else (scope.dealer_names.get(row["dealer_code"]) or {}).get("dealer_name")
            or row["dealer_code"]
        )
    table = {
        "columns": ["who", "metric", "target", "actual", "attainment", "months"],
        "rows": [
            [
                r["who"],
                r["metric"],
                figures.number(r["target"]),
                figures.number(r["actual"]),
                figures.percent(r["attainment"]),
                r["months_with_target"],
            ]
            for r in rows
        ],
    }
    note = "Bars: actual ÷ target (100 % = on target); pale bars: the period is still running."
    if grain == "quarter":
        note += " A quarter compares the months that have a target."
    return Block(title, figures.attainment_figure(rows, "who", title), note, table)


def headline_ranking_block(scope: Scope, grain: str, start: date, label: str) -> Block:
    """Every dealer ranked on the headline metrics with the group total (mart_dealer_ranking);
    on a dealer page, that dealer's ranks and its change on the previous period and year."""
    title = f"Dealer ranking on the headline metrics, {label}"
    if not scope.catalog.has(marts.RANKING, *RANKING_COLUMNS, "period_grain", "period_start"):
        return Block(title, note=f"Not available: marts.{marts.RANKING} is not built.")
    rows = select(
        scope.conn,
        marts.RANKING,
        RANKING_COLUMNS,
        equal={"period_grain": grain, "period_start": start},
        order_by=["dealer_code", "metric"],
    )
    if scope.dealer_code:
        rows = [r for r in rows if r["dealer_code"] == scope.dealer_code]
    if not rows:
        return Block(title, note="No dealer had activity in this period.")
    names = {code: d.get("dealer_name") or code for code, d in scope.dealer_names.items()}
    names["(group)"] = "group total"
    table = {
        "columns": ["dealer", "metric", "value", "rank", f"vs previous {grain}", "vs year before"],
        "rows": [
            [
                {"text": names.get(r["dealer_code"], r["dealer_code"]), "href": "group.html"}
                if r["is_group_total"]
                else {
                    "text": names.get(r["dealer_code"], r["dealer_code"]),
                    "href": page_filename(r["dealer_code"]),
                },
                figures.HEADLINE_METRICS[r["metric"]],
                figures.number(r["metric_value"]),
                f"{r['dealer_rank']} of {r['dealers_ranked']}" if r["dealer_rank"] else "–",
                _change(r["change_vs_previous_period"]),
                _change(r["change_vs_previous_year"]),
            ]
            for r in sorted(rows, key=_ranking_order)
            if r["metric"] in figures.HEADLINE_METRICS
        ],
    }
    note = "Rank 1 = the highest value; changes are relative (– where there is no base)."
    if scope.dealer_code:
        figure = figures.change_figure(rows, grain, f"{title}: change")
    else:
        figure = figures.ranking_heatmap_figure(rows, names, title)
    return Block(title, figure, note, table)


def win_rate_change_block(scope: Scope, grain: str, start: date, label: str) -> Block:
    """Each dealer's lead → won rate (the cohort view, mart_funnel_monitoring) for the period,
    the previous one and the same period a year before, side by side as published: the headline
    ranking compares leads and wins, this the win rate."""
    rate = "rate_lead_to_won"
    title = f"Lead → won rate vs the previous {grain} and a year before, {label}"
    key = ("dealer_code", "period_grain", "period_start", "leads_potential", "leads_won", rate)
    if not scope.catalog.has(marts.MONITORING, *key):
        return Block(title, note=f"Not available: marts.{marts.MONITORING} is not built.")
    previous = period_start_of(start - timedelta(days=1), grain)
    year_before = start.replace(year=start.year - 1)
    periods = {
        f"{period_label(year_before, grain)} (a year before)": year_before,
        f"{period_label(previous, grain)} (previous)": previous,
        period_label(start, grain): start,
    }
    found: dict[tuple[str, date], dict[str, Any]] = {}
    for when in periods.values():
        rows = select(
            scope.conn,
            marts.MONITORING,
            [*key, *scope.catalog.present(marts.MONITORING, marts.MATURITY)],
            equal={**scope.equal, "period_grain": grain, "period_start": when},
        )
        for row in _complete(rows, grain, scope.today):
            found[(row["dealer_code"], when)] = row
    codes = sorted({code for code, when in found if when == start})
    if not codes:
        return Block(title, note="No dealer had leads in this period.")
    names = {c: (scope.dealer_names.get(c) or {}).get("dealer_name") or c for c in codes}

    def cell(row: dict[str, Any] | None) -> str:
        if row is None:
            return "no leads"
        text = f"{figures.percent(row[rate])} ({int(row['leads_won'] or 0):,} of "
        text += f"{int(row['leads_potential'] or 0):,})"
        return text if figures.is_final(row, rate) else text + " not mature"

    table = {
        "columns": ["dealer", *periods],
        "rows": [
            [
                {"text": names[code], "href": page_filename(code)},
                *(cell(found.get((code, when))) for when in periods.values()),
            ]
            for code in codes
        ],
    }
    series = {name: [found.get((code, when)) for code in codes] for name, when in periods.items()}
    note = (
        "The cohort's lead → won rate (won ÷ leads created in the period) as marts."
        f"{marts.MONITORING} publishes it per dealer; pale bars: the cohort is not mature yet, "
        "its rate may still rise. A group-total win rate is not published by the marts yet."
    )
    figure = figures.period_comparison_figure(
        [names[c] for c in codes], series, rate, f"{title}: {marts.RATE_LABELS[rate]}"
    )
    return Block(title, figure, note, table)


def _ranking_order(row: dict[str, Any]) -> tuple:
    """Dealers by code, the group total last; each dealer's metrics in headline order."""
    order = list(figures.HEADLINE_METRICS)
    metric = row["metric"]
    position = order.index(metric) if metric in order else len(order)
    return (row["is_group_total"], row["dealer_code"], position)


def _change(value: float | None) -> str:
    return "–" if value is None else f"{value:+.1%}"


def build_sections(scope: Scope) -> list[Section]:
    sections = []
    for grain in GRAINS:
        section = Section(grain, f"Latest complete {grain}")
        rows, source = funnel_rows(scope, grain)
        latest = latest_complete(rows, grain, scope.today)
        if source is None:
            section.note = "Not available: marts.mart_funnel_conversion is not built."
        elif latest is None:
            section.note = f"No complete {grain} with leads yet."
        if source is None or latest is None:
            sections.append(section)
            continue
        label = period_label(latest, grain)
        end = period_end(latest, grain)
        section.period = label
        if latest < latest_calendar_complete(grain, scope.today):
            section.note = (
                f"No leads were created after this {grain}; it is the latest complete {grain} "
                "with leads."
            )
        row = next(r for r in rows if r["period_start"] == latest)
        if not scope.dealer_code:
            section.blocks.append(ranking_block(scope, grain, latest, label))
        section.blocks.append(funnel_block(scope, row, source, label))
        section.blocks.append(trend_block(scope, grain, rows, source, latest))
        section.blocks.append(cycle_block(scope, latest, end, label))
        section.blocks.append(sla_block(scope, grain, latest, end, label))
        section.blocks.append(cost_block(scope, grain, latest, end, label))
        section.blocks.append(lost_reasons_block(scope, grain, latest, end, label))
        section.blocks.append(showroom_block(scope, grain, latest, end, label))
        if grain != "week":  # targets are monthly; the ranking is per month, quarter and year
            section.blocks.append(targets_block(scope, grain, latest, label))
            section.blocks.append(headline_ranking_block(scope, grain, latest, label))
            if not scope.dealer_code:
                section.blocks.append(win_rate_change_block(scope, grain, latest, label))
        sections.append(section)
    return sections


# -- rendering ----------------------------------------------------------------------------------


def environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("dealerfunnel.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["figure_json"] = figure_json
    return env


def figure_json(spec: Spec) -> str:
    """The figure as JSON for a ``data-figure`` attribute (autoescaping makes it safe there)."""
    from plotly.io.json import to_json_plotly

    return to_json_plotly(spec)


def _write(path: Path, text: str) -> None:
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def copy_plotly_js(folder: Path) -> Path:
    """One ``plotly.min.js`` from the installed plotly package, next to the pages."""
    source = resources.files("plotly") / "package_data" / PLOTLY_JS
    target = folder / PLOTLY_JS
    with resources.as_file(source) as path:
        if not target.exists() or target.stat().st_size != path.stat().st_size:
            tmp = folder / f".{PLOTLY_JS}.tmp"
            shutil.copyfile(path, tmp)
            os.replace(tmp, target)
    return target


def render_pages(folder: Path, pages: list[Page], index: dict[str, Any]) -> Path:
    env = environment()
    folder.mkdir(parents=True, exist_ok=True)
    copy_plotly_js(folder)
    page_template = env.get_template("report.html.j2")
    for page in pages:
        _write(folder / page.filename, page_template.render(page=page, plotly_js=PLOTLY_JS))
    target = folder / "index.html"
    _write(target, env.get_template("index.html.j2").render(**index))
    return target


#: Connections the pages are read on: a page is some thirty small queries and the rendering of
#: their figures, so while one connection waits on the server another renders.
PAGE_WORKERS = 2


def write_reports(url: str, *, now: datetime | None = None, workers: int = PAGE_WORKERS) -> Path:
    """Write the report pages into ``reports_dir()`` from the marts at ``url``; return the
    index page's path. The dealers' pages are read on ``workers`` connections; the pages and
    the index are the same whatever their number."""
    from dealerfunnel.settings import reports_dir
    from dealerfunnel.warehouse.connection import connect

    started = time.monotonic()
    now = now or datetime.now(UTC)
    rules = load_threshold_rules()
    with connect(url) as conn:
        catalog = marts.read_catalog(conn)
        dealers: list[dict[str, Any]] = []
        if catalog.has(marts.DEALERS, "dealer_code", "dealer_name", "region", "brand", "timezone"):
            dealers = select(
                conn,
                marts.DEALERS,
                ["dealer_code", "dealer_name", "region", "brand", "timezone"],
                order_by=["dealer_code"],
            )
        names = {d["dealer_code"]: d for d in dealers}
        local = threading.local()

        def dealer_page(dealer: dict[str, Any], connections: ExitStack) -> Page:
            if not hasattr(local, "conn"):  # one connection per worker thread
                with opening:
                    local.conn = connections.enter_context(connect(url))
            scope = Scope(
                local.conn,
                catalog,
                rules,
                local_today(dealer["timezone"], now),
                dealer["dealer_code"],
                names,
            )
            return Page(
                page_filename(dealer["dealer_code"]),
                f"{dealer['dealer_name']} ({dealer['dealer_code']})",
                f"{dealer['region']} · {dealer['brand']} · periods in {dealer['timezone']}",
                build_sections(scope),
            )

        opening = threading.Lock()
        # the pool is shut down (its threads done) before their connections are closed
        with ExitStack() as connections, ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            pages = list(pool.map(lambda d: dealer_page(d, connections), dealers))
        # the group: a period is complete once it is over for every dealer
        group_today = min((local_today(d["timezone"], now) for d in dealers), default=now.date())
        group = Scope(conn, catalog, rules, group_today, None, names)
        group_page = Page(
            "group.html",
            "Dealer group",
            f"{len(dealers)} dealers · every channel",
            build_sections(group),
        )
    index = {
        "generated_at": now.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "dealers": [{**d, "href": page_filename(d["dealer_code"])} for d in dealers],
        "group": group_page,
        "missing": not catalog.columns,
    }
    target = render_pages(reports_dir(), [*pages, group_page], index)
    log.info(
        "report pages: %d dealers + group written to %s in %.1fs",
        len(pages),
        target.parent,
        time.monotonic() - started,
    )
    return target

"""Human-readable summaries: the load report and the funnel printed at the end of a run."""

from __future__ import annotations

import logging
from typing import Any

from dealerfunnel.warehouse.connection import connect

log = logging.getLogger(__name__)

STAGES = ("potential", "interested", "needs_defined", "decision", "won", "lost")
RATES = (
    ("p->i", "rate_potential_to_interested"),
    ("i->n", "rate_interested_to_needs_defined"),
    ("n->d", "rate_needs_defined_to_decision"),
    ("d->w", "rate_decision_to_won"),
    ("lead->won", "rate_lead_to_won"),
)


def summarise_load(report: dict[str, Any]) -> dict[str, Any]:
    """Log the landing report's totals, unregistered and failed dealers; return them."""
    totals = report.get("totals", {})
    log.info("landing totals: %s", totals)
    for dealer in report.get("unregistered_dealers", []):
        log.warning(
            "dealer folder %r is not in config/dealers.yml: loaded and registered with defaults",
            dealer,
        )
    failed = report.get("failed_dealers", [])
    if failed:
        log.error("dealer folders that failed to load (see load_dealer_folder): %s", failed)
    return {
        "totals": totals,
        "unregistered_dealers": report.get("unregistered_dealers", []),
        "failed_dealers": failed,
    }


def last_weeks_funnel(url: str, weeks: int = 4) -> list[dict[str, Any]]:
    """Per dealer, the last ``weeks`` weekly cohorts from ``marts.mart_funnel_monitoring``.

    All channels together, counts, rates and maturity flags as dbt published them: nothing is
    recomputed here.
    """
    maturity = ", ".join(f"is_{col.removeprefix('rate_')}_mature" for _, col in RATES)
    with connect(url) as conn:
        cur = conn.execute(
            f"""
            with ranked as (
                select *, row_number() over (
                    partition by dealer_code order by period_start desc) as recency
                from marts.mart_funnel_monitoring
                where period_grain = 'week'
            )
            select dealer_code, period_start,
                {", ".join(f"leads_{s}" for s in STAGES)},
                {", ".join(col for _, col in RATES)},
                cohort_age_days, is_period_complete, is_mature, {maturity}
            from ranked where recency <= %s order by dealer_code, period_start
            """,
            (weeks,),
        )
        names = [c.name for c in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


LEGEND = (
    "cohort = leads created in the week; age = days since the week ended. "
    "open = the week is not over; young = over, but not every rate is mature yet; "
    "(12.0%) = a rate too young to judge (provisional); - = no denominator."
)


def _status(row: dict[str, Any]) -> str:
    if not row["is_period_complete"]:
        return "open"
    return "mature" if row["is_mature"] else "young"


def _rate_cell(row: dict[str, Any], column: str) -> str:
    value = row[column]
    if value is None:
        return "-"
    text = f"{float(value):.1%}"
    return text if row[f"is_{column.removeprefix('rate_')}_mature"] else f"({text})"


def format_funnel(rows: list[dict[str, Any]]) -> str:
    """The weekly cohorts as a table: counts, rates (immature ones in brackets), status, legend."""
    header = (
        f"{'dealer':<7} {'week':<10} {'status':<6} {'age':>4} "
        + " ".join(f"{s[:9]:>9}" for s in STAGES)
        + " "
        + " ".join(f"{label:>9}" for label, _ in RATES)
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        rates = " ".join(f"{_rate_cell(row, col):>9}" for _, col in RATES)
        lines.append(
            f"{row['dealer_code']:<7} {row['period_start'].isoformat():<10} "
            f"{_status(row):<6} {int(row['cohort_age_days']):>4} "
            + " ".join(f"{int(row['leads_' + s]):>9}" for s in STAGES)
            + " "
            + rates
        )
    lines.append(LEGEND)
    return "\n".join(lines)

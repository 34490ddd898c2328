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
    """Log the landing report's totals and unregistered dealers; return the totals."""
    totals = report.get("totals", {})
    log.info("landing totals: %s", totals)
    for dealer in report.get("unregistered_dealers", []):
        log.warning(
            "dealer folder %r is not in config/dealers.yml: loaded and registered with defaults",
            dealer,
        )
    return {"totals": totals, "unregistered_dealers": report.get("unregistered_dealers", [])}


def last_weeks_funnel(url: str, weeks: int = 4) -> list[dict[str, Any]]:
    """Per dealer, the last ``weeks`` weekly cohorts, all channels summed, rates recomputed."""
    counts = ", ".join(f"sum(leads_{s}) as leads_{s}" for s in STAGES)
    with connect(url) as conn:
        cur = conn.execute(
            f"""
            with weekly as (
                select dealer_code, period_start, {counts}
                from marts.mart_funnel_conversion
                where period_grain = 'week'
                group by dealer_code, period_start
            ),
            ranked as (
                select *, row_number() over (
                    partition by dealer_code order by period_start desc) as recency
                from weekly
            )
            select * from ranked where recency <= %s order by dealer_code, period_start
            """,
            (weeks,),
        )
        names = [c.name for c in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    pairs = {
        "rate_potential_to_interested": ("leads_interested", "leads_potential"),
        "rate_interested_to_needs_defined": ("leads_needs_defined", "leads_interested"),
        "rate_needs_defined_to_decision": ("leads_decision", "leads_needs_defined"),
        "rate_decision_to_won": ("leads_won", "leads_decision"),
        "rate_lead_to_won": ("leads_won", "leads_potential"),
    }
    for row in rows:
        for rate, (num, den) in pairs.items():
            row[rate] = (row[num] / row[den]) if row[den] else None
    return rows


def format_funnel(rows: list[dict[str, Any]]) -> str:
    header = (
        f"{'dealer':<7} {'week':<10} "
        + " ".join(f"{s[:9]:>9}" for s in STAGES)
        + " "
        + " ".join(f"{label:>9}" for label, _ in RATES)
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        rates = " ".join(
            f"{'-' if row[col] is None else f'{float(row[col]):.1%}':>9}" for _, col in RATES
        )
        lines.append(
            f"{row['dealer_code']:<7} {row['period_start'].isoformat():<10} "
            + " ".join(f"{int(row['leads_' + s]):>9}" for s in STAGES)
            + " "
            + rates
        )
    return "\n".join(lines)

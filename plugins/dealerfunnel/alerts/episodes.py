"""Evaluate threshold rules on ``marts.mart_funnel_conversion`` and keep alert episodes.

For each rule and dealer, the metric is computed per complete period (a period is complete
when it ended on or before ``as_of``), summing every channel. The rule breaches when each of
the last ``consecutive_periods`` periods breaches. Periods whose denominator is below
``min_denominator`` are not judged (no breach, no recovery).

Episodes (one row per episode in ``ops.alerts``):

- breach and no open episode: a new ``open`` row (fired once);
- breach and an open episode: ``last_seen_at``/``observed`` updated, no new notification;
- no breach and an open episode: ``resolved`` with ``resolved_at``.

Only episodes with ``notified_at`` NULL are handed to the notifier, so a re-run never
re-notifies, and an alert whose delivery failed is retried on the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from dealerfunnel.alerts.rules import FUNNEL_METRICS, Rule
from dealerfunnel.warehouse.connection import connect

log = logging.getLogger(__name__)

PERIOD_LENGTH = {"week": "7 days", "month": "1 month", "quarter": "3 months"}


def period_values(conn, rule: Rule, as_of: datetime) -> dict[str, list[dict[str, Any]]]:
    """Per dealer, the complete periods of the rule's grain, newest first."""
    numerator, denominator = FUNNEL_METRICS[rule.metric]
    query = sql.SQL(
        """
        select dealer_code, period_start,
               sum({num})::numeric as num,
               {den_expr} as den
        from marts.mart_funnel_conversion
        where period_grain = %(grain)s
          and period_start + %(length)s::interval <= %(as_of)s::date
        group by dealer_code, period_start
        order by dealer_code, period_start desc
        """
    ).format(
        num=sql.Identifier(numerator),
        den_expr=sql.SQL("sum({})::numeric").format(sql.Identifier(denominator))
        if denominator
        else sql.SQL("null::numeric"),
    )
    rows = conn.execute(
        query,
        {"grain": rule.period_grain, "length": PERIOD_LENGTH[rule.period_grain], "as_of": as_of},
    ).fetchall()
    by_dealer: dict[str, list[dict[str, Any]]] = {}
    for dealer_code, period_start, num, den in rows:
        if denominator is None:
            value, judged = num, True
        else:
            value = (num / den) if den else None
            judged = den is not None and den >= rule.for_dealer(dealer_code).min_denominator
        by_dealer.setdefault(dealer_code, []).append(
            {"period_start": period_start, "value": value, "denominator": den, "judged": judged}
        )
    return by_dealer


def assess(rule: Rule, periods: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Decide breach / ok / undecided from a dealer's periods (newest first).

    Returns None when the latest periods cannot be judged (too few or too small), else a dict
    with ``breached``, the ``observed`` latest value and the streak's first ``period_start``.
    """
    window = periods[: rule.consecutive_periods]
    if len(window) < rule.consecutive_periods or not all(p["judged"] for p in window):
        return None
    breached = all(
        rule.breaches(float(p["value"]) if p["value"] is not None else None) for p in window
    )
    return {
        "breached": breached,
        "observed": window[0]["value"],
        "period_start": window[-1]["period_start"],
        "periods": [
            {"period_start": p["period_start"].isoformat(), "value": _num(p["value"])}
            for p in window
        ],
    }


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, Decimal | float | int) else None


Notifier = Callable[[dict[str, Any]], None]


def log_notifier(alert: dict[str, Any]) -> None:
    log.warning("ALERT %s", format_alert(alert))


def format_alert(alert: dict[str, Any]) -> str:
    observed = alert["observed"]
    shown = (
        f"{float(observed):.1%}"
        if observed is not None and alert["metric"].startswith("rate_")
        else observed
    )
    threshold = alert["threshold"]
    limit = f"{float(threshold):.1%}" if alert["metric"].startswith("rate_") else threshold
    return (
        f"[{alert['severity']}] {alert['rule']} at {alert['dealer_code']}: {alert['metric']} "
        f"= {shown} vs threshold {limit}, since period {alert['period_start']} "
        f"({alert['status']})"
    )


def evaluate_rules(
    url: str,
    rules: list[Rule],
    *,
    as_of: datetime | None = None,
    notifier: Notifier = log_notifier,
) -> dict[str, Any]:
    """Evaluate every rule, update episodes, notify new ones; return a summary for XCom."""
    as_of = as_of or datetime.now(UTC)
    now = datetime.now(UTC)
    summary = {"opened": [], "updated": [], "resolved": [], "notified": 0, "notify_failed": 0}
    with connect(url) as conn:
        conn.execute("select pg_advisory_xact_lock(hashtext('dealerfunnel.alerts'))")
        for rule in rules:
            for dealer_code, periods in period_values(conn, rule, as_of).items():
                dealer_rule = rule.for_dealer(dealer_code)
                verdict = assess(dealer_rule, periods)
                if verdict is None:
                    continue
                _apply(conn, dealer_rule, dealer_code, verdict, now, summary)
        conn.commit()
        pending = conn.execute(
            """
            select alert_id, rule, dealer_code, metric, period_start, observed, threshold,
                   severity, status, first_fired_at
            from ops.alerts where status = 'open' and notified_at is null
            order by alert_id
            """
        ).fetchall()
        columns = [
            "alert_id",
            "rule",
            "dealer_code",
            "metric",
            "period_start",
            "observed",
            "threshold",
            "severity",
            "status",
            "first_fired_at",
        ]
        for row in pending:
            alert = dict(zip(columns, row, strict=True))
            try:
                notifier(alert)
            except Exception:
                log.exception(
                    "notification of alert %s failed; retried next run", alert["alert_id"]
                )
                summary["notify_failed"] += 1
                continue
            conn.execute(
                "update ops.alerts set notified_at = %s where alert_id = %s",
                (datetime.now(UTC), alert["alert_id"]),
            )
            conn.commit()
            summary["notified"] += 1
    return summary


def _apply(conn, rule: Rule, dealer_code: str, verdict: dict, now: datetime, summary: dict) -> None:
    key = {"rule": rule.rule, "dealer_code": dealer_code, "metric": rule.metric}
    open_row = conn.execute(
        """select alert_id from ops.alerts
           where rule = %(rule)s and dealer_code = %(dealer_code)s and metric = %(metric)s
             and status = 'open'""",
        key,
    ).fetchone()
    detail = Jsonb(
        {
            "periods": verdict["periods"],
            "direction": rule.direction,
            "period_grain": rule.period_grain,
        }
    )
    if verdict["breached"] and open_row is None:
        conn.execute(
            """insert into ops.alerts (rule, dealer_code, metric, period_start, observed,
                   threshold, severity, status, first_fired_at, last_seen_at, detail)
               values (%(rule)s, %(dealer_code)s, %(metric)s, %(period_start)s, %(observed)s,
                   %(threshold)s, %(severity)s, 'open', %(now)s, %(now)s, %(detail)s)""",
            {
                **key,
                "period_start": verdict["period_start"],
                "observed": verdict["observed"],
                "threshold": rule.threshold,
                "severity": rule.severity,
                "now": now,
                "detail": detail,
            },
        )
        summary["opened"].append(f"{rule.rule}:{dealer_code}")
    elif verdict["breached"]:
        conn.execute(
            """update ops.alerts set last_seen_at = %s, observed = %s, detail = %s
               where alert_id = %s""",
            (now, verdict["observed"], detail, open_row[0]),
        )
        summary["updated"].append(f"{rule.rule}:{dealer_code}")
    elif open_row is not None:
        conn.execute(
            """update ops.alerts set status = 'resolved', resolved_at = %s, last_seen_at = %s,
                   observed = %s, detail = %s
               where alert_id = %s""",
            (now, now, verdict["observed"], detail, open_row[0]),
        )
        summary["resolved"].append(f"{rule.rule}:{dealer_code}")


def open_alerts(url: str) -> list[dict[str, Any]]:
    with connect(url) as conn:
        cur = conn.execute(
            """select rule, dealer_code, metric, period_start, observed, threshold, severity,
                      status, first_fired_at, last_seen_at, notified_at
               from ops.alerts where status = 'open' order by dealer_code, rule"""
        )
        names = [c.name for c in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


__all__ = ["assess", "evaluate_rules", "format_alert", "open_alerts", "period_values"]

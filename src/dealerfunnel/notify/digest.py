"""The weekly digest: each dealer's routed recipients get, once per week, the headline figures
of the latest complete week and the link to the dealer's report page.

Runs after the report pages are written (``funnel_transform``, task ``weekly_digests``). The
week is the latest week that is over in the dealer's local time, so the first run on or after a
Monday sends it; every later run of that week finds it sent and sends nothing. Each attempt is a
row of ``ops.report_digests``; a unique index allows one ``sent`` row per (dealer, week,
recipient channel), and a session advisory lock serialises concurrent runs, so re-runs never
re-send. What failed every try is retried on the next run, while that week is still the latest.

The figures are read from the published marts, never computed here (counts of consultants are
summed, nothing is divided): the week's cohort from ``mart_funnel_monitoring`` (leads created,
won so far, the five rates and their maturity), wins in the week from ``mart_funnel_activity``,
SLA checks due and met from ``mart_sla_compliance``. The recipients are those of the routes
that ask for ``rule_type: weekly_digest`` (:meth:`NotificationConfig.digest_channels`); each
channel is the same Airflow notifier as the episode notices, with the same retries
(:func:`dealerfunnel.notify.delivery.send_with_retries`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dealerfunnel.notify.config import NotificationConfig, load_notifications
from dealerfunnel.notify.delivery import delivery_target, send_with_retries
from dealerfunnel.notify.message import build_digest_message
from dealerfunnel.reports import marts
from dealerfunnel.reports.periods import latest_calendar_complete

log = logging.getLogger(__name__)

LOCK = "dealerfunnel.report_digests"
DEALER_COLUMNS = ("dealer_code", "dealer_name", "timezone")


def digest_week(timezone: str | None, now: datetime) -> date:
    """The Monday of the latest week that is over in the dealer's local time on ``now``."""
    from dealerfunnel.reports.pages import local_today

    return latest_calendar_complete("week", local_today(timezone, now))


def _maturity(row: dict[str, Any], rate: str) -> bool | None:
    """Whether the cohort's ``rate`` is final: the period is over and the mart says it is mature
    (``is_<rate>_mature``, else ``is_mature``); None when the mart publishes no maturity."""
    if row.get("is_period_complete") is False:
        return False
    flag = row.get(marts.rate_maturity_column(rate))
    return row.get("is_mature") if flag is None else flag


def week_figures(conn, catalog: marts.Catalog, dealer: dict[str, Any], week: date) -> dict:
    """The headline figures of ``dealer``'s ``week`` as the marts publish them."""
    from dealerfunnel.reports.pages import SLA_COUNTS

    code = dealer["dealer_code"]
    figures: dict[str, Any] = {
        **dealer,
        "week_start": week,
        "week_end": week + timedelta(days=6),
        "rates": [],
    }
    cohort = ("dealer_code", "period_grain", "period_start", "leads_potential", "leads_won")
    if catalog.has(marts.MONITORING, *cohort):
        rates = catalog.present(marts.MONITORING, marts.RATES)
        rows = marts.select(
            conn,
            marts.MONITORING,
            [*cohort[3:], *rates, *catalog.present(marts.MONITORING, marts.MATURITY)],
            equal={"dealer_code": code, "period_grain": "week", "period_start": week},
        )
        row = rows[0] if rows else {}
        figures["leads"] = int(row.get("leads_potential") or 0)
        figures["won"] = int(row.get("leads_won") or 0)
        figures["rates"] = [
            (marts.RATE_LABELS[rate], row.get(rate), _maturity(row, rate)) for rate in rates if row
        ]
    activity = "mart_funnel_activity"
    if catalog.has(activity, "dealer_code", "period_grain", "period_start", "won_in_period"):
        (total,) = marts.select_totals(
            conn,
            activity,
            [],
            ["won_in_period"],
            equal={"dealer_code": code, "period_grain": "week", "period_start": week},
        )
        figures["won_in_period"] = int(total["won_in_period"] or 0)
    pairs = [p for p in SLA_COUNTS if catalog.has(marts.SLA, "dealer_code", "week_start", *p[1:])]
    if pairs:
        (total,) = marts.select_totals(
            conn,
            marts.SLA,
            [],
            [column for _, due, met in pairs for column in (due, met)],
            equal={"dealer_code": code, "week_start": week},
        )
        figures["sla"] = [
            (f"{label[0].upper()}{label[1:]} SLA", int(total[met] or 0), int(total[due] or 0))
            for label, due, met in pairs
        ]
    return figures


def deliver_weekly_digests(
    url: str,
    config: NotificationConfig | None = None,
    *,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Send every dealer's digest of its latest complete week to each routed recipient channel
    that has not had it yet; return counts (sent, failed attempts, still pending)."""
    from dealerfunnel.warehouse.connection import connect

    config = config or load_notifications()
    now = now or datetime.now(UTC)
    summary: dict[str, Any] = {"sent": 0, "failed_attempts": 0, "pending": 0, "sent_to": []}
    with connect(url, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(hashtext(%s))", (LOCK,))
        try:
            _deliver(conn, config, now, summary, sleep)
        finally:
            conn.execute("select pg_advisory_unlock(hashtext(%s))", (LOCK,))
    if summary["pending"]:
        log.warning(
            "%d weekly digest(s) not delivered this run; retried on the next run",
            summary["pending"],
        )
    return summary


def _deliver(conn, config: NotificationConfig, now: datetime, summary: dict, sleep) -> None:
    catalog = marts.read_catalog(conn)
    if not catalog.has(marts.DEALERS, *DEALER_COLUMNS):
        log.info("no weekly digest: marts.%s is not built", marts.DEALERS)
        return
    dealers = marts.select(conn, marts.DEALERS, DEALER_COLUMNS, order_by=["dealer_code"])
    attempts: dict[tuple[str, date, str], int] = {}
    sent: set[tuple[str, date, str]] = set()
    for code, week, recipient, status, n in conn.execute(
        """select dealer_code, week_start, recipient, status, count(*) from ops.report_digests
           group by 1, 2, 3, 4"""
    ).fetchall():
        attempts[(code, week, recipient)] = attempts.get((code, week, recipient), 0) + n
        if status == "sent":
            sent.add((code, week, recipient))
    down: set[str] = set()
    for dealer in dealers:
        code = dealer["dealer_code"]
        week = digest_week(dealer["timezone"], now)
        owed = [ch for ch in config.digest_channels(code) if (code, week, ch.key) not in sent]
        if not owed:
            continue
        figures = week_figures(conn, catalog, dealer, week)
        for channel in owed:
            if delivery_target(channel) in down:
                summary["pending"] += 1
                continue
            key = (code, week, channel.key)
            message = build_digest_message(
                figures, recipient=channel.key, reports_base_url=config.reports_base_url
            )

            def failed(error: str, key=key, channel=channel) -> None:
                attempts[key] = attempts.get(key, 0) + 1
                summary["failed_attempts"] += 1
                _record(conn, key, channel, attempts[key], "failed", error)
                log.warning(
                    "weekly digest of %s (week %s) to %s failed (attempt %d): %s",
                    *key,
                    attempts[key],
                    error,
                )

            if send_with_retries(channel, message, config.retry, sleep=sleep, failed=failed):
                attempts[key] = attempts.get(key, 0) + 1
                _record(conn, key, channel, attempts[key], "sent")
                sent.add(key)
                summary["sent"] += 1
                summary["sent_to"].append(f"{code}:{week}:{channel.key}")
                log.info("weekly digest of %s (week %s) sent to %s", *key)
            else:
                down.add(delivery_target(channel))
                summary["pending"] += 1


def _record(conn, key, channel, attempt: int, status: str, error: str | None = None) -> None:
    code, week, recipient = key
    conn.execute(
        """insert into ops.report_digests (dealer_code, week_start, channel, recipient, attempt,
               status, error) values (%s, %s, %s, %s, %s, %s, %s)""",
        (code, week, channel.type, recipient, attempt, status, error),
    )

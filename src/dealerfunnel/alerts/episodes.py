"""Evaluate alert rules and keep alert episodes in ``ops.alerts``.

Each rule type has an evaluator (:mod:`.evaluators`) that returns verdicts per dealer and
subject (e.g. ``channel=meta``). Episodes, one row per episode, keyed by (rule, dealer_code,
metric, subject):

- breach and no open episode: a new ``open`` row (fired once). When an earlier episode of
  the same key was notified less than ``suppression_hours`` ago, the new one is recorded
  with ``suppressed = true`` and never notified (nor its recovery);
- breach and an open episode: ``last_seen_at``/``observed`` updated, no new notification;
- no breach and an open episode: ``resolved`` with ``resolved_at``; a recovery notice is due.

Notifications are then delivered by :func:`dealerfunnel.notify.delivery.deliver_pending`:
once per (episode, recipient, kind), every attempt recorded in ``ops.alert_deliveries``,
undelivered ones retried on the next run.

A rule whose source is missing (e.g. ``mart_sla_compliance`` before it is built) is skipped
and listed in the summary's ``skipped``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from dealerfunnel.alerts.evaluators import (
    EVALUATORS,
    SourceMissing,
    Verdict,
    assess,
    jsonable,
    period_series,
)
from dealerfunnel.alerts.rules import Rule
from dealerfunnel.warehouse.connection import connect

log = logging.getLogger(__name__)

ALERTS_LOCK = "select pg_advisory_xact_lock(hashtext('dealerfunnel.alerts'))"


@dataclass
class EvaluationReport:
    """What one evaluation did: episode labels (``rule:dealer[:subject]``) per outcome."""

    opened: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    suppressed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    delivery: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON-serialisable summary a DAG task returns (``delivery`` when delivered)."""
        out: dict[str, Any] = {
            "opened": list(self.opened),
            "updated": list(self.updated),
            "resolved": list(self.resolved),
            "suppressed": list(self.suppressed),
            "skipped": list(self.skipped),
        }
        if self.delivery is not None:
            out["delivery"] = self.delivery
        return out


def evaluate_rules(
    url: str,
    rules: list[Rule],
    *,
    as_of: datetime | None = None,
    types: tuple[str, ...] | None = None,
    deliver: bool = True,
    notifications=None,
    run: dict[str, str] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Evaluate the rules (of ``types``, default all), update episodes, deliver notices.

    ``run`` (``{"dag_id", "run_id"}``) is stored with the episode for the message's link.
    Returns :meth:`EvaluationReport.as_dict` (a summary for XCom).
    """
    as_of = as_of or datetime.now(UTC)
    now = now or datetime.now(UTC)
    report = EvaluationReport()
    with connect(url) as conn:
        conn.execute(ALERTS_LOCK)
        for rule in rules:
            if types is None or rule.type in types:
                _evaluate_rule(conn, rule, as_of, now, report, run)
        conn.commit()
    if deliver:
        from dealerfunnel.notify.delivery import deliver_pending

        report.delivery = deliver_pending(url, notifications, now=now)
    summary = report.as_dict()
    log.info("alert evaluation: %s", {k: v for k, v in summary.items() if v})
    return summary


def _evaluate_rule(conn, rule: Rule, as_of, now, report: EvaluationReport, run) -> None:
    try:
        with conn.transaction():
            verdicts = EVALUATORS[rule.type](conn, rule, as_of)
    except SourceMissing as exc:
        log.warning("alert rule %s skipped: %s", rule.rule, exc)
        report.skipped.append(f"{rule.rule}: {exc}")
        return
    for verdict in verdicts:
        _apply(conn, rule, verdict, now, report, run)


def _detail(rule: Rule, verdict: Verdict, run: dict[str, str] | None) -> Jsonb:
    detail = dict(verdict.detail)
    if rule.description:
        detail.setdefault("description", rule.description)
    if run:
        detail["run"] = run
    return Jsonb(jsonable(detail))


def _apply(
    conn,
    rule: Rule,
    verdict: Verdict,
    now: datetime,
    report: EvaluationReport,
    run: dict[str, str] | None,
) -> None:
    dealer_code = verdict.dealer_code
    dealer_rule = rule.for_dealer(dealer_code) if dealer_code != "*" else rule
    key = {
        "rule": rule.rule,
        "dealer_code": dealer_code,
        "metric": verdict.metric,
        "subject": verdict.subject or "",
    }
    label = f"{rule.rule}:{dealer_code}" + (f":{key['subject']}" if key["subject"] else "")
    open_row = conn.execute(
        """select alert_id, suppressed from ops.alerts
           where rule = %(rule)s and dealer_code = %(dealer_code)s and metric = %(metric)s
             and subject = %(subject)s and status = 'open'""",
        key,
    ).fetchone()
    detail = _detail(rule, verdict, run)
    if verdict.breached and open_row is None:
        suppressed = _open_episode(conn, rule, dealer_rule, verdict, key, detail, now)
        (report.suppressed if suppressed else report.opened).append(label)
    elif verdict.breached:
        conn.execute(
            """update ops.alerts set last_seen_at = %s, observed = %s, threshold = %s,
                   detail = %s where alert_id = %s""",
            (now, verdict.observed, verdict.threshold, detail, open_row[0]),
        )
        report.updated.append(label)
    elif open_row is not None:
        conn.execute(
            """update ops.alerts set status = 'resolved', resolved_at = %s, last_seen_at = %s,
                   observed = %s, detail = detail || %s, deliveries_done = suppressed
               where alert_id = %s""",
            (now, now, verdict.observed, detail, open_row[0]),
        )
        report.resolved.append(label)


def _open_episode(conn, rule, dealer_rule, verdict: Verdict, key, detail, now) -> bool:
    """Insert a new open episode; True when it is suppressed (notified too recently)."""
    last_notified = conn.execute(
        """select max(notified_at) from ops.alerts
           where rule = %(rule)s and dealer_code = %(dealer_code)s
             and metric = %(metric)s and subject = %(subject)s""",
        key,
    ).fetchone()[0]
    window = timedelta(hours=dealer_rule.suppression_hours)
    suppressed = last_notified is not None and now - last_notified < window
    conn.execute(
        """insert into ops.alerts (rule, rule_type, dealer_code, metric, subject,
               period_start, observed, threshold, severity, status, first_fired_at,
               last_seen_at, detail, suppressed, deliveries_done)
           values (%(rule)s, %(rule_type)s, %(dealer_code)s, %(metric)s, %(subject)s,
               %(period_start)s, %(observed)s, %(threshold)s, %(severity)s, 'open',
               %(now)s, %(now)s, %(detail)s, %(suppressed)s, %(suppressed)s)""",
        {
            **key,
            "rule_type": rule.type,
            "period_start": verdict.period_start,
            "observed": verdict.observed,
            "threshold": verdict.threshold,
            "severity": verdict.severity or dealer_rule.severity,
            "now": now,
            "detail": detail,
            "suppressed": suppressed,
        },
    )
    return suppressed


def open_alerts(url: str) -> list[dict[str, Any]]:
    with connect(url) as conn:
        cur = conn.execute(
            """select alert_id, rule, rule_type, dealer_code, metric, subject, period_start,
                      observed, threshold, severity, status, first_fired_at, last_seen_at,
                      notified_at, detail
               from ops.alerts where status = 'open' order by dealer_code, rule, subject"""
        )
        names = [c.name for c in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def format_alert(alert: dict[str, Any]) -> str:
    """One line: ``[critical] rule at GZ001 (channel=meta): metric = 20.0% vs ...``."""
    from dealerfunnel.notify.message import format_value

    detail = alert.get("detail") or {}
    metric = detail.get("check_name") or alert["metric"]
    where = alert["dealer_code"] + (f" ({alert['subject']})" if alert.get("subject") else "")
    if alert.get("threshold") is None:  # a failed check: its threshold is "must pass"
        judged = f"= {detail.get('observed_text') or 'failed'} (the check must pass)"
    else:
        judged = (
            f"= {format_value(alert, alert.get('observed'))} vs threshold "
            f"{format_value(alert, alert.get('threshold'))}"
        )
    source = f"; open {detail['source']}" if detail.get("source") else ""
    return (
        f"[{alert['severity']}] {alert['rule']} at {where}: {metric} {judged},"
        f" since {alert['period_start']} ({alert['status']}){source}"
    )


__all__ = [
    "EvaluationReport",
    "assess",
    "evaluate_rules",
    "format_alert",
    "open_alerts",
    "period_series",
]

"""Deliver episode notices exactly once per (episode, recipient channel, kind).

Pending work is derived from the database, not from memory: an episode that is not
``deliveries_done`` (and not suppressed) owes a ``notify`` to every channel its routes
select, and, once resolved, a ``recovery`` to each of them (after their ``notify``).
Every attempt is a row in ``ops.alert_deliveries`` (``sent`` or ``failed`` with the error);
a unique index allows one ``sent`` row per (alert, recipient, kind), so a re-run never
re-sends. Within a run each delivery is tried ``retry.attempts`` times with exponential
backoff; a target (Connection) that failed every attempt is not tried again in the same run,
and whatever is still owed is retried on the next run. A session advisory lock serialises
concurrent deliverers (the transform and alert DAGs).

Receivers see a ``dedup_key`` (``<alert_id>:<recipient>:<kind>``) in every message: a crash
between a receiver's acceptance and the ``sent`` row could repeat one message, which the
receiver can drop by that key.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from dealerfunnel.notify.channels import ConnectionMissing, DeliveryError, send
from dealerfunnel.notify.config import Channel, NotificationConfig, load_notifications
from dealerfunnel.notify.message import build_message
from dealerfunnel.warehouse.connection import connect

log = logging.getLogger(__name__)

ALERT_COLUMNS = (
    "alert_id, rule, rule_type, dealer_code, metric, subject, period_start, observed,"
    " threshold, severity, status, first_fired_at, last_seen_at, resolved_at, notified_at,"
    " detail"
)


def delivery_target(channel: Channel) -> str:
    """The Connection (or outbox file) a channel sends through: one that failed every try is
    not tried again in the same run."""
    return f"{channel.type}:{channel.conn_id or channel.path}"


def deliver_pending(
    url: str,
    config: NotificationConfig | None = None,
    *,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Send every owed notice; return counts (sent, failed attempts, still pending)."""
    config = config or load_notifications()
    summary: dict[str, Any] = {"sent": 0, "failed_attempts": 0, "pending": 0, "sent_to": []}
    with connect(url, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(hashtext('dealerfunnel.deliveries'))")
        try:
            _deliver(conn, config, summary, sleep)
        finally:
            conn.execute("select pg_advisory_unlock(hashtext('dealerfunnel.deliveries'))")
    if summary["pending"]:
        log.warning(
            "%d notification(s) not delivered this run; retried on the next run",
            summary["pending"],
        )
    return summary


def _deliver(conn, config: NotificationConfig, summary: dict, sleep) -> None:
    cur = conn.execute(
        f"select {ALERT_COLUMNS} from ops.alerts"
        " where not deliveries_done and not suppressed order by alert_id"
    )
    names = [c.name for c in cur.description]
    alerts = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    if not alerts:
        return
    ids = [a["alert_id"] for a in alerts]
    sent: set[tuple[int, str, str]] = set()
    attempts: dict[tuple[int, str, str], int] = {}
    for alert_id, recipient, kind, status, n in conn.execute(
        """select alert_id, recipient, kind, status, count(*) from ops.alert_deliveries
           where alert_id = any(%s) group by 1, 2, 3, 4""",
        (ids,),
    ).fetchall():
        key = (alert_id, recipient, kind)
        attempts[key] = attempts.get(key, 0) + n
        if status == "sent":
            sent.add(key)
    docs = config.data_docs_url
    if not docs:
        row = conn.execute(
            "select data_docs_url from ops.quality_runs where data_docs_url is not null"
            " order by quality_run_id desc limit 1"
        ).fetchone()
        docs = row[0] if row else None
    down: set[str] = set()
    for alert in alerts:
        complete = True
        for channel in config.channels_for(alert):
            kinds = ["notify"] + (["recovery"] if alert["status"] == "resolved" else [])
            for kind in kinds:
                key = (alert["alert_id"], channel.key, kind)
                if key in sent:
                    continue
                if delivery_target(channel) in down:
                    complete = False
                    summary["pending"] += 1
                    break
                message = build_message(
                    alert,
                    kind,
                    airflow_base_url=config.airflow_base_url,
                    data_docs_url=docs,
                    recipient=channel.key,
                    reports_base_url=config.reports_base_url,
                )
                if _attempt(conn, config, channel, alert, kind, message, attempts, summary, sleep):
                    sent.add(key)
                    summary["sent"] += 1
                    summary["sent_to"].append(f"{alert['alert_id']}:{channel.key}:{kind}")
                    if kind == "notify" and alert["notified_at"] is None:
                        alert["notified_at"] = datetime.now(UTC)
                        conn.execute(
                            "update ops.alerts set notified_at = %s where alert_id = %s",
                            (alert["notified_at"], alert["alert_id"]),
                        )
                else:
                    down.add(delivery_target(channel))
                    complete = False
                    summary["pending"] += 1
                    break  # no recovery before its notice
        if complete and alert["status"] == "resolved":
            conn.execute(
                "update ops.alerts set deliveries_done = true where alert_id = %s",
                (alert["alert_id"],),
            )


def send_with_retries(
    channel: Channel,
    message,
    retry,
    *,
    sleep: Callable[[float], None] = time.sleep,
    failed: Callable[[str], None],
) -> bool:
    """Send ``message`` through ``channel``, up to ``retry.attempts`` tries with exponential
    backoff; ``failed(error)`` is called for every failed try (to record it). True once sent.
    A Connection that is not defined is not retried within the run (the next run tries again).
    The one retry loop of every delivery (episode notices, weekly digests)."""
    for i in range(retry.attempts):
        try:
            send(channel, message, timeout=retry.timeout_seconds)
        except DeliveryError as exc:
            failed(str(exc)[:1000])
            if isinstance(exc, ConnectionMissing):
                return False
            if i + 1 < retry.attempts:
                sleep(min(retry.backoff_seconds * 2**i, retry.max_backoff_seconds))
            continue
        return True
    return False


def _attempt(conn, config, channel, alert, kind, message, attempts, summary, sleep) -> bool:
    key = (alert["alert_id"], channel.key, kind)

    def failed(error: str) -> None:
        attempts[key] = attempts.get(key, 0) + 1
        summary["failed_attempts"] += 1
        conn.execute(
            """insert into ops.alert_deliveries (alert_id, channel, recipient, kind, attempt,
                   status, error) values (%s, %s, %s, %s, %s, 'failed', %s)""",
            (alert["alert_id"], channel.type, channel.key, kind, attempts[key], error),
        )
        log.warning(
            "delivery of alert %s (%s) to %s failed (attempt %d): %s",
            alert["alert_id"],
            kind,
            channel.key,
            attempts[key],
            error,
        )

    if not send_with_retries(channel, message, config.retry, sleep=sleep, failed=failed):
        return False
    attempts[key] = attempts.get(key, 0) + 1
    conn.execute(
        """insert into ops.alert_deliveries (alert_id, channel, recipient, kind, attempt,
               status) values (%s, %s, %s, %s, %s, 'sent')""",
        (alert["alert_id"], channel.type, channel.key, kind, attempts[key]),
    )
    log.info("alert %s (%s) delivered to %s", alert["alert_id"], kind, channel.key)
    return True


def delivery_report(url: str) -> list[dict[str, Any]]:
    """Every delivery attempt, oldest first (for reports and tests)."""
    with connect(url) as conn:
        cur = conn.execute(
            """select d.alert_id, a.rule, a.dealer_code, a.subject, d.channel, d.recipient,
                      d.kind, d.attempt, d.status, d.error, d.attempted_at
               from ops.alert_deliveries d join ops.alerts a using (alert_id)
               order by d.delivery_id"""
        )
        names = [c.name for c in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

"""Shared set-up of the alert and notification tests (e2e, integration and unit).

Tests import it by module name: pytest puts this folder on sys.path for tests/conftest.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import psycopg

from dealerfunnel_demo.receivers import SmtpReceiver, WebhookReceiver

WEEKS = [date(2026, 10, 5) + timedelta(weeks=i) for i in range(4)]  # Mondays
AS_OF = datetime(2026, 11, 2, tzinfo=UTC)  # the 4 weeks are complete

# The critical potential -> interested rule: below 35 % two weeks running, judged from 10 leads.
P2I_LOW = {
    "rule": "p2i_low",
    "metric": "rate_potential_to_interested",
    "direction": "below",
    "threshold": 0.35,
    "consecutive_periods": 2,
    "min_denominator": 10,
    "severity": "critical",
}


@contextmanager
def local_receivers(
    monkeypatch, http: dict[str, dict], smtp_conn_id: str
) -> Iterator[tuple[WebhookReceiver, SmtpReceiver]]:
    """A local webhook receiver and a local SMTP server, running while the block runs, and the
    Airflow connections (AIRFLOW_CONN_<ID>) that reach them: ``http`` maps a conn_id to its
    http connection fields, ``host`` being a path on the webhook receiver; ``smtp_conn_id`` is the
    SMTP connection (plain text, no retries). Yields (webhook receiver, SMTP receiver)."""
    web, smtp = WebhookReceiver().start(), SmtpReceiver().start()
    conns = {
        conn_id: {"conn_type": "http", **fields, "host": f"{web.url}{fields['host']}"}
        for conn_id, fields in http.items()
    }
    conns[smtp_conn_id] = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": smtp.port,
        "extra": {"disable_tls": True, "disable_ssl": True, "retry_limit": 0},
    }
    for conn_id, value in conns.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(value))
    yield web, smtp
    web.stop()
    smtp.stop()


@contextmanager
def empty_funnel_mart(url: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to the database, marts.mart_funnel_conversion just re-created
    empty with the grain and the stage counts only (what the alert rules read)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema if not exists marts")
        conn.execute("drop table if exists marts.mart_funnel_conversion")
        conn.execute(
            """create table marts.mart_funnel_conversion (
                dealer_code text, channel text, period_grain text, period_start date,
                leads_potential int, leads_interested int, leads_needs_defined int,
                leads_decision int, leads_won int, leads_lost int)"""
        )
        yield conn

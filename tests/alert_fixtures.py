"""Shared set-up of the alert and notification tests (e2e, integration and unit).

Tests import it by module name: pytest puts this folder on sys.path for tests/conftest.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from dealerfunnel_demo.receivers import SmtpReceiver, WebhookReceiver


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


def p2i_rule(**changes) -> dict:
    """The policy's canonical rule (potential -> interested below 35 % two weeks in a row) as
    alert_rules.yml writes it, with ``changes``."""
    return {
        "rule": "p2i_low",
        "metric": "rate_potential_to_interested",
        "direction": "below",
        "threshold": 0.35,
        "consecutive_periods": 2,
        **changes,
    }

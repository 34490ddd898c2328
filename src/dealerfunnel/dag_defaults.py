"""Defaults shared by every DAG: owner, retries and retry delay, start date.

``DEALERFUNNEL_RETRY_DELAY_SECONDS`` shortens the retry delay for local runs (``make demo``,
the tests), where ``dag.test()`` would otherwise sleep through production delays. Retries
themselves are never switched off.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum

from dealerfunnel.settings import DEFAULT_TIMEZONE

START_DATE = pendulum.datetime(2026, 1, 1, tz=DEFAULT_TIMEZONE)


def default_args(*, retries: int = 2, retry_delay: timedelta = timedelta(minutes=2)) -> dict:
    override = os.environ.get("DEALERFUNNEL_RETRY_DELAY_SECONDS")
    if override:
        retry_delay = timedelta(seconds=float(override))
    return {
        "owner": "data-engineering",
        "retries": retries,
        "retry_delay": retry_delay,
        "retry_exponential_backoff": True,
        "max_retry_delay": max(retry_delay, timedelta(minutes=30)) if not override else retry_delay,
    }

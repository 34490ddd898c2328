"""An Airflow notifier (``BaseNotifier``) that routes to the configured recipients, for DAG/task
callbacks: each recipient channel is itself a notifier (:mod:`dealerfunnel.notify.channels`).

``on_failure_callback=ChannelNotifier()`` tells the ``pipeline_failures`` recipients of
``config/notifications.yml`` that a run failed (e.g. a blocking quality gate), with a link to
the run. Callbacks are best effort: each channel is tried with the configured retries and a
failure is logged, never raised (episode notices, which must not be lost, go through
:mod:`dealerfunnel.notify.delivery` instead). Importing this module is cheap (DAG parsing).
"""

from __future__ import annotations

import logging
import time
from urllib.parse import quote

from airflow.sdk import BaseNotifier

log = logging.getLogger(__name__)

DEFAULT_MESSAGE = (
    "Airflow: DAG {{ dag.dag_id }} run {{ run_id }} failed"
    "{% if ti %} (task {{ ti.task_id }}){% endif %}"
    "{% if exception %}\n{{ exception | string | truncate(600) }}{% endif %}"
)


class ChannelNotifier(BaseNotifier):
    """Send a templated message to named recipients of ``config/notifications.yml``."""

    template_fields = ("message",)

    def __init__(self, *, message: str = DEFAULT_MESSAGE, recipients: list[str] | None = None):
        super().__init__()
        self.message = message
        self.recipients = recipients

    def notify(self, context) -> None:
        from dealerfunnel.notify.channels import DeliveryError, send
        from dealerfunnel.notify.config import load_notifications
        from dealerfunnel.notify.message import Message

        config = load_notifications()
        names = list(self.recipients or config.pipeline_failures)
        title, _, rest = str(self.message).partition("\n")
        links = []
        dag = context.get("dag")
        run_id = context.get("run_id")
        if config.airflow_base_url and dag is not None and run_id:
            links.append(
                (
                    "Airflow run",
                    f"{config.airflow_base_url.rstrip('/')}/dags/{dag.dag_id}/runs/"
                    f"{quote(str(run_id), safe='')}",
                )
            )
        message = Message(
            kind="pipeline_failure",
            title=title,
            lines=tuple(line for line in rest.splitlines() if line.strip()),
            links=tuple(links),
            data={"dag_id": getattr(dag, "dag_id", None), "run_id": run_id},
            dedup_key=f"pipeline_failure:{getattr(dag, 'dag_id', '')}:{run_id}",
        )
        for name in names:
            for channel in config.recipients.get(name, ()):
                for attempt in range(config.retry.attempts):
                    try:
                        send(channel, message, timeout=config.retry.timeout_seconds)
                        break
                    except DeliveryError as exc:
                        log.warning("failure notice to %s: %s", channel.key, exc)
                        if attempt + 1 < config.retry.attempts:
                            time.sleep(
                                min(
                                    config.retry.backoff_seconds * 2**attempt,
                                    config.retry.max_backoff_seconds,
                                )
                            )

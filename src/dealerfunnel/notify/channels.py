"""Send one :class:`Message` through one channel; raise :class:`DeliveryError` on failure.

Each channel type is an Airflow notifier (``BaseNotifier``) built with the rendered message,
then ``notify()``-ed (nothing is Jinja-rendered: an alert's text is data, not a template):

- **slack**: the Slack provider's ``SlackWebhookNotifier`` on a Slack Incoming Webhook
  Connection (``password`` the ``T…/B…/…`` token or the whole webhook URL; ``host`` the
  endpoint, default ``https://hooks.slack.com/services``). Slack answers ``ok``.
- **email**: the SMTP provider's ``SmtpNotifier`` on an SMTP Connection (host, port, login,
  password; ``extra.disable_tls``/``disable_ssl``/``from_email``/``timeout``/``retry_limit``).
- **webhook**: the HTTP provider's ``HttpNotifier`` on an HTTP Connection (``host`` the URL,
  ``login``/``password`` HTTP basic auth when set, ``extra`` keys sent as headers): JSON POST
  of the message and the episode.
- **dingtalk**, **wecom**: :class:`~dealerfunnel.notify.notifiers.DingTalkNotifier` and
  :class:`~dealerfunnel.notify.notifiers.WeComNotifier` (robot webhooks, ``msgtype`` markdown
  or text; see that module for their Connections).
- **outbox**: :class:`~dealerfunnel.notify.notifiers.OutboxNotifier`, one JSON line per
  message in a local file (relative to the data folder).

Retries are the caller's (:mod:`dealerfunnel.notify.delivery`): each notifier makes one try.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from dealerfunnel.notify.config import Channel
from dealerfunnel.notify.message import Message
from dealerfunnel.notify.notifiers import (
    DingTalkNotifier,
    NotifierError,
    OutboxNotifier,
    WeComNotifier,
    dingtalk_sign,
)

__all__ = ["ConnectionMissing", "DeliveryError", "build_notifier", "dingtalk_sign", "send"]

DEFAULT_FROM_EMAIL = "dealerfunnel-alerts@localhost"


class DeliveryError(RuntimeError):
    """A channel did not accept the message; the message says why (no secrets)."""


class ConnectionMissing(DeliveryError):
    """The channel's Airflow Connection is not defined: no retry within the run can help."""


def get_connection(conn_id: str):
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id)
    except Exception as exc:
        raise ConnectionMissing(
            f"Airflow Connection {conn_id!r} is not defined ({type(exc).__name__})"
        ) from None


def json_payload(message: Message) -> dict[str, Any]:
    """The generic JSON form of a notice (webhook body, outbox line)."""
    return {
        "event": message.kind,
        "dedup_key": message.dedup_key,
        "title": message.title,
        "text": message.text,
        "links": dict(message.links),
        "alert": message.data,
    }


def build_notifier(channel: Channel, message: Message, *, conn=None, timeout: float = 10.0):
    """The Airflow notifier that delivers ``message`` through ``channel``."""
    if channel.type == "outbox":
        from dealerfunnel.settings import data_dir

        path = Path(channel.path or "outbox.jsonl").expanduser()
        if not path.is_absolute():
            path = data_dir() / path
        return OutboxNotifier(path=path, record={"recipient": channel.key, **json_payload(message)})
    if channel.type == "slack":
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

        return SlackWebhookNotifier(
            slack_webhook_conn_id=channel.conn_id,
            text=message.text,
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": message.slack_mrkdwn}}],
            timeout=max(1, math.ceil(timeout)),
            retry_handlers=[],  # the delivery log retries, with backoff
        )
    if channel.type == "email":
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        extra = (conn.extra_dejson or {}) if conn is not None else {}
        return SmtpNotifier(
            to=list(channel.to),
            from_email=channel.from_email or extra.get("from_email") or DEFAULT_FROM_EMAIL,
            subject=message.title,
            html_content=message.html,
            custom_headers={"X-Dealerfunnel-Dedup-Key": message.dedup_key},
            smtp_conn_id=channel.conn_id,
        )
    if channel.type == "webhook":
        from airflow.providers.http.notifications.http import HttpNotifier

        return HttpNotifier(
            http_conn_id=channel.conn_id,
            json=json_payload(message),
            extra_options={"timeout": timeout},
        )
    robot = {"dingtalk": DingTalkNotifier, "wecom": WeComNotifier}.get(channel.type)
    if robot is None:  # pragma: no cover - validated at load
        raise DeliveryError(f"unknown channel type {channel.type!r}")
    return robot(
        **{robot.conn_id_field: channel.conn_id},
        title=message.title,
        text=message.markdown if channel.msgtype == "markdown" else message.text,
        msgtype=channel.msgtype,
        timeout=timeout,
    )


def _scrub(text: str, conn) -> str:
    """An error text without the Connection's secrets (tokens may sit in a webhook URL)."""
    for secret in (getattr(conn, "password", None), getattr(conn, "login", None)):
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def send(channel: Channel, message: Message, *, timeout: float = 10.0) -> None:
    """Deliver ``message`` through ``channel`` or raise :class:`DeliveryError`."""
    conn = None if channel.type == "outbox" else get_connection(channel.conn_id or "")
    notifier = build_notifier(channel, message, conn=conn, timeout=timeout)
    try:
        notifier.notify({})
    except NotifierError as exc:
        raise DeliveryError(_scrub(str(exc), conn)) from None
    except Exception as exc:
        where = channel.type + (f" via {channel.conn_id}" if channel.conn_id else "")
        raise DeliveryError(_scrub(f"{where}: {type(exc).__name__}: {exc}", conn)) from None

"""Send one :class:`Message` through one channel; raise :class:`DeliveryError` on failure.

Addresses and secrets come from Airflow Connections (``conn_id``):

- **URL of a webhook**: the Connection's ``host`` when it is a full URL
  (``https://oapi.dingtalk.com/robot/send?access_token=...``), else
  ``<schema or https>://<host>[:<port>]`` + ``extra.endpoint``.
- **slack**: incoming webhook URL; ``password`` (if set) is the ``T…/B…/…`` path appended to
  the URL. Slack answers ``ok``.
- **dingtalk**: ``login`` (if set) is the ``access_token``; ``password`` (if set) is the
  signing secret: ``timestamp`` (ms) and ``sign`` = base64(HMAC-SHA256(secret,
  "<timestamp>\\n<secret>")) are added to the query. DingTalk answers ``{"errcode": 0}``.
- **wecom**: ``password`` (if set) is the robot ``key``. WeCom answers ``{"errcode": 0}``.
- **webhook**: JSON POST of the message and the episode; ``login``/``password`` as HTTP basic
  auth when set; ``extra.headers`` added.
- **email**: the Airflow SMTP provider's ``SmtpHook`` on the Connection (host, port, login,
  password; ``extra.disable_tls``/``disable_ssl``/``from_email``/``timeout``/``retry_limit``).
- **outbox**: appends one JSON line per message to a local file (relative to the data folder).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit

from dealerfunnel.notify.config import Channel
from dealerfunnel.notify.message import Message


class DeliveryError(RuntimeError):
    """A channel did not accept the message; the message says why (no secrets)."""


def get_connection(conn_id: str):
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id)
    except Exception as exc:
        raise DeliveryError(
            f"Airflow Connection {conn_id!r} is not defined ({type(exc).__name__})"
        ) from None


def connection_url(conn) -> str:
    host = conn.host or ""
    extra = conn.extra_dejson or {}
    if "://" in host:
        url = host
    else:
        if not host:
            raise DeliveryError(f"Connection {conn.conn_id!r} has no host")
        scheme = conn.schema or "https"
        url = f"{scheme}://{host}" + (f":{conn.port}" if conn.port else "")
    endpoint = extra.get("endpoint")
    if endpoint:
        url = url.rstrip("/") + "/" + str(endpoint).lstrip("/")
    return url


def _add_query(url: str, params: dict[str, str]) -> str:
    return url + ("&" if urlsplit(url).query else "?") + urlencode(params)


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk robot signature: base64(HMAC-SHA256(secret, "<ts>\\n<secret>")), URL-quoted."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def _post(
    url: str,
    payload: dict[str, Any],
    *,
    timeout: float,
    auth=None,
    headers: dict | None = None,
) -> Any:
    import httpx

    safe_url = url.split("?", 1)[0]
    try:
        response = httpx.post(url, json=payload, timeout=timeout, auth=auth, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"POST {safe_url}: {type(exc).__name__}: {exc}") from None
    if response.status_code >= 300:
        raise DeliveryError(f"POST {safe_url}: HTTP {response.status_code} {response.text[:200]}")
    return response


def _check_errcode(response, channel: str) -> None:
    try:
        body = response.json()
    except ValueError:
        raise DeliveryError(f"{channel}: unexpected answer {response.text[:200]!r}") from None
    if body.get("errcode", 0) != 0:
        raise DeliveryError(f"{channel}: errcode {body.get('errcode')}: {body.get('errmsg')}")


def send(channel: Channel, message: Message, *, timeout: float = 10.0) -> None:
    """Deliver ``message`` through ``channel`` or raise :class:`DeliveryError`."""
    if channel.type == "outbox":
        _send_outbox(channel, message)
        return
    conn = get_connection(channel.conn_id or "")
    if channel.type == "email":
        _send_email(channel, conn, message)
        return
    url = connection_url(conn)
    if channel.type == "slack":
        if conn.password:
            url = url.rstrip("/") + "/" + conn.password.strip("/")
        payload = {
            "text": message.text,
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": message.slack_mrkdwn}}
            ],
        }
        _post(url, payload, timeout=timeout)
    elif channel.type == "dingtalk":
        if conn.login and "access_token=" not in url:
            url = _add_query(url, {"access_token": conn.login})
        if conn.password:
            ts = int(time.time() * 1000)
            url = (
                url
                + ("&" if urlsplit(url).query else "?")
                + (f"timestamp={ts}&sign={dingtalk_sign(conn.password, ts)}")
            )
        if channel.msgtype == "markdown":
            payload = {
                "msgtype": "markdown",
                "markdown": {"title": message.title[:64], "text": message.markdown},
            }
        else:
            payload = {"msgtype": "text", "text": {"content": message.text}}
        _check_errcode(_post(url, payload, timeout=timeout), "dingtalk")
    elif channel.type == "wecom":
        if conn.password and "key=" not in url:
            url = _add_query(url, {"key": conn.password})
        if channel.msgtype == "markdown":
            payload = {"msgtype": "markdown", "markdown": {"content": message.markdown}}
        else:
            payload = {"msgtype": "text", "text": {"content": message.text}}
        _check_errcode(_post(url, payload, timeout=timeout), "wecom")
    elif channel.type == "webhook":
        auth = (conn.login, conn.password or "") if conn.login else None
        headers = (conn.extra_dejson or {}).get("headers") or None
        _post(url, _json_payload(message), timeout=timeout, auth=auth, headers=headers)
    else:  # pragma: no cover - validated at load
        raise DeliveryError(f"unknown channel type {channel.type!r}")


def _json_payload(message: Message) -> dict[str, Any]:
    return {
        "event": message.kind,
        "dedup_key": message.dedup_key,
        "title": message.title,
        "text": message.text,
        "links": dict(message.links),
        "alert": message.data,
    }


def _send_email(channel: Channel, conn, message: Message) -> None:
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    from_email = (
        channel.from_email
        or (conn.extra_dejson or {}).get("from_email")
        or "dealerfunnel-alerts@localhost"
    )
    try:
        with SmtpHook(smtp_conn_id=channel.conn_id) as hook:
            hook.send_email_smtp(
                to=list(channel.to),
                subject=message.title,
                html_content=message.html,
                from_email=from_email,
                custom_headers={"X-Dealerfunnel-Dedup-Key": message.dedup_key},
            )
    except Exception as exc:
        raise DeliveryError(f"SMTP via {channel.conn_id}: {type(exc).__name__}: {exc}") from None


def _send_outbox(channel: Channel, message: Message) -> None:
    from dealerfunnel.settings import data_dir

    path = Path(channel.path or "outbox.jsonl").expanduser()
    if not path.is_absolute():
        path = data_dir() / path
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"recipient": channel.key, **_json_payload(message)}
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")

"""Airflow notifiers (``airflow.sdk.BaseNotifier``) for the chat robots no provider covers.

Slack, e-mail and generic webhooks use the providers' notifiers (``SlackWebhookNotifier``,
``SmtpNotifier``, ``HttpNotifier``); DingTalk and WeCom group robots, and the local outbox, are
notifiers of the same shape here: constructed with the rendered message, ``notify(context)``
sends it and raises on any failure. Like every Airflow notifier they can be a DAG or task
callback (``on_failure_callback=WeComNotifier(wecom_conn_id=..., text="...")``), their
``template_fields`` rendered from the context.

Addresses and secrets come from Airflow Connections only:

- **DingTalk** (``dingtalk_conn_id``): ``host`` the robot URL
  (``https://oapi.dingtalk.com/robot/send?access_token=...``, or ``schema``/``host``/``port`` +
  ``extra.endpoint``); ``login`` (if set) the ``access_token``; ``password`` (if set) the
  signing secret: ``timestamp`` (ms) and ``sign`` = base64(HMAC-SHA256(secret,
  "<timestamp>\\n<secret>")) are added to the query. DingTalk answers ``{"errcode": 0}``.
- **WeCom** (``wecom_conn_id``): ``host`` the robot URL (``.../cgi-bin/webhook/send?key=...``);
  ``password`` (if set) the robot ``key``. WeCom answers ``{"errcode": 0}``.
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

from airflow.sdk import BaseHook, BaseNotifier


class NotifierError(RuntimeError):
    """A robot did not accept the message (the text names neither token nor secret)."""


def connection_url(conn) -> str:
    """The URL of a robot Connection: ``host`` when it is a full URL, else
    ``<schema or https>://<host>[:<port>]``, then ``extra.endpoint`` appended."""
    host = conn.host or ""
    extra = conn.extra_dejson or {}
    if "://" in host:
        url = host
    else:
        if not host:
            raise NotifierError(f"Connection {conn.conn_id!r} has no host")
        url = f"{conn.schema or 'https'}://{host}" + (f":{conn.port}" if conn.port else "")
    endpoint = extra.get("endpoint")
    if endpoint:
        url = url.rstrip("/") + "/" + str(endpoint).lstrip("/")
    return url


def add_query(url: str, params: dict[str, Any]) -> str:
    return url + ("&" if urlsplit(url).query else "?") + urlencode(params)


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk robot signature: base64(HMAC-SHA256(secret, "<ts>\\n<secret>")), URL-quoted."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


class RobotNotifier(BaseNotifier):
    """A chat-group robot webhook: POST a JSON payload, the answer's ``errcode`` must be 0."""

    conn_id_field = ""
    service = ""
    template_fields: tuple[str, ...] = ("title", "text")

    def __init__(
        self,
        *,
        text: str,
        title: str = "",
        msgtype: str = "markdown",
        timeout: float = 10.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if msgtype not in ("markdown", "text"):
            raise ValueError(f"{self.service}: msgtype must be markdown or text, not {msgtype!r}")
        self.text = text
        self.title = title
        self.msgtype = msgtype
        self.timeout = timeout

    def robot_url(self, conn) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def payload(self) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def notify(self, context) -> None:
        import httpx

        conn = BaseHook.get_connection(getattr(self, self.conn_id_field))
        url = self.robot_url(conn)
        where = f"{self.service} robot {url.split('?', 1)[0]}"
        try:
            response = httpx.post(url, json=self.payload(), timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise NotifierError(f"{where}: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 300:
            raise NotifierError(f"{where}: HTTP {response.status_code} {response.text[:200]}")
        try:
            body = response.json()
        except ValueError:
            raise NotifierError(f"{where}: unexpected answer {response.text[:200]!r}") from None
        if not isinstance(body, dict) or body.get("errcode", 0) != 0:
            errcode = body.get("errcode") if isinstance(body, dict) else body
            errmsg = body.get("errmsg") if isinstance(body, dict) else ""
            raise NotifierError(f"{where}: errcode {errcode}: {errmsg}")
        self.log.debug("%s: message accepted", where)


class DingTalkNotifier(RobotNotifier):
    """DingTalk custom robot (钉钉自定义机器人): ``markdown`` (title + text) or ``text``."""

    conn_id_field = "dingtalk_conn_id"
    service = "dingtalk"
    template_fields = ("dingtalk_conn_id", "title", "text")

    def __init__(self, *, dingtalk_conn_id: str = "dingtalk_default", **kwargs):
        super().__init__(**kwargs)
        self.dingtalk_conn_id = dingtalk_conn_id

    def robot_url(self, conn) -> str:
        url = connection_url(conn)
        if conn.login and "access_token=" not in url:
            url = add_query(url, {"access_token": conn.login})
        if conn.password:
            ts = int(time.time() * 1000)
            # the signature is already URL-quoted, as DingTalk's documentation builds it
            url += ("&" if urlsplit(url).query else "?") + (
                f"timestamp={ts}&sign={dingtalk_sign(conn.password, ts)}"
            )
        return url

    def payload(self) -> dict[str, Any]:
        if self.msgtype == "markdown":
            # DingTalk shows the title in the conversation list (64 characters kept)
            return {
                "msgtype": "markdown",
                "markdown": {"title": self.title[:64], "text": self.text},
            }
        return {"msgtype": "text", "text": {"content": self.text}}


class WeComNotifier(RobotNotifier):
    """WeCom group robot (企业微信群机器人): ``markdown`` or ``text`` (``content``)."""

    conn_id_field = "wecom_conn_id"
    service = "wecom"
    template_fields = ("wecom_conn_id", "title", "text")

    def __init__(self, *, wecom_conn_id: str = "wecom_default", **kwargs):
        super().__init__(**kwargs)
        self.wecom_conn_id = wecom_conn_id

    def robot_url(self, conn) -> str:
        url = connection_url(conn)
        if conn.password and "key=" not in url:
            url = add_query(url, {"key": conn.password})
        return url

    def payload(self) -> dict[str, Any]:
        if self.msgtype == "markdown":
            return {"msgtype": "markdown", "markdown": {"content": self.text}}
        return {"msgtype": "text", "text": {"content": self.text}}


class OutboxNotifier(BaseNotifier):
    """Append one JSON record per notice to a local file (local and demo use)."""

    template_fields = ("path",)

    def __init__(self, *, path: str | Path, record: dict[str, Any], **kwargs):
        super().__init__(**kwargs)
        self.path = str(path)
        self.record = record

    def notify(self, context) -> None:
        path = Path(self.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(self.record, ensure_ascii=False, default=str) + "\n")

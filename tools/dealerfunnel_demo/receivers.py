"""Local receivers that capture what the channels send: an HTTP webhook server and an SMTP
server on 127.0.0.1 (free ports). Used by the tests and by ``make demo``; nothing leaves the
machine.

``WebhookReceiver`` answers like the real services (Slack ``ok``, DingTalk/WeCom
``{"errcode": 0}``) by path prefix, and can simulate an outage: ``fail_with(500)`` answers
errors, ``stop()`` closes the port (connection refused) until ``start()``;
``robot_error = (310000, "sign not match")`` makes the DingTalk/WeCom paths answer HTTP 200 with
that ``errcode``, which is how those robots refuse a message.
"""

from __future__ import annotations

import json
import os
import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Captured:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class LocalHttpServer:
    """An HTTP server on 127.0.0.1 (a free port unless given) in a daemon thread; a subclass
    gives the request handler class with ``_handler()``."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def start(self) -> Self:
        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class WebhookReceiver(LocalHttpServer):
    def __init__(self, port: int | None = None):
        super().__init__(port)
        self.requests: list[Captured] = []
        self.failures = 0  # requests answered with an error
        self.status: int | None = None  # None = healthy
        self.robot_error: tuple[int, str] | None = None  # DingTalk/WeCom errcode, errmsg
        self._lock = threading.Lock()

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                parts = urlsplit(self.path)
                with receiver._lock:
                    if receiver.status is not None:
                        receiver.failures += 1
                        self.send_response(receiver.status)
                        self.end_headers()
                        self.wfile.write(b"simulated outage")
                        return
                    try:
                        body = json.loads(raw or b"null")
                    except ValueError:
                        body = raw.decode("utf-8", "replace")
                    receiver.requests.append(
                        Captured(
                            parts.path,
                            {k: v[0] for k, v in parse_qs(parts.query).items()},
                            dict(self.headers.items()),
                            body,
                        )
                    )
                if parts.path.startswith(("/dingtalk", "/wecom")):
                    errcode, errmsg = receiver.robot_error or (0, "ok")
                    answer = json.dumps({"errcode": errcode, "errmsg": errmsg}).encode()
                    ctype = "application/json"
                elif parts.path.startswith("/slack"):
                    answer, ctype = b"ok", "text/plain"
                else:
                    answer, ctype = b'{"ok": true}', "application/json"
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        return Handler

    def fail_with(self, status: int | None) -> None:
        self.status = status

    def on(self, prefix: str) -> list[Captured]:
        return [r for r in self.requests if r.path.startswith(prefix)]


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    data: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        return self.headers.get("Subject", "")


class SmtpReceiver:
    """A minimal SMTP server (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no TLS/auth)."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.messages: list[Mail] = []
        self._server: socketserver.ThreadingTCPServer | None = None

    def _handler(self):
        receiver = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write((line + "\r\n").encode())

            def handle(self):
                self.reply("220 localhost dealerfunnel test SMTP")
                sender, rcpts = "", []
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    cmd = line.decode("utf-8", "replace").strip()
                    verb = cmd[:4].upper()
                    if verb == "EHLO":
                        self.wfile.write(b"250-localhost\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                    elif verb == "HELO":
                        self.reply("250 localhost")
                    elif verb == "MAIL":
                        sender, rcpts = cmd.split(":", 1)[1].strip().split()[0].strip("<>"), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        rcpts.append(cmd.split(":", 1)[1].strip().strip("<>"))
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 End data with <CR><LF>.<CR><LF>")
                        chunks = []
                        while True:
                            data_line = self.rfile.readline()
                            if data_line in (b".\r\n", b".\n", b""):
                                break
                            if data_line.startswith(b".."):
                                data_line = data_line[1:]
                            chunks.append(data_line)
                        raw = b"".join(chunks)
                        parsed = message_from_bytes(raw)
                        receiver.messages.append(
                            Mail(sender, rcpts, raw, {k: str(v) for k, v in parsed.items()})
                        )
                        self.reply("250 OK: queued")
                    elif verb in ("RSET", "NOOP"):
                        self.reply("250 OK")
                    elif verb == "QUIT":
                        self.reply("221 Bye")
                        return
                    else:
                        self.reply("502 Command not implemented")

        return Handler

    def start(self) -> SmtpReceiver:
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def connection_env(config, webhook: WebhookReceiver, smtp: SmtpReceiver) -> dict[str, str]:
    """``AIRFLOW_CONN_*`` values pointing every Connection of ``config`` at the receivers."""
    env: dict[str, str] = {}
    for channels in config.recipients.values():
        for ch in channels:
            if not ch.conn_id:
                continue
            name = "AIRFLOW_CONN_" + ch.conn_id.upper()
            if ch.type == "email":
                value = {
                    "conn_type": "smtp",
                    "host": "127.0.0.1",
                    "port": smtp.port,
                    "extra": {
                        "disable_tls": True,
                        "disable_ssl": True,
                        "retry_limit": 0,
                        "timeout": 5,
                        "from_email": "dealerfunnel-alerts@localhost",
                    },
                }
            elif ch.type == "slack":  # Slack Incoming Webhook: the whole URL as the token
                value = {
                    "conn_type": "slackwebhook",
                    "password": f"{webhook.url}/slack/{ch.conn_id}",
                }
            else:
                value = {"conn_type": "http", "host": f"{webhook.url}/{ch.type}/{ch.conn_id}"}
            env[name] = json.dumps(value)
    return env


@contextmanager
def local_receivers(
    config=None, *, override: bool = False
) -> Iterator[tuple[WebhookReceiver, SmtpReceiver]]:
    """Start both receivers and point the configured Connections at them (demo mode).

    Connections already defined in the environment are kept unless ``override``.
    """
    if config is None:
        from dealerfunnel.notify.config import load_notifications

        config = load_notifications()
    webhook, smtp = WebhookReceiver().start(), SmtpReceiver().start()
    env = connection_env(config, webhook, smtp)
    saved = {k: os.environ.get(k) for k in env}
    for key, value in env.items():
        if override or key not in os.environ:
            os.environ[key] = value
    try:
        yield webhook, smtp
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        webhook.stop()
        smtp.stop()

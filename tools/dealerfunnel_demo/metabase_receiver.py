"""A local stand-in for Metabase's HTTP API, as far as ``metabase-setup`` uses it, on
127.0.0.1 (free port). It answers in Metabase's wire format:

- ``GET /api/health``: 503 ``{"status": "initializing", "progress": …}`` for the first
  ``initializing_polls`` calls, then 200 ``{"status": "ok"}``;
- ``GET /api/session/properties``: ``setup-token`` (a UUID) and ``has-user-setup`` false
  until setup; then ``has-user-setup`` true and ``setup-token`` null (or still the token,
  with ``keep_token_after_setup``, as newer versions show it);
- ``POST /api/setup``: 403 on a wrong token or when a user exists, 400
  ``{"errors": {field: …}}`` on a missing field, else 200 ``{"id": <session>}``;
- ``POST /api/session``: 401 ``{"errors": {"password": "did not match stored password"}}``
  on bad credentials, else 200 ``{"id": <session>}``;
- ``GET /api/database`` / ``POST /api/database``: 401 ``Unauthenticated`` without a valid
  ``X-Metabase-Session``; the list is ``{"data": [...], "total": n}``; a created database's
  password is masked as ``**MetabasePass**`` in the answer, as Metabase does.

``requests`` records every call (path, method, JSON body) for the tests.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from dealerfunnel_demo.receivers import LocalHttpServer

PASSWORD_MASK = "**MetabasePass**"  # noqa: S105 - the mask Metabase shows, no secret


@dataclass
class MetabaseCall:
    method: str
    path: str
    body: Any


def _missing(body: Any, fields: list[str]) -> dict[str, str]:
    """Metabase's 400 ``errors`` map for the dotted ``fields`` absent or blank in ``body``."""
    errors = {}
    for field in fields:
        value = body
        for part in field.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value in (None, "", {}):
            errors[field.split(".")[-1]] = "value must be a non-blank string."
    return errors


class FakeMetabase(LocalHttpServer):
    def __init__(
        self,
        *,
        initializing_polls: int = 0,
        keep_token_after_setup: bool = False,
        port: int | None = None,
    ) -> None:
        super().__init__(port)
        # newer Metabase versions still show the setup token once set up; has-user-setup tells
        self.keep_token_after_setup = keep_token_after_setup
        self.initializing_polls = initializing_polls
        self.setup_token: str | None = str(uuid.uuid4())
        self.users: dict[str, str] = {}  # email -> password
        self.sessions: set[str] = set()
        self.databases: list[dict[str, Any]] = []
        self.requests: list[MetabaseCall] = []
        self._lock = threading.Lock()

    def calls(self, method: str, path: str) -> list[MetabaseCall]:
        return [c for c in self.requests if c.method == method and c.path == path]

    def set_up_already(self, email: str, password: str) -> None:
        """A Metabase someone already set up by hand (admin exists, no warehouse)."""
        self.users[email] = password
        if not self.keep_token_after_setup:
            self.setup_token = None

    # -- the API ----------------------------------------------------------------------------

    def _session(self) -> str:
        session = str(uuid.uuid4())
        self.sessions.add(session)
        return session

    def _add_database(self, spec: dict[str, Any]) -> dict[str, Any]:
        details = dict(spec["details"])
        self.databases.append(
            {"id": len(self.databases) + 1, "name": spec["name"], "engine": spec["engine"]}
            | {"details": details}
        )
        shown = dict(self.databases[-1], details=details | {"password": PASSWORD_MASK})
        return shown

    def handle(self, method: str, path: str, headers, body: Any) -> tuple[int, Any]:
        if method == "GET" and path == "/api/health":
            if self.initializing_polls > 0:
                self.initializing_polls -= 1
                return 503, {"status": "initializing", "progress": 0.5}
            return 200, {"status": "ok"}
        if method == "GET" and path == "/api/session/properties":
            return 200, {
                "setup-token": self.setup_token,
                "has-user-setup": bool(self.users),
                "site-name": "Metabase",
            }
        if method == "POST" and path == "/api/setup":
            if self.users:
                return 403, (
                    "The /api/setup route can only be used to create the first user, "
                    "however a user currently exists."
                )
            body = body if isinstance(body, dict) else {}
            errors = _missing(body, ["token", "user.email", "user.password"])
            if body.get("database") is not None:
                errors |= _missing(body, ["database.engine", "database.name", "database.details"])
            if errors:
                return 400, {"errors": errors}
            if body["token"] != self.setup_token:
                return 403, "Token does not match the setup token."
            self.users[body["user"]["email"]] = body["user"]["password"]
            if not self.keep_token_after_setup:
                self.setup_token = None
            if body.get("database"):
                self._add_database(body["database"])
            return 200, {"id": self._session()}
        if method == "POST" and path == "/api/session":
            body = body if isinstance(body, dict) else {}
            errors = _missing(body, ["username", "password"])
            if errors:
                return 400, {"errors": errors}
            if self.users.get(body["username"]) != body["password"]:
                return 401, {"errors": {"password": "did not match stored password"}}
            return 200, {"id": self._session()}
        if path == "/api/database":
            if headers.get("X-Metabase-Session") not in self.sessions:
                return 401, "Unauthenticated"
            if method == "GET":
                shown = [{k: v for k, v in d.items() if k != "details"} for d in self.databases]
                return 200, {"data": shown, "total": len(shown)}
            if method == "POST":
                body = body if isinstance(body, dict) else {}
                errors = _missing(body, ["name", "engine", "details"])
                if errors:
                    return 400, {"errors": errors}
                return 200, self._add_database(body)
        return 404, "API endpoint does not exist."

    # -- the server -------------------------------------------------------------------------

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _serve(self, method: str) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                path = self.path.split("?", 1)[0].rstrip("/") or "/"
                with fake._lock:
                    fake.requests.append(MetabaseCall(method, path, body))
                    status, answer = fake.handle(method, path, self.headers, body)
                if isinstance(answer, str):
                    data, ctype = answer.encode(), "text/plain"
                else:
                    data, ctype = json.dumps(answer).encode(), "application/json"
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

        return Handler

"""Sandbox of the Eventbrite API v3: organization events and event attendees.

Endpoints (under the ``/eventbrite`` prefix, standing for ``https://www.eventbriteapi.com``),
with ``Authorization: Bearer <token>``:

- ``GET /v3/organizations/{organization_id}/events/?status=&continuation=``;
- ``GET /v3/events/{event_id}/attendees/?changed_since=&continuation=``: attendees changed on
  or after ``changed_since``, ``page_size`` per page (50, like Eventbrite), ordered by id (not
  by change time), ``pagination {object_count, page_number, page_size, page_count,
  continuation, has_more_items}``.

Errors ``{"status_code", "error", "error_description"}``: 401 ``INVALID_AUTH``, 429
``HIT_RATE_LIMIT``, 500 ``INTERNAL_ERROR``, 400 ``ARGUMENTS_ERROR``, 404 ``NOT_FOUND``.

Data: per dealer organization, three events (test-drive days, a launch); registrations in the
two weeks before each event; at the event most attendees check in (``checked_in``, status
``Checked In``), some cancel before (``Not Attending``); each change bumps ``changed``. A few
guests are people the dealer later works in its CRM (:meth:`World.shared`): they come. Schema
drift: some attendees carry ``survey_responses``; about 1% lack ``changed`` (quarantined).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from dealerfunnel_demo.sandbox.core import Sandbox, bearer, http_connection, json_response
from dealerfunnel_demo.sandbox.salesforce import Entity
from dealerfunnel_demo.sandbox.world import World
from dealerfunnel_demo.synth.people import EVENTS, event_start

NAME = "eventbrite"
PREFIX = "eventbrite"
NEW_FIELD = "survey_responses"
EVENT_NAMES = ("试驾日 Test drive day", "新车上市 Launch event", "周末团购 Weekend group buy")


def eb_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def eb_error(status: int, error: str, description: str) -> Response:
    return json_response(
        {"status_code": status, "error": error, "error_description": description}, status
    )


def _token(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")


def _untoken(token: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


class EventbriteApi:
    name = NAME
    prefix = PREFIX

    def __init__(self, world: World, sandbox: Sandbox | None = None, **_: Any) -> None:
        self.world = world
        self.sandbox = sandbox
        self.page_size = 50
        self.orgs: dict[str, str] = {}  # dealer -> organization id
        self.events: dict[str, dict[str, Any]] = {}  # event id -> event
        self.attendees: dict[str, list[Entity]] = {}  # event id -> attendees
        self._build()

    def _build(self) -> None:
        world = self.world
        for code, account in sorted(world.accounts(NAME).items()):
            org = self.orgs[code] = str(account["organization_id"])
            dealer = world.dealers[code]
            rng = world.rng(NAME, code)
            event_ids = account.get("event_ids") or [
                f"8{dealer.index:02d}{k + 1:09d}" for k in range(3)
            ]
            shared = world.shared(NAME, code)
            shared_rng = world.rng(NAME, code, "shared")
            for k, event_id in enumerate(event_ids):
                when = event_start(world.spec.start, world.spec.weeks, k)
                event = {
                    "id": str(event_id),
                    "name": {"text": EVENT_NAMES[k % 3], "html": EVENT_NAMES[k % 3]},
                    "organization_id": org,
                    "start": {"timezone": "Asia/Shanghai", "utc": eb_time(when)},
                    "end": {"timezone": "Asia/Shanghai", "utc": eb_time(when + timedelta(hours=6))},
                    "status": "live",
                    "created": eb_time(world.start),
                }
                self.events[str(event_id)] = event
                people = []
                count = max(3, world.lead_count(rng) // 4)
                guests = [None] * count + [
                    p for p in shared if (p.key - 1) % EVENTS == k and k < EVENTS
                ]
                for n, known in enumerate(guests):
                    r = rng if known is None else shared_rng  # the others' draws stay as they were
                    person = world.person(r) if known is None else known
                    created = when - timedelta(seconds=r.randrange(3600, 14 * 86400))
                    created = max(created, world.start) if known is None else known.origin_at
                    aid = f"{event_id}{n + 1:05d}"
                    record = {
                        "id": aid,
                        "created": eb_time(created),
                        "changed": eb_time(created),
                        "profile": {
                            "name": person.name,
                            "first_name": person.name[1:],
                            "last_name": person.name[:1],
                            "email": person.email or f"{aid}@guest.example.com",
                            "cell_phone": f"+86{person.phone}",
                        },
                        "checked_in": False,
                        "cancelled": False,
                        "refunded": False,
                        "status": "Attending",
                        "event_id": str(event_id),
                        "order_id": f"{aid}1",
                        "ticket_class_name": "免费 Free",
                        "quantity": 1,
                        "resource_uri": f"https://www.eventbriteapi.com/v3/events/{event_id}"
                        f"/attendees/{aid}/",
                    }
                    drift = world.drift(r) if known is None else None
                    attendee = Entity("attendee", code, aid, drift=drift)
                    attendee.versions.append((created, self._drifted(record, drift, r)))
                    draw = r.random() if known is None else 0.0  # a shared guest came
                    if drift != "missing_field" and draw < 0.65:
                        at = when + timedelta(seconds=r.randrange(0, 5 * 3600))
                        changed = {**record, "checked_in": True, "status": "Checked In",
                                   "changed": eb_time(at)}  # fmt: skip
                        attendee.versions.append((at, self._drifted(changed, drift, r)))
                    elif drift != "missing_field" and draw < 0.8:
                        at = (created + (when - created) * 0.5).replace(microsecond=0)
                        changed = {**record, "cancelled": True, "status": "Not Attending",
                                   "changed": eb_time(at)}  # fmt: skip
                        attendee.versions.append((at, self._drifted(changed, drift, r)))
                    people.append(attendee)
                self.attendees[str(event_id)] = people

    @staticmethod
    def _drifted(record: dict[str, Any], drift: str | None, rng) -> dict[str, Any]:
        record = dict(record)
        if drift == "new_field":
            record[NEW_FIELD] = [{"question": "意向车型", "answer": "SUV"}]
        elif drift == "missing_field":
            del record["changed"]
        return record

    # -- truth --------------------------------------------------------------------------------

    def _visible(self, event_id: str) -> list[tuple[Entity, dict[str, Any]]]:
        out = []
        for entity in self.attendees.get(event_id, []):
            record = entity.at(self.world.now)
            if record is not None:
                out.append((entity, record))
        return out

    def truth(self) -> dict[str, dict[str, dict[str, Any]]]:
        out: dict[str, dict[str, Any]] = {}
        for event_id, event in self.events.items():
            bucket = out.setdefault(event["organization_id"], {})
            for entity, record in self._visible(event_id):
                if entity.drift != "missing_field":
                    bucket[entity.record_id] = record
        return {"eventbrite__attendees": out}

    def broken(self) -> dict[str, dict[str, list[dict[str, Any]]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for event_id, event in self.events.items():
            for entity, record in self._visible(event_id):
                if entity.drift == "missing_field":
                    out.setdefault(event["organization_id"], []).append(record)
        return {"eventbrite__attendees": out}

    def connection(self, base_url: str) -> dict[str, Any]:
        token = self.world.spec.credentials.get("eventbrite_token", "SANDBOXEVENTBRITEPRIVATETOKEN")
        return http_connection(base_url, PREFIX, password=token)

    # -- HTTP ---------------------------------------------------------------------------------

    def error_response(self, kind: str) -> Response:
        if kind == "rate_limit":
            return eb_error(
                429, "HIT_RATE_LIMIT", "Hourly rate limit has been reached for this token."
            )
        if kind == "auth":
            return self._auth_error()
        return eb_error(500, "INTERNAL_ERROR", "An unexpected error occurred.")

    @staticmethod
    def _auth_error() -> Response:
        return eb_error(401, "INVALID_AUTH", "The OAuth token you provided was invalid.")

    def _check(self, request: Request) -> Response | None:
        if bearer(request) != self.connection("")["password"]:
            return self._auth_error()
        return None

    def _paginate(self, items: list[Any], token: str | None, key: str) -> tuple[dict, list[Any]]:
        offset = _untoken(token)["offset"] if token else 0
        chunk = items[offset : offset + self.page_size]
        more = offset + self.page_size < len(items)
        pages = max(1, -(-len(items) // self.page_size))
        pagination = {
            "object_count": len(items),
            "page_number": offset // self.page_size + 1,
            "page_size": self.page_size,
            "page_count": pages,
            "has_more_items": more,
        }
        if more:
            pagination["continuation"] = _token({"key": key, "offset": offset + self.page_size})
        return pagination, chunk

    def router(self) -> APIRouter:
        router = APIRouter()

        @router.get("/v3/organizations/{org}/events/")
        def events(org: str, request: Request) -> Response:
            if (failure := self._check(request)) is not None:
                return failure
            if org not in self.orgs.values():
                return eb_error(404, "NOT_FOUND", "The organization you requested does not exist.")
            items = [e for e in self.events.values() if e["organization_id"] == org]
            try:
                pagination, chunk = self._paginate(
                    items, request.query_params.get("continuation"), org
                )
            except (ValueError, KeyError):
                return eb_error(400, "ARGUMENTS_ERROR", "Invalid continuation token")
            return json_response({"pagination": pagination, "events": chunk})

        @router.get("/v3/events/{event_id}/attendees/")
        def attendees(event_id: str, request: Request) -> Response:
            if (failure := self._check(request)) is not None:
                return failure
            if event_id not in self.events:
                return eb_error(404, "NOT_FOUND", "The event you requested does not exist.")
            params = request.query_params
            try:
                since = params.get("changed_since")
                since_at = datetime.fromisoformat(since.replace("Z", "+00:00")) if since else None
                token = params.get("continuation")
                pagination, chunk = self._paginate(
                    [
                        record
                        for entity, record in sorted(
                            self._visible(event_id), key=lambda pair: pair[0].record_id
                        )
                        if since_at is None or self._changed(entity) >= since_at
                    ],
                    token,
                    event_id,
                )
            except (ValueError, KeyError):
                return eb_error(400, "ARGUMENTS_ERROR", "There are errors with your arguments")
            served = self.sandbox.perturb(chunk) if self.sandbox is not None else chunk
            return json_response({"pagination": pagination, "attendees": served})

        return router

    def _changed(self, entity: Entity) -> datetime:
        """The change time of the visible version (known even when the payload lacks it)."""
        when = entity.versions[0][0]
        for at, _record in entity.versions:
            if at <= self.world.now:
                when = at
        return when

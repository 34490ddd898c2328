"""Eventbrite API v3 connector: attendees of each dealer event, with check-in status.

Written against the Eventbrite Platform API v3 as documented (eventbrite.com/platform/api,
"List Attendees by Event", "List Events by Organization", "Pagination", "Errors"; v3):

- ``GET /v3/organizations/{organization_id}/events/?status=all&continuation=`` lists the
  organization's events (``{"pagination", "events": [{"id", "name", "start", ...}]}``).
- ``GET /v3/events/{event_id}/attendees/?changed_since=<UTC ISO>&continuation=<token>``
  returns ``{"pagination": {"object_count", "page_number", "page_size", "page_count",
  "continuation", "has_more_items"}, "attendees": [{"id", "changed", "created", "profile":
  {"name", "email", "cell_phone", ...}, "checked_in", "cancelled", "refunded", "status",
  "event_id", "order_id", ...}]}``. ``changed_since`` keeps attendees changed on or after the
  time; pages are continued with ``continuation`` while ``has_more_items``.
- Errors: ``{"status_code", "error", "error_description"}``: ``INVALID_AUTH`` /
  ``NO_AUTH`` (401) and ``NOT_AUTHORIZED`` (403) are auth failures, ``HIT_RATE_LIMIT`` (429)
  is retried after ``Retry-After`` or backoff, 5xx are retried, ``ARGUMENTS_ERROR`` /
  ``NOT_FOUND`` are fatal.

Connection (``eventbrite``): host = ``https://www.eventbriteapi.com``, password = private
token (OAuth bearer). Accounts (``eventbrite.dealers``): ``organization_id`` (the raw
``account_id``), optional ``event_ids`` (default: every event of the organization).

Incremental per event (``ops.watermarks`` keyed by event id): ``{"since": "<newest changed
of the last complete run>", "run": {"changed_since", "continuation", "max_seen"} | null}``.
The attendee order is not documented, so ``since`` moves only when a run completes; ``run``
holds the continuation of a run in progress so a crash resumes at the next page. A run asks
``changed_since = since + 1 s`` (``changed`` has second precision and the filter is
inclusive), so a second run fetches only new and changed attendees.

Stages: ``status`` (Attending / Checked In / Not Attending) is mapped by the stage mapping
(``eventbrite``) in dbt staging; an attendee whose ``status`` the mapping does not know is
quarantined at load time (``unknown stage 'x' for source eventbrite``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dealerfunnel.sources.config import Account as _Account
from dealerfunnel.sources.config import SourceConnection, SourceOptions, Text
from dealerfunnel.sources.httpclient import CodedErrorDialect, HttpClient
from dealerfunnel.sources.loader import Page, Parsed, RecordInvalid
from dealerfunnel.sources.streams import (
    ApiStream,
    ExtractContext,
    bearer_client,
    body_list,
    follow_cursor,
    missing,
    parse_aware_time,
    required_id,
    resumable_pages,
)

SOURCE = "eventbrite"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class Account(_Account):
    organization_id: Text(r"\d+")
    event_ids: list[Text(r"\d+")] | None = None  # default: every event of the organization


class Options(SourceOptions):
    pass


class EventbriteDialect(CodedErrorDialect):
    """``{"status_code", "error", "error_description"}`` error bodies."""

    AUTH_CODES = frozenset({"INVALID_AUTH", "NO_AUTH", "INVALID_AUTH_HEADER", "NOT_AUTHORIZED"})
    THROTTLE_CODES = frozenset({"HIT_RATE_LIMIT"})

    def describe(self, status: int, parsed: Any) -> tuple[str, str] | None:
        if not isinstance(parsed, dict) or "error" not in parsed:
            return None
        code = str(parsed.get("error"))
        return code, f"HTTP {status} {code}: {parsed.get('error_description')}"


def make_client(conn: SourceConnection, **client_options: Any) -> HttpClient:
    return bearer_client(conn, EventbriteDialect(), "private token", **client_options)


def parse_eb_time(value: Any) -> datetime:
    """``2026-05-04T02:13:00Z`` -> aware UTC datetime."""
    return parse_aware_time(value, zulu=True)


def eb_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime(TIME_FORMAT)


def attendees_params(changed_since: str | None, continuation: str | None) -> dict[str, str]:
    params = {}
    if changed_since:
        params["changed_since"] = changed_since
    if continuation:
        params["continuation"] = continuation
    return params


def _more(body: Mapping[str, Any]) -> str | None:
    pagination = body.get("pagination") or {}
    if not pagination.get("has_more_items"):
        return None
    return pagination.get("continuation") or None


def list_events(client: HttpClient, organization_id: str) -> list[str]:
    def fetch(continuation: str | None) -> tuple[list[Any], str | None]:
        params = {"status": "all", **attendees_params(None, continuation)}
        body = client.get(f"/v3/organizations/{organization_id}/events/", params=params)
        return body_list(body, "events", f"events of organization {organization_id}"), _more(body)

    events = (e for page in follow_cursor(fetch) for e in page)
    return [str(e["id"]) for e in events if isinstance(e, dict) and e.get("id")]


def attendee_status(record: Mapping[str, Any]) -> list[Any]:
    """The funnel stage value of an attendee: its ``status``."""
    return [record.get("status")]


@dataclass(kw_only=True)
class AttendeesStream(ApiStream):
    """The attendees of one event; ``account_id`` is the organization, the watermark per event."""

    event_id: str
    start: datetime
    source: str = SOURCE
    object: str = "attendees"

    @property
    def state_key(self) -> str:
        return self.event_id

    def parse(self, record: dict[str, Any]) -> Parsed:
        attendee_id = required_id(record)
        if not record.get("changed"):
            raise missing("changed")
        return Parsed(attendee_id, parse_eb_time(record["changed"]))

    def _fetch(self, run: dict[str, Any]) -> tuple[list[Any], str | None]:
        body = self.client.get(
            f"/v3/events/{self.event_id}/attendees/",
            params=attendees_params(run["changed_since"], run["continuation"]),
        )
        return body_list(body, "attendees", f"attendees of event {self.event_id}"), _more(body)

    def _newest(self, max_seen: str | None, record: Any) -> str | None:
        try:
            changed = self.parse(record).updated_at
        except (RecordInvalid, AttributeError):
            return max_seen
        if max_seen is None or changed > parse_eb_time(max_seen):
            return eb_time(changed)
        return max_seen

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        state = state or {}
        since = state.get("since")
        run = state.get("run")
        if run is None:
            if since:
                changed_since = eb_time(parse_eb_time(since) + timedelta(seconds=1))
            else:
                changed_since = eb_time(self.start)
            run = {"changed_since": changed_since, "continuation": None, "max_seen": since}
        yield from resumable_pages(
            since, run, cursor_key="continuation", fetch=self._fetch, newest=self._newest
        )


def attendee_streams(ctx: ExtractContext) -> Iterator[AttendeesStream]:
    organization_id = str(ctx.account["organization_id"])
    events = ctx.account.get("event_ids") or list_events(ctx.client, organization_id)
    start, stages = ctx.start_datetime(), ctx.stage_check(attendee_status)
    for event_id in events:
        yield AttendeesStream(
            **ctx.common("organization_id"), event_id=str(event_id), start=start, stages=stages
        )


STREAMS = {"attendees": attendee_streams}

"""Eventbrite connector: error codes, incremental paging (in-memory transport)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sources_wire import START, H, client

from dealerfunnel.sources import eventbrite as eb
from dealerfunnel.sources.loader import RecordInvalid

# -- Eventbrite -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error", "kind"),
    [
        (429, "HIT_RATE_LIMIT", "rate_limited"),
        (401, "INVALID_AUTH", "auth"),
        (403, "NOT_AUTHORIZED", "auth"),
        (400, "ARGUMENTS_ERROR", "fatal"),
        (404, "NOT_FOUND", "fatal"),
        (500, "INTERNAL_ERROR", "retry"),
    ],
)
def test_eventbrite_errors(status, error, kind):
    body = json.dumps({"status_code": status, "error": error, "error_description": "d"})
    assert eb.EventbriteDialect().classify(status, H, body).kind == kind


def test_eventbrite_incremental_asks_one_second_after_the_watermark_and_keeps_continuation():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        query = parse_qs(urlsplit(str(request.url)).query)
        calls.append({k: v[0] for k, v in query.items()})
        if "continuation" not in query:
            pagination = {"has_more_items": True, "continuation": "tok2"}
            people = [{"id": "1", "changed": "2026-05-06T00:00:00Z"}]
        else:
            pagination = {"has_more_items": False}
            people = [{"id": "2", "changed": "2026-05-05T00:00:00Z"}, {"id": "3"}]
        return httpx.Response(200, json={"pagination": pagination, "attendees": people})

    stream = eb.AttendeesStream(
        client=client(handler),
        dealer_code="SH001",
        account_id="55",
        event_id="801",
        start=START,
    )
    pages = list(stream.pages({"since": "2026-05-04T10:00:00Z", "run": None}))
    assert calls == [
        {"changed_since": "2026-05-04T10:00:01Z"},
        {"changed_since": "2026-05-04T10:00:01Z", "continuation": "tok2"},
    ]
    assert pages[0].state == {
        "since": "2026-05-04T10:00:00Z",
        "run": {"changed_since": "2026-05-04T10:00:01Z", "continuation": "tok2",
                "max_seen": "2026-05-06T00:00:00Z"},
    }  # fmt: skip
    assert pages[1].state == {"since": "2026-05-06T00:00:00Z", "run": None}
    with pytest.raises(RecordInvalid, match="'changed'"):
        stream.parse({"id": "3"})


def test_eventbrite_attendee_stage_value_is_its_status():
    assert eb.attendee_status({"status": "Checked In"}) == ["Checked In"]
    assert eb.attendee_status({}) == [None]

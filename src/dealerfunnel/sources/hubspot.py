"""HubSpot CRM API v3 connector: contacts, deals with their stage history, owners, pipelines,
engagements (calls, meetings, e-mails, notes) and survey responses (feedback submissions).

Written against the CRM v3 wire format as documented (developers.hubspot.com/docs/api/crm,
"CRM API | Search" and the v3 reference for objects, owners and pipelines; checked against the
2026-03 reference pages, which keep the v3 bodies):

- *Search* ``POST /crm/v3/objects/{contacts|deals}/search`` with ``{"filterGroups": [{"filters":
  [{"propertyName", "operator": "GT"|"GTE"|"EQ", "value"}]}], "sorts": [{"propertyName",
  "direction": "ASCENDING"}], "properties": [...], "limit" (<= 100), "after"}`` returns
  ``{"total", "results": [{"id", "properties", "createdAt", "updatedAt", "archived"}],
  "paging": {"next": {"after", "link"}}}``. Date filters take epoch milliseconds. A search
  returns at most 10,000 results per query (``after`` beyond that is a 400): the stream then
  restarts the query from the newest last-modified time read (``GTE``).
- *Batch read* ``POST /crm/v3/objects/deals/batch/read`` with ``{"inputs": [{"id"}],
  "properties", "propertiesWithHistory": ["dealstage"]}`` returns ``{"status", "results":
  [{..., "propertiesWithHistory": {"dealstage": [{"value", "timestamp", "sourceType"}]}}]}``
  (search cannot return property history, so each page of changed deals is read this way).
- *Associations v4 batch read* ``POST /crm/v4/associations/deals/contacts/batch/read`` with
  ``{"inputs": [{"id", "after"?}]}`` (<= 1,000 inputs) returns ``{"status", "results": [{"from":
  {"id"}, "to": [{"toObjectId", "associationTypes": [{"category", "typeId", "label"}]}],
  "paging"?: {"next": {"after"}}}], "errors"?}`` (HTTP 207 with ``errors`` when some deals have
  no association). Search and batch read return no associations, so each page of changed deals
  is followed by this read; the deal's contacts are stored in the deal payload as
  ``associations.contacts``: the v4 ``to`` entries exactly as returned (every page of them).
  A change of a deal's associations updates its ``hs_lastmodifieddate``, so the search finds it.
- *Engagements* ``POST /crm/v3/objects/{calls|meetings|emails|notes}/search`` like contacts and
  deals (``hs_lastmodifieddate``), filtered on the owner's team (``hubspot_team_id`` EQ the
  account's ``team_id``); each page is followed by the v4 associations read to contacts
  (``/crm/v4/associations/{object}/contacts/batch/read``), stored as ``associations.contacts``.
  Meetings also carry ``hs_activity_type`` (the portal's "call and meeting type", e.g. "Test
  drive", "Delivery": mapped to an activity in dbt) and ``hs_meeting_outcome`` (``SCHEDULED``,
  ``COMPLETED``, ``RESCHEDULED``, ``NO_SHOW``, ``CANCELED``).
- *Survey responses* ``POST /crm/v3/objects/feedback_submissions/search`` (read-only object;
  ``hs_survey_type`` NPS / CSAT / CES / CUSTOM, ``hs_response_value``, ``hs_submission_timestamp``,
  ``hs_sentiment``, ``hs_content``) on ``hs_lastmodifieddate``. A submission has no dealer
  property nor team: each page is followed by the v4 associations read to contacts, then a
  contacts batch read (``POST /crm/v3/objects/contacts/batch/read``, the ``dealer_property``)
  keeps the submissions of the dealer's contacts; one whose contacts are no dealer's is left to
  the dealer it belongs to (every dealer of the portal reads the same pages).
- *Owners* ``GET /crm/v3/owners?limit=&after=`` (``teams`` per owner); *pipelines*
  ``GET /crm/v3/pipelines/deals/{pipelineId}`` (``stages: [{id, label, displayOrder,
  metadata}]``: the stage id -> label map).
- *Errors* ``{"status": "error", "message", "correlationId", "category"}``: 429 /
  ``RATE_LIMITS`` are retried (``Retry-After`` when sent, else backoff); 401
  ``INVALID_AUTHENTICATION`` / 403 ``MISSING_SCOPES`` are auth failures; 5xx are retried;
  ``VALIDATION_ERROR`` and other 4xx are fatal.

Connection (``hubspot``): host = ``https://api.hubapi.com``, password = private app access
token. Accounts (``hubspot.dealers``): ``portal_id`` (the raw ``account_id``), ``team_id``
(the dealer's owners), optional ``dealer_value`` (value of the contact / deal property
``options.dealer_property``, default ``dealer_code``; default: the dealer code); options:
:class:`Options`.

Incremental (contacts on ``lastmodifieddate``, deals on ``hs_lastmodifieddate``): state
``{"since": <epoch ms of the newest committed record>, "inclusive"}`` committed per page,
like :mod:`.salesforce` (resume with ``GTE``, complete runs end with ``GT``). Owners and
pipelines are small snapshots re-read each run (the merge changes only what changed).

Stages: deal ``dealstage`` ids and contact ``lifecyclestage`` values are mapped by the stage
mapping (``hubspot``) in dbt staging; a deal whose current ``dealstage`` or a ``dealstage`` of its
history is not in the mapping, or a contact whose ``lifecyclestage`` is not, is quarantined at
load time (``unknown stage 'x' for source hubspot``). The contact's stage moves are its
``hs_lifecyclestage_<stage>_date`` properties (when it entered each lifecycle stage).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from dealerfunnel.sources.config import Account as _Account
from dealerfunnel.sources.config import SourceConnection, SourceOptions, Text
from dealerfunnel.sources.errors import ApiError
from dealerfunnel.sources.httpclient import CodedErrorDialect, HttpClient
from dealerfunnel.sources.loader import Page, Parsed, RecordInvalid
from dealerfunnel.sources.streams import (
    ApiStream,
    ExtractContext,
    bearer_client,
    body_list,
    missing,
    parse_aware_time,
    required_id,
)

SOURCE = "hubspot"
SEARCH_CAP = 10_000


class Account(_Account):
    portal_id: Text(r"\d+")
    team_id: Text(r"\d+")
    dealer_value: Text(r"[A-Za-z0-9_\-]+") | None = None  # default: the dealer code


class Options(SourceOptions):
    page_size: int = Field(100, ge=1, le=100)  # search ``limit`` (max 100)
    dealer_property: Text(r"[A-Za-z0-9_]+") = "dealer_code"  # contact / deal property
    pipeline_id: Text(r"[A-Za-z0-9_\-]+") = "default"  # the pipeline whose stages are read
    search_cap: int = Field(SEARCH_CAP, ge=1)  # results per search query


# HubSpot's default contact lifecycle stages (internal values of ``lifecyclestage``); entering
# one stamps the contact's ``hs_lifecyclestage_<stage>_date`` ("Became a ... date")
LIFECYCLE_STAGES = (
    "subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity",
    "customer", "evangelist", "other",
)  # fmt: skip
CONTACT_PROPERTIES = (
    "email",
    "firstname",
    "lastname",
    "phone",
    "lifecyclestage",
    "hs_lead_status",
    "hubspot_owner_id",
    "car_model",
    "dealer_code",
    "createdate",
    "lastmodifieddate",
    "hubspot_owner_assigneddate",  # when the current owner was set
    "hs_analytics_source",  # original source (PAID_SOCIAL, OFFLINE, ...): the channel
    *(f"hs_lifecyclestage_{stage}_date" for stage in LIFECYCLE_STAGES),  # the stage moves
)
DEAL_PROPERTIES = (
    "dealname", "dealstage", "pipeline", "amount", "deal_currency_code", "closedate",
    "hubspot_owner_id", "dealer_code", "createdate", "hs_lastmodifieddate",
)  # fmt: skip
ASSOCIATION_BATCH = 1000  # inputs per v4 associations batch read
# Engagements (activities): calls, meetings, e-mails and notes, each its own CRM object with
# ``hs_timestamp`` (when it happened), the owner and the owner's team (``hubspot_team_id``: the
# dealer's team, how engagements are tied to a dealer; they carry no dealer property).
ENGAGEMENT_PROPERTIES = {
    "calls": ("hs_call_title", "hs_call_direction", "hs_call_disposition", "hs_call_status",
              "hs_call_duration"),
    "meetings": ("hs_meeting_title", "hs_meeting_outcome", "hs_meeting_start_time",
                 "hs_meeting_end_time", "hs_activity_type"),
    "emails": ("hs_email_subject", "hs_email_direction", "hs_email_status"),
    "notes": ("hs_note_body",),
}  # fmt: skip
ENGAGEMENT_COMMON = (
    "hs_timestamp", "hubspot_owner_id", "hubspot_team_id", "hs_createdate", "hs_lastmodifieddate",
)  # fmt: skip
# Survey responses (NPS, CSAT, CES): the answer, the survey and when it was submitted.
FEEDBACK_PROPERTIES = (
    "hs_survey_id", "hs_survey_name", "hs_survey_type", "hs_survey_channel", "hs_response_value",
    "hs_sentiment", "hs_content", "hs_submission_timestamp", "hs_createdate",
    "hs_lastmodifieddate",
)  # fmt: skip
FEEDBACK = "feedback_submissions"
CONTACT_BATCH = 100  # inputs per contacts batch read
# objects read with their contacts
WITH_CONTACTS = frozenset({"deals", FEEDBACK, *ENGAGEMENT_PROPERTIES})


class HubSpotDialect(CodedErrorDialect):
    """``{"status": "error", "message", "correlationId", "category"}`` error bodies."""

    AUTH_CODES = frozenset({"INVALID_AUTHENTICATION", "MISSING_SCOPES", "EXPIRED_AUTHENTICATION"})
    THROTTLE_CODES = frozenset({"RATE_LIMITS"})

    def describe(self, status: int, parsed: Any) -> tuple[str, str] | None:
        if not isinstance(parsed, dict) or "category" not in parsed:
            return None
        category = str(parsed.get("category"))
        return category, (
            f"HTTP {status} {category}: {parsed.get('message')} "
            f"[correlationId {parsed.get('correlationId')}]"
        )


def make_client(conn: SourceConnection, **client_options: Any) -> HttpClient:
    return bearer_client(conn, HubSpotDialect(), "private app token", **client_options)


# -- request building / parsing ---------------------------------------------------------------


def search_body(
    *,
    cursor: str,
    since_ms: int,
    inclusive: bool,
    dealer_property: str | None,
    dealer_value: str | None,
    properties: tuple[str, ...],
    limit: int,
    after: str | None,
) -> dict[str, Any]:
    filters = [
        {"propertyName": cursor, "operator": "GTE" if inclusive else "GT", "value": str(since_ms)}
    ]
    if dealer_property is not None:  # None: the object has no dealer property (surveys)
        filters.append({"propertyName": dealer_property, "operator": "EQ", "value": dealer_value})
    body: dict[str, Any] = {
        "filterGroups": [{"filters": filters}],
        "sorts": [{"propertyName": cursor, "direction": "ASCENDING"}],
        "properties": list(properties),
        "limit": min(int(limit), 100),
    }
    if after:
        body["after"] = after
    return body


def parse_hs_time(value: Any) -> datetime:
    """``2026-05-04T02:13:00.123Z`` (or epoch milliseconds) -> aware UTC datetime."""
    if isinstance(value, str) and value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    return parse_aware_time(value, zulu=True)


def to_ms(value: datetime) -> int:
    return round(value.timestamp() * 1000)


def next_after(body: Mapping[str, Any]) -> str | None:
    return ((body.get("paging") or {}).get("next") or {}).get("after") or None


def _results(body: Any, what: str) -> list[Any]:
    return body_list(body, "results", what)


def association_pages(body: Any) -> tuple[dict[str, list[Any]], dict[str, str]]:
    """A v4 associations batch read: ``{from id: [to entries]}`` and ``{from id: next after}``."""
    found: dict[str, list[Any]] = {}
    more: dict[str, str] = {}
    for result in _results(body, "associations batch read"):
        if not isinstance(result, dict) or not isinstance(result.get("from"), dict):
            raise ApiError("associations batch read: a result without 'from'")
        from_id = str(result["from"].get("id"))
        found.setdefault(from_id, []).extend(
            entry for entry in result.get("to") or [] if isinstance(entry, dict)
        )
        after = next_after(result)
        if after:
            more[from_id] = after
    return found, more


def contact_stages(record: Mapping[str, Any]) -> list[Any]:
    """A contact's funnel stage value: its ``lifecyclestage``."""
    return [(record.get("properties") or {}).get("lifecyclestage")]


def deal_stages(record: Mapping[str, Any]) -> list[Any]:
    """A deal's funnel stage values: its ``dealstage`` and those of its stage history."""
    values = [(record.get("properties") or {}).get("dealstage")]
    history = (record.get("propertiesWithHistory") or {}).get("dealstage")
    if isinstance(history, list):
        values += [entry.get("value") for entry in history if isinstance(entry, dict)]
    return values


# -- streams ----------------------------------------------------------------------------------


@dataclass(kw_only=True)
class SearchStream(ApiStream):
    """Contacts or deals changed since the watermark, via the search endpoint.

    ``account_id`` is the portal; the watermark is per portal and dealer value.
    """

    dealer_value: str
    object: str  # contacts, deals, calls, meetings, emails, notes, feedback_submissions
    start: datetime
    dealer_property: str = "dealer_code"
    team_id: str | None = None  # engagements are the dealer team's (hubspot_team_id)
    page_size: int = 100
    search_cap: int = SEARCH_CAP
    source: str = SOURCE

    @property
    def state_key(self) -> str:
        return f"{self.account_id}:{self.dealer_value}"

    @property
    def cursor(self) -> str:
        return "lastmodifieddate" if self.object == "contacts" else "hs_lastmodifieddate"

    @property
    def properties(self) -> tuple[str, ...]:
        if self.object in ENGAGEMENT_PROPERTIES:
            return (*ENGAGEMENT_COMMON, *ENGAGEMENT_PROPERTIES[self.object])
        if self.object == FEEDBACK:
            return FEEDBACK_PROPERTIES
        return CONTACT_PROPERTIES if self.object == "contacts" else DEAL_PROPERTIES

    @property
    def dealer_filter(self) -> tuple[str | None, str | None]:
        """(property, value) tying a record to the dealer; (None, None): no search filter (a
        survey response is the dealer's through its contacts, :meth:`_of_dealer`)."""
        if self.object == FEEDBACK:
            return None, None
        if self.object in ENGAGEMENT_PROPERTIES:
            if not self.team_id:
                raise ApiError(f"{self.object}: the account has no team_id")
            return "hubspot_team_id", self.team_id
        return self.dealer_property, self.dealer_value

    def parse(self, record: dict[str, Any]) -> Parsed:
        record_id = required_id(record)
        value = (record.get("properties") or {}).get(self.cursor)
        if not value:
            raise missing(self.cursor)
        return Parsed(record_id, parse_hs_time(value))

    def _read_deals(self, ids: list[str]) -> list[Any]:
        if not ids:
            return []
        body = self.client.post(
            "/crm/v3/objects/deals/batch/read",
            json_body={
                "inputs": [{"id": i} for i in ids],
                "properties": list(DEAL_PROPERTIES),
                "propertiesWithHistory": ["dealstage"],
            },
        )
        return self._with_contacts(_results(body, "deals batch read"))

    def _with_contacts(self, deals: list[Any]) -> list[Any]:
        """Each record with ``associations.contacts`` (v4 ``to`` entries; ``[]`` when none)."""
        present = [d for d in deals if isinstance(d, dict) and d.get("id")]
        ids = list(dict.fromkeys(str(d["id"]) for d in present))  # a page may repeat a record
        contacts: dict[str, list[Any]] = {i: [] for i in ids}
        for start in range(0, len(ids), ASSOCIATION_BATCH):
            inputs = [{"id": i} for i in ids[start : start + ASSOCIATION_BATCH]]
            while inputs:  # a deal with more associations than one page is read again
                body = self.client.post(
                    f"/crm/v4/associations/{self.object}/contacts/batch/read",
                    json_body={"inputs": inputs},
                )
                found, more = association_pages(body)
                for deal_id, entries in found.items():
                    contacts.setdefault(deal_id, []).extend(entries)
                inputs = [{"id": i, "after": after} for i, after in more.items()]
        for deal in deals:
            if isinstance(deal, dict) and deal.get("id"):
                associations = dict(deal.get("associations") or {})
                associations["contacts"] = contacts.get(str(deal["id"]), [])
                deal["associations"] = associations
        return deals

    def _of_dealer(self, records: list[Any]) -> list[Any]:
        """The records (with ``associations.contacts``) one of whose contacts is the dealer's:
        the contacts' ``dealer_property`` read in batches (contacts batch read)."""
        ids = list(
            dict.fromkeys(
                str(entry.get("toObjectId"))
                for record in records
                if isinstance(record, dict)
                for entry in (record.get("associations") or {}).get("contacts") or []
                if entry.get("toObjectId") is not None
            )
        )
        dealers: dict[str, Any] = {}
        for start in range(0, len(ids), CONTACT_BATCH):
            body = self.client.post(
                "/crm/v3/objects/contacts/batch/read",
                json_body={
                    "inputs": [{"id": i} for i in ids[start : start + CONTACT_BATCH]],
                    "properties": [self.dealer_property],
                },
            )
            for contact in _results(body, "contacts batch read"):
                if isinstance(contact, dict) and contact.get("id"):
                    value = (contact.get("properties") or {}).get(self.dealer_property)
                    dealers[str(contact["id"])] = value
        return [
            record
            for record in records
            if not isinstance(record, dict)  # kept: the loader quarantines it
            or any(
                dealers.get(str(entry.get("toObjectId"))) == self.dealer_value
                for entry in (record.get("associations") or {}).get("contacts") or []
            )
        ]

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        state = state or {}
        newest = state.get("since")
        since = int(newest) if newest is not None else to_ms(self.start)
        inclusive = bool(state.get("inclusive")) if newest is not None else True
        after = None
        filter_property, filter_value = self.dealer_filter
        while True:
            body = self.client.post(
                f"/crm/v3/objects/{self.object}/search",
                json_body=search_body(
                    cursor=self.cursor,
                    since_ms=since,
                    inclusive=inclusive,
                    dealer_property=filter_property,
                    dealer_value=filter_value,
                    properties=self.properties,
                    limit=self.page_size,
                    after=after,
                ),
            )
            found = _results(body, f"{self.object} search")
            for record in found:
                try:
                    stamp = to_ms(self.parse(record).updated_at)
                except (RecordInvalid, AttributeError):
                    continue
                newest = stamp if newest is None else max(int(newest), stamp)
            if self.object == "deals":
                ids = [str(r["id"]) for r in found if isinstance(r, dict) and r.get("id")]
                records = self._read_deals(list(dict.fromkeys(ids)))
            elif self.object == FEEDBACK:
                records = self._of_dealer(self._with_contacts(found))
            elif self.object in WITH_CONTACTS:
                records = self._with_contacts(found)
            else:
                records = found
            after = next_after(body)
            if after is None:
                yield Page(records, {"since": newest, "inclusive": False})
                return
            yield Page(records, {"since": newest, "inclusive": True})
            if int(after) + self.page_size > self.search_cap:
                # the search window is full: restart from the newest record read
                if newest is None or (int(newest) == since and inclusive):
                    raise ApiError(
                        f"{self.object} search: more than {self.search_cap} records share "
                        f"{self.cursor} {since}; cannot page further"
                    )
                since, inclusive, after = int(newest), True, None


@dataclass(kw_only=True)
class SnapshotStream(ApiStream):
    """A small list re-read every run (owners, pipelines): ``id`` and ``updatedAt`` when sent.

    The watermark row is ``<portal>:<key>`` (``key``: what the subclass reads).
    """

    key: str
    source: str = SOURCE

    @property
    def state_key(self) -> str:
        return f"{self.account_id}:{self.key}"

    def parse(self, record: dict[str, Any]) -> Parsed:
        if not record.get("id"):
            raise missing("id")
        updated = record.get("updatedAt")
        return Parsed(str(record["id"]), parse_hs_time(updated) if updated else None)


@dataclass(kw_only=True)
class OwnersStream(SnapshotStream):
    """The owners of the dealer's team (``key``: ``team-<team id>``)."""

    team_id: str
    page_size: int = 100
    object: str = "owners"

    def _fetch(self, after: str | None) -> tuple[list[Any], str | None]:
        params = {"limit": str(min(self.page_size, 500)), "archived": "false"}
        if after:
            params["after"] = after
        body = self.client.get("/crm/v3/owners", params=params)
        owners = [
            o
            for o in _results(body, "owners")
            if any(str(t.get("id")) == self.team_id for t in (o.get("teams") or []))
        ]
        return owners, next_after(body)

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        after = (state or {}).get("after")  # None: from the first page
        while True:
            owners, after = self._fetch(after)
            yield Page(owners, {"after": after})
            if after is None:
                return


@dataclass(kw_only=True)
class PipelinesStream(SnapshotStream):
    """The deal pipeline: stage id -> label (``key``: ``deals:<pipeline id>``)."""

    pipeline_id: str
    object: str = "pipelines"

    def parse(self, record: dict[str, Any]) -> Parsed:
        parsed = super().parse(record)
        if not isinstance(record.get("stages"), list):
            raise missing("stages")
        return parsed

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        body = self.client.get(f"/crm/v3/pipelines/deals/{self.pipeline_id}")
        if not isinstance(body, dict):
            raise ApiError(f"pipeline {self.pipeline_id}: not an object")
        yield Page([body], {"read": True})


STAGE_VALUES = {"contacts": contact_stages, "deals": deal_stages}  # checked at load time


def _search_factory(obj: str):
    def streams(ctx: ExtractContext) -> Iterator[SearchStream]:
        options = ctx.options
        yield SearchStream(
            **ctx.common("portal_id"),
            dealer_value=ctx.dealer_value,
            object=obj,
            start=ctx.start_datetime(),
            dealer_property=options.dealer_property,
            page_size=options.page_size,
            search_cap=options.search_cap,
            team_id=str(ctx.account["team_id"]),
            stages=ctx.stage_check(STAGE_VALUES[obj]) if obj in STAGE_VALUES else None,
        )

    streams.__name__ = f"{obj}_streams"
    return streams


def owner_streams(ctx: ExtractContext) -> Iterator[OwnersStream]:
    team_id = str(ctx.account["team_id"])
    yield OwnersStream(
        **ctx.common("portal_id"),
        key=f"team-{team_id}",
        team_id=team_id,
        page_size=ctx.options.page_size,
    )


def pipeline_streams(ctx: ExtractContext) -> Iterator[PipelinesStream]:
    pipeline_id = ctx.options.pipeline_id
    yield PipelinesStream(
        **ctx.common("portal_id"), key=f"deals:{pipeline_id}", pipeline_id=pipeline_id
    )


STREAMS = {
    "contacts": _search_factory("contacts"),
    "deals": _search_factory("deals"),
    "owners": owner_streams,
    "pipelines": pipeline_streams,
    **{obj: _search_factory(obj) for obj in ENGAGEMENT_PROPERTIES},
    FEEDBACK: _search_factory(FEEDBACK),
}

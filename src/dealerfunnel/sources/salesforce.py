"""Salesforce REST API connector: Lead, Opportunity, their stage history, Task, Event and User
(v60.0).

Written against the REST API wire format as documented (Salesforce REST API Developer Guide,
checked for API v60.0 and the current v66.0 pages):

- *OAuth 2.0* (help.salesforce.com, "OAuth 2.0 Refresh Token Flow" / "Client Credentials
  Flow"): ``POST /services/oauth2/token`` with ``grant_type=refresh_token`` (``client_id``,
  ``client_secret``, ``refresh_token``) or ``grant_type=client_credentials`` returns
  ``{"access_token", "instance_url", "id", "token_type", "issued_at", "signature"}`` (no
  ``expires_in``: the session lasts until it is rejected with 401 ``INVALID_SESSION_ID``, when
  the client refreshes once).
- *Query* (developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm,
  ``dome_query.htm``): ``GET /services/data/vXX.X/query?q=<SOQL>`` returns ``{"totalSize",
  "done", "records": [{"attributes": {"type", "url"}, ...}], "nextRecordsUrl"}``;
  ``nextRecordsUrl`` (``/services/data/vXX.X/query/01g...-2000``) is present while ``done`` is
  false and is followed as is. The batch size is asked for with the ``Sforce-Query-Options:
  batchSize=n`` header (the server may return fewer).
- *Errors* (``errorcodes.htm``): a JSON array ``[{"message", "errorCode", "fields"?}]``.
  ``INVALID_SESSION_ID`` (401) is an auth failure (one token refresh, then fail);
  ``REQUEST_LIMIT_EXCEEDED`` (403) is the API rate limit (retried with backoff);
  ``SERVER_UNAVAILABLE`` / 5xx are retried; ``MALFORMED_QUERY``, ``INVALID_FIELD``,
  ``INVALID_QUERY_LOCATOR`` (400) are fatal. Token endpoint errors are RFC 6749
  ``{"error", "error_description"}`` (``invalid_grant``: auth failure).

SOQL per object (``<field>`` is ``options.dealer_field``, default ``Dealer_Code__c``, a custom
field holding the dealer's value; history rows are filtered through their parent)::

    SELECT <fields> FROM Lead WHERE <field> = 'SH001' AND SystemModstamp > 2026-05-04T00:00:00Z
    ORDER BY SystemModstamp, Id

Events (``Event``: calendar entries such as showroom visits, test drives and deliveries, with
``Type`` (the org's picklist), ``StartDateTime`` / ``EndDateTime``, ``WhoId`` (a Lead) and
``WhatId`` (an Opportunity)) are read like Tasks; dbt maps ``Type`` to an activity.

Incremental on ``SystemModstamp`` (``LeadHistory`` / ``OpportunityHistory``: ``CreatedDate``,
they are immutable). State ``{"since": "<ISO of the newest committed record>", "inclusive"}``,
committed with each page: records come oldest first, so after a page everything up to its
last record is stored; mid-run the state is ``inclusive`` (a resumed query uses ``>=``, ties
straddling pages are re-read and absorbed by the idempotent merge), a complete run ends with
``inclusive = false`` (``>``). A crash therefore never needs the (expiring) query locator.

Connection (``salesforce``): host = the org's My Domain URL (``https://<domain>.my.salesforce
.com``); extra ``client_id``, ``client_secret`` and ``refresh_token`` (omit it for the client
credentials flow), optional ``token_url`` (default ``<host>/services/oauth2/token``),
``api_version``. Accounts (``salesforce.dealers``): ``org_id`` (the raw ``account_id``),
optional ``dealer_value`` (default: the dealer code); options: :class:`Options`.

Owner history: ``LeadHistory`` rows of every field are read (``Field = 'Owner'`` ones give the
assignment time: Salesforce writes an owner change as two rows, ids and names). Currency: with
``options.multi_currency`` (an org with multiple currencies enabled) ``CurrencyIsoCode`` is
selected on Opportunity and OpportunityHistory; in a single-currency org the field does not
exist (``INVALID_FIELD``), so it is off by default.

Stages: ``Lead.Status``, ``Opportunity.StageName``, ``OpportunityHistory.StageName`` and the
``NewValue`` of a ``LeadHistory`` row of the ``Status`` field are mapped by the stage mapping
(``salesforce``) in dbt staging; raw keeps the payload as is, and a record with a value the
mapping does not know is quarantined at load time (``unknown stage 'x' for source salesforce``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from dealerfunnel.sources.config import Account as _Account
from dealerfunnel.sources.config import SourceConnection, SourceOptions, Text
from dealerfunnel.sources.httpclient import (
    CodedErrorDialect,
    Failure,
    HttpClient,
    OAuth2RefreshToken,
    OAuthTokenDialect,
)
from dealerfunnel.sources.loader import Page, Parsed, RecordInvalid
from dealerfunnel.sources.streams import (
    ApiStream,
    ExtractContext,
    body_list,
    missing,
    parse_aware_time,
    required_id,
    token_client,
)

SOURCE = "salesforce"
USERS_SINCE = datetime(2000, 1, 1, tzinfo=UTC)  # users exist before the first lead


class Account(_Account):
    org_id: Text(r"00D[A-Za-z0-9]{12}([A-Za-z0-9]{3})?")
    dealer_value: Text(r"[A-Za-z0-9_\-]+") | None = None  # default: the dealer code


class Options(SourceOptions):
    page_size: int = Field(2000, ge=1, le=2000)  # Sforce-Query-Options batchSize
    dealer_field: Text(r"[A-Za-z0-9_]+") = "Dealer_Code__c"  # ties records to a dealer
    # the org has multiple currencies enabled: CurrencyIsoCode exists on Opportunity and
    # OpportunityHistory (selecting it in a single-currency org is an INVALID_FIELD error)
    multi_currency: bool = False


AUTH_CODES = frozenset({"INVALID_SESSION_ID", "INVALID_AUTH_HEADER", "INSUFFICIENT_ACCESS"})
THROTTLE_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED", "TXN_SECURITY_API_LIMIT"})
RETRY_CODES = frozenset({"SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION", "QUERY_TIMEOUT"})


@dataclass(frozen=True)
class SObject:
    name: str  # sObject API name
    fields: tuple[str, ...]
    cursor: str  # incremental field (SystemModstamp, or CreatedDate for history rows)
    dealer_path: str  # "{field}" or "Lead.{field}": how a row is tied to the dealer
    stages: Callable[[Mapping[str, Any]], list[Any]] | None = None  # its funnel stage values
    has_currency: bool = False  # carries CurrencyIsoCode in a multi-currency org

    def select(self, *, multi_currency: bool = False) -> tuple[str, ...]:
        """The fields to query: ``CurrencyIsoCode`` too where the org has it."""
        if multi_currency and self.has_currency:
            return (*self.fields, "CurrencyIsoCode")
        return self.fields


def _field(name: str) -> Callable[[Mapping[str, Any]], list[Any]]:
    return lambda record: [record.get(name)]


def _status_change(record: Mapping[str, Any]) -> list[Any]:
    """A LeadHistory row's stage value: ``NewValue`` of a change of ``Status``."""
    return [record.get("NewValue")] if record.get("Field") == "Status" else []


OBJECTS: dict[str, SObject] = {
    "leads": SObject(
        "Lead",
        (
            "Id", "FirstName", "LastName", "Company", "Phone", "MobilePhone", "Email", "Status",
            "LeadSource",
            "Rating", "OwnerId", "IsConverted", "ConvertedOpportunityId", "Model_of_Interest__c",
            "Dealer_Code__c", "CreatedDate", "LastModifiedDate", "SystemModstamp",
        ),
        "SystemModstamp",
        "{field}",
        _field("Status"),
    ),
    "opportunities": SObject(
        "Opportunity",
        (
            "Id", "Name", "StageName", "Amount", "CloseDate", "IsClosed", "IsWon", "OwnerId",
            "LeadSource", "Dealer_Code__c", "CreatedDate", "LastModifiedDate", "SystemModstamp",
        ),
        "SystemModstamp",
        "{field}",
        _field("StageName"),
        has_currency=True,
    ),
    "lead_history": SObject(
        "LeadHistory",
        ("Id", "LeadId", "Field", "OldValue", "NewValue", "CreatedById", "CreatedDate"),
        "CreatedDate",
        "Lead.{field}",
        _status_change,
    ),
    "opportunity_history": SObject(
        "OpportunityHistory",
        (
            "Id", "OpportunityId", "StageName", "Amount", "CloseDate", "Probability",
            "CreatedById", "CreatedDate", "SystemModstamp",
        ),
        "CreatedDate",
        "Opportunity.{field}",
        _field("StageName"),
        has_currency=True,
    ),
    "tasks": SObject(
        "Task",
        (
            "Id", "WhoId", "WhatId", "Subject", "Status", "Priority", "ActivityDate",
            "TaskSubtype", "CompletedDateTime", "OwnerId", "Dealer_Code__c", "CreatedDate",
            "SystemModstamp",
        ),
        "SystemModstamp",
        "{field}",
    ),
    # calendar events (showroom visits, test drives, deliveries): Type is the org's picklist
    # value, mapped to the canonical activity in dbt (seeds/activity_mapping.csv)
    "events": SObject(
        "Event",
        (
            "Id", "WhoId", "WhatId", "OwnerId", "Subject", "Type", "StartDateTime",
            "EndDateTime", "Dealer_Code__c", "CreatedDate", "LastModifiedDate", "SystemModstamp",
        ),
        "SystemModstamp",
        "{field}",
    ),
    "users": SObject(
        "User",
        ("Id", "Name", "Username", "Email", "IsActive", "Title", "Dealer_Code__c",
         "SystemModstamp"),
        "SystemModstamp",
        "{field}",
    ),
}  # fmt: skip


class SalesforceDialect(CodedErrorDialect):
    """Classify Salesforce REST error bodies ``[{"message", "errorCode"}]``."""

    AUTH_CODES = frozenset({"INVALID_SESSION_ID", "INVALID_AUTH_HEADER", "INSUFFICIENT_ACCESS"})
    THROTTLE_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED", "TXN_SECURITY_API_LIMIT"})
    RETRY_CODES = frozenset({"SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION", "QUERY_TIMEOUT"})
    AUTH_STATUSES = frozenset({401})  # 403 is also REQUEST_LIMIT_EXCEEDED

    def describe(self, status: int, parsed: Any) -> tuple[str, str] | None:
        errors = parsed if isinstance(parsed, list) else [parsed]
        first = errors[0] if errors and isinstance(errors[0], dict) else None
        if first is None or "errorCode" not in first:
            return None
        code = str(first.get("errorCode"))
        return code, f"HTTP {status} {code}: {first.get('message')}"


class SalesforceTokenDialect(OAuthTokenDialect):
    """The token endpoint: RFC 6749 errors, but a REST-style ``[{"errorCode"}]`` body (rate
    limit, server error in front of the endpoint) is classified like the REST API."""

    def classify_json(
        self, status: int, headers: Mapping[str, str], body: str, parsed: Any
    ) -> Failure | None:
        if isinstance(parsed, list):
            return SalesforceDialect().classify_json(status, headers, body, parsed)
        return super().classify_json(status, headers, body, parsed)


class SalesforceToken(OAuth2RefreshToken):
    """Refresh-token or client-credentials grant against ``/services/oauth2/token``."""

    def __init__(self, token_client: HttpClient, token_path: str, form: dict[str, str]) -> None:
        super().__init__(
            token_client,
            token_path,
            client_id=form["client_id"],
            client_secret=form["client_secret"],
            refresh_token=form.get("refresh_token", ""),
            skew=0.0,
        )
        self._form = form  # the grant this connection uses
        self.instance_url: str | None = None

    def _expiry(self, body: dict[str, Any]) -> float:
        self.instance_url = body.get("instance_url")
        # Salesforce returns no expires_in: keep the session until a 401 says otherwise.
        return float("inf")


def make_client(conn: SourceConnection, **client_options: Any) -> HttpClient:
    form = {k: conn.require_extra(k) for k in ("client_id", "client_secret")}
    if conn.extra.get("refresh_token"):
        form = {"grant_type": "refresh_token", **form, "refresh_token": conn.extra["refresh_token"]}
    else:
        form = {"grant_type": "client_credentials", **form}
    token_url = str(conn.extra.get("token_url") or f"{conn.base_url}/services/oauth2/token")
    client, path = token_client(conn, token_url, SalesforceTokenDialect(), **client_options)
    return HttpClient(
        conn.base_url,
        conn_id=conn.conn_id,
        dialect=SalesforceDialect(),
        auth=SalesforceToken(client, path, form),
        secrets=conn.secrets(),
        **client_options,
    )


# -- SOQL -------------------------------------------------------------------------------------


def soql_string(value: str) -> str:
    """A SOQL string literal: single quotes, ``\\`` and ``'`` escaped."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def soql_datetime(value: datetime) -> str:
    """A SOQL dateTime literal (unquoted, UTC, second precision): ``2026-05-04T02:13:00Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_query(
    obj: SObject,
    *,
    dealer_field: str,
    dealer_value: str,
    since: datetime,
    inclusive: bool,
    multi_currency: bool = False,
) -> str:
    fields = obj.select(multi_currency=multi_currency)
    for name in (*fields, obj.name, dealer_field, obj.cursor):
        if not name.replace("_", "a").isalnum():
            raise ValueError(f"not a SOQL identifier: {name!r}")
    op = ">=" if inclusive else ">"
    where = (
        f"{obj.dealer_path.format(field=dealer_field)} = {soql_string(dealer_value)} "
        f"AND {obj.cursor} {op} {soql_datetime(since)}"
    )
    return f"SELECT {', '.join(fields)} FROM {obj.name} WHERE {where} ORDER BY {obj.cursor}, Id"


def parse_sf_time(value: Any) -> datetime:
    """``2026-05-04T02:13:00.000+0000`` (the REST format) -> aware UTC datetime."""
    return parse_aware_time(value, fmt="%Y-%m-%dT%H:%M:%S.%f%z")


# -- stream -----------------------------------------------------------------------------------


@dataclass(kw_only=True)
class SObjectStream(ApiStream):
    """One sObject's records of one dealer (``account_id``: the org; watermark per dealer)."""

    dealer_value: str
    object: str
    start: datetime
    dealer_field: str = "Dealer_Code__c"
    page_size: int = 2000
    multi_currency: bool = False
    source: str = SOURCE

    @property
    def state_key(self) -> str:
        return f"{self.account_id}:{self.dealer_value}"

    @property
    def sobject(self) -> SObject:
        return OBJECTS[self.object]

    def parse(self, record: dict[str, Any]) -> Parsed:
        record_id = required_id(record, "Id")
        cursor = self.sobject.cursor
        if not record.get(cursor):
            raise missing(cursor)
        return Parsed(record_id, parse_sf_time(record[cursor]))

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        state = state or {}
        since_text = state.get("since")
        inclusive = bool(state.get("inclusive")) if since_text else True
        since = parse_sf_time(since_text) if since_text else self.start
        newest = since_text
        query = build_query(
            self.sobject,
            dealer_field=self.dealer_field,
            dealer_value=self.dealer_value,
            since=since,
            inclusive=inclusive,
            multi_currency=self.multi_currency,
        )
        headers = {"Sforce-Query-Options": f"batchSize={self.page_size}"}
        body = self.client.request(
            "GET", f"/services/data/{self.version}/query", params={"q": query}, headers=headers
        )
        while True:
            records = body_list(body, "records", f"query of {self.sobject.name}")
            for record in records:
                try:
                    parsed = self.parse(record)
                except (RecordInvalid, AttributeError):
                    continue
                if newest is None or parsed.updated_at > parse_sf_time(newest):
                    newest = record[self.sobject.cursor]
            next_url = body.get("nextRecordsUrl")
            if body.get("done", True) or not next_url:
                yield Page(records, {"since": newest, "inclusive": False})
                return
            yield Page(records, {"since": newest, "inclusive": True})
            body = self.client.request("GET", str(next_url), headers=headers)


def _factory(obj: str):
    stages = OBJECTS[obj].stages

    def streams(ctx: ExtractContext) -> Iterator[SObjectStream]:
        yield SObjectStream(
            **ctx.common("org_id"),
            dealer_value=ctx.dealer_value,
            object=obj,
            start=USERS_SINCE if obj == "users" else ctx.start_datetime(),
            dealer_field=ctx.options.dealer_field,
            page_size=ctx.options.page_size,
            multi_currency=ctx.options.multi_currency,
            stages=ctx.stage_check(stages) if stages else None,
        )

    streams.__name__ = f"{obj}_streams"
    return streams


STREAMS = {obj: _factory(obj) for obj in OBJECTS}

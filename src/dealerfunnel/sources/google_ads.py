"""Google Ads API connector (REST, v22): lead form submissions and daily campaign cost.

Written against the documented REST wire format (developers.google.com/google-ads/api, v22;
field reference checked against the v22-v24 pages, unchanged for what we read):

- ``POST /{version}/customers/{customer_id}/googleAds:searchStream`` with ``{"query": GAQL}``
  returns a JSON array of ``SearchGoogleAdsStreamResponse`` batches, each with ``results``
  (``GoogleAdsRow`` in camelCase: ``campaign.id``, ``segments.date``,
  ``metrics.costMicros`` as a string) and ``fieldMask``, ``requestId``.
- Headers: ``Authorization: Bearer <access token>``, ``developer-token``,
  ``login-customer-id`` (the manager account the credentials act through).
- OAuth 2.0: the access token comes from the refresh-token grant at ``token_uri``
  (``https://oauth2.googleapis.com/token``); refreshed before expiry and once on a 401.
- ``lead_form_submission_data``: ``resource_name``
  (``customers/{cid}/leadFormSubmissionData/{id}``), ``id``, ``campaign``, ``ad_group``,
  ``ad_group_ad``, ``asset``, ``gclid``, ``submission_date_time``
  (``yyyy-MM-dd HH:mm:ss+hh:mm``, account time zone), ``lead_form_submission_fields``
  (``[{fieldType, fieldValue}]``).
- Errors: ``{"error": {"code", "message", "status", "details": [{"@type":
  ".../GoogleAdsFailure", "errors": [{"errorCode": {...}, "message", "details":
  {"quotaErrorDetails": {"retryDelay": "30s"}}}]}]}}``. UNAUTHENTICATED and
  PERMISSION_DENIED are auth failures; RESOURCE_EXHAUSTED (429) waits ``retryDelay`` or
  ``Retry-After``; INTERNAL / UNAVAILABLE / DEADLINE_EXCEEDED (5xx) are retried.

Connection (``google_ads``): host = ``https://googleads.googleapis.com``; extra:
``developer_token``, ``client_id``, ``client_secret``, ``refresh_token``,
``login_customer_id``, ``token_uri`` (default Google's), optional ``api_version``.
Accounts (``config/sources.yml``, ``google_ads.dealers``): ``customer_id`` (10 digits);
options: :class:`Options`.

Incremental state, committed with each batch / request:

- lead form submissions: ``{"since": "<yyyy-MM-dd HH:mm:ss>" (account time), "inclusive"}``.
  The query orders by ``submission_date_time``; after each stream batch the state is the
  newest time committed so far with ``inclusive = true`` (ties may straddle batches: the
  resumed query uses ``>=``, the idempotent merge absorbs the re-read); a complete run ends
  with ``inclusive = false`` (``>``).
- campaign cost: ``{"last_date", "run": {"since", "until", "window"}}``, re-reading the last
  ``cost_lookback_days`` days (cost is revised), ``cost_chunk_days`` per request.

Stages: none (no stage mapping needed).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import Field

from dealerfunnel.sources.config import Account as _Account
from dealerfunnel.sources.config import SourceConnection, SourceOptions, Text
from dealerfunnel.sources.errors import ApiError
from dealerfunnel.sources.httpclient import (
    Failure,
    HttpClient,
    JsonErrorDialect,
    OAuth2RefreshToken,
    OAuthTokenDialect,
    default_classify,
    parse_duration,
    parse_retry_after,
)
from dealerfunnel.sources.loader import Page, Parsed, RecordInvalid
from dealerfunnel.sources.streams import (
    ApiStream,
    DailyWindowStream,
    ExtractContext,
    campaign_day,
    missing,
    parse_aware_time,
    token_client,
)

SOURCE = "google_ads"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL


class Account(_Account):
    customer_id: Text(r"\d{10}")


class Options(SourceOptions):
    leads_overlap_seconds: int = Field(0, ge=0)  # re-read submissions this long before
    cost_lookback_days: int = Field(3, ge=0)  # cost is revised for a few days
    cost_chunk_days: int = Field(31, ge=1)  # days per searchStream request


LEAD_FIELDS = (
    "lead_form_submission_data.resource_name",
    "lead_form_submission_data.id",
    "lead_form_submission_data.campaign",
    "lead_form_submission_data.ad_group",
    "lead_form_submission_data.ad_group_ad",
    "lead_form_submission_data.asset",
    "lead_form_submission_data.gclid",
    "lead_form_submission_data.submission_date_time",
    "lead_form_submission_data.lead_form_submission_fields",
)
COST_FIELDS = (
    "customer.currency_code",  # the account currency: cost_micros is in it
    "campaign.id",
    "campaign.name",
    "segments.date",
    "metrics.cost_micros",
    "metrics.impressions",
    "metrics.clicks",
)
AUTH_STATUSES = frozenset({"UNAUTHENTICATED", "PERMISSION_DENIED"})
RETRY_STATUSES = frozenset({"INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED", "ABORTED"})
LOCAL_TIME = "%Y-%m-%d %H:%M:%S"


class GoogleAdsDialect(JsonErrorDialect):
    def classify_json(
        self, status: int, headers: Mapping[str, str], body: str, parsed: Any
    ) -> Failure | None:
        # searchStream may wrap the error in a one-element array
        if isinstance(parsed, list) and parsed:
            parsed = parsed[0]
        error = parsed.get("error") if isinstance(parsed, dict) else None
        if not isinstance(error, dict):
            return default_classify(status, headers, body)
        rpc_status = error.get("status", "")
        codes, retry_delay = [], None
        for detail in error.get("details") or []:
            for item in detail.get("errors") or [] if isinstance(detail, dict) else []:
                codes.append(json.dumps(item.get("errorCode", {}), separators=(",", ":")))
                quota = (item.get("details") or {}).get("quotaErrorDetails") or {}
                retry_delay = parse_duration(quota.get("retryDelay")) or retry_delay
        text = f"HTTP {status} {rpc_status}: {error.get('message')}" + (
            f" {' '.join(codes)}" if codes else ""
        )
        if rpc_status in AUTH_STATUSES or status in (401, 403):
            return Failure("auth", text)
        if rpc_status == "RESOURCE_EXHAUSTED" or status == 429:
            delay = parse_retry_after(headers.get("retry-after"))
            return Failure("rate_limited", text, delay if delay is not None else retry_delay)
        if rpc_status in RETRY_STATUSES or status >= 500:
            return Failure("retry", text)
        return Failure("fatal", text)


# -- GAQL -------------------------------------------------------------------------------------


def gaql_literal(value: str) -> str:
    """A GAQL string literal: single quotes, with ``\\`` and ``'`` escaped."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def gaql(
    select: Sequence[str],
    resource: str,
    where: Sequence[str] = (),
    *,
    order_by: str | None = None,
    limit: int | None = None,
) -> str:
    """``SELECT ... FROM resource [WHERE a AND b] [ORDER BY f] [LIMIT n]``."""
    for name in (*select, resource, *([order_by] if order_by else [])):
        if not all(part.isidentifier() for part in name.split(".")):
            raise ValueError(f"not a GAQL field name: {name!r}")
    query = f"SELECT {', '.join(select)} FROM {resource}"
    if where:
        query += " WHERE " + " AND ".join(where)
    if order_by:
        query += f" ORDER BY {order_by}"
    if limit is not None:
        query += f" LIMIT {int(limit)}"
    return query


def cost_query(since: date, until: date) -> str:
    return gaql(
        COST_FIELDS,
        "campaign",
        [f"segments.date BETWEEN {gaql_literal(since.isoformat())} AND "
         f"{gaql_literal(until.isoformat())}"],
        order_by="segments.date",
    )  # fmt: skip


def leads_query(since: str | None, *, inclusive: bool) -> str:
    where = []
    if since:
        op = ">=" if inclusive else ">"
        where.append(f"lead_form_submission_data.submission_date_time {op} {gaql_literal(since)}")
    return gaql(
        LEAD_FIELDS,
        "lead_form_submission_data",
        where,
        order_by="lead_form_submission_data.submission_date_time",
    )


def parse_submission_time(value: Any) -> datetime:
    """``2026-05-04 10:15:30+08:00`` -> aware datetime (UTC)."""
    return parse_aware_time(value, what="submissionDateTime")


def search_stream(
    client: HttpClient, version: str, customer_id: str, query: str
) -> list[list[dict[str, Any]]]:
    """The ``results`` of each batch of one searchStream call."""
    body = client.post(
        f"/{version}/customers/{customer_id}/googleAds:searchStream", json_body={"query": query}
    )
    if not isinstance(body, list):
        raise ApiError(f"searchStream for customer {customer_id}: expected a JSON array")
    return [list(batch.get("results") or []) for batch in body if isinstance(batch, dict)]


# -- client -----------------------------------------------------------------------------------


def make_client(conn: SourceConnection, **client_options: Any) -> HttpClient:
    """API client with the developer-token / login-customer-id headers and OAuth2 refresh."""
    extra = {k: conn.require_extra(k) for k in ("developer_token", "client_id", "client_secret")}
    refresh_token = conn.require_extra("refresh_token")
    token_uri = str(conn.extra.get("token_uri") or DEFAULT_TOKEN_URI)
    headers = {"developer-token": extra["developer_token"]}
    if conn.extra.get("login_customer_id"):
        headers["login-customer-id"] = str(conn.extra["login_customer_id"]).replace("-", "")
    client, path = token_client(conn, token_uri, OAuthTokenDialect(), **client_options)
    auth = OAuth2RefreshToken(
        client,
        path,
        client_id=extra["client_id"],
        client_secret=extra["client_secret"],
        refresh_token=refresh_token,
    )
    return HttpClient(
        conn.base_url,
        conn_id=conn.conn_id,
        dialect=GoogleAdsDialect(),
        auth=auth,
        secrets=conn.secrets(),
        headers=headers,
        **client_options,
    )


def _local(value: str) -> str:
    """The account-local ``yyyy-MM-dd HH:mm:ss`` part of a submissionDateTime."""
    return value[:19]


# -- streams ----------------------------------------------------------------------------------


@dataclass(kw_only=True)
class LeadFormSubmissionsStream(ApiStream):
    """Lead form submissions of one customer (``account_id``: the customer id)."""

    overlap_seconds: int = 0
    source: str = SOURCE
    object: str = "lead_form_submissions"

    def parse(self, record: dict[str, Any]) -> Parsed:
        data = record.get("leadFormSubmissionData")
        if not isinstance(data, dict):
            raise missing("leadFormSubmissionData")
        for key in ("resourceName", "submissionDateTime"):
            if not data.get(key):
                raise missing(f"leadFormSubmissionData.{key}")
        return Parsed(str(data["resourceName"]), parse_submission_time(data["submissionDateTime"]))

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        state = state or {}
        since, inclusive = state.get("since"), bool(state.get("inclusive"))
        if since and self.overlap_seconds and not inclusive:
            moved = datetime.strptime(since, LOCAL_TIME) - timedelta(seconds=self.overlap_seconds)
            since = moved.strftime(LOCAL_TIME)
        batches = search_stream(
            self.client, self.version, self.account_id, leads_query(since, inclusive=inclusive)
        )
        newest = state.get("since")
        if not batches:
            batches = [[]]
        for number, rows in enumerate(batches, start=1):
            for row in rows:
                try:
                    self.parse(row)
                except RecordInvalid:
                    continue
                local = _local(row["leadFormSubmissionData"]["submissionDateTime"])
                newest = local if newest is None else max(newest, local)
            last = number == len(batches)
            yield Page(rows, {"since": newest, "inclusive": not last})


@dataclass(kw_only=True)
class CampaignCostsStream(DailyWindowStream):
    """Daily campaign cost of one customer; one page (commit) per searchStream request."""

    source: str = SOURCE
    object: str = "campaign_costs"

    def parse(self, record: dict[str, Any]) -> Parsed:
        return campaign_day(
            (record.get("campaign") or {}).get("id"),
            (record.get("segments") or {}).get("date"),
            id_key="campaign.id",
            day_key="segments.date",
        )

    def window_pages(self, last: str | None, run: dict[str, Any]) -> Iterator[Page]:
        until = date.fromisoformat(run["until"])
        window = date.fromisoformat(run["window"])
        while window <= until:
            end = self.window_end(window, until)
            query = cost_query(window, end)
            batches = search_stream(self.client, self.version, self.account_id, query)
            rows = [row for batch in batches for row in batch]
            window = end + timedelta(1)
            if window > until:
                yield Page(rows, {"last_date": until.isoformat(), "run": None})
            else:
                yield Page(rows, {"last_date": last, "run": dict(run, window=window.isoformat())})


def lead_streams(ctx: ExtractContext) -> Iterator[LeadFormSubmissionsStream]:
    yield LeadFormSubmissionsStream(
        **ctx.common("customer_id"), overlap_seconds=ctx.options.leads_overlap_seconds
    )


def cost_streams(ctx: ExtractContext) -> Iterator[CampaignCostsStream]:
    yield CampaignCostsStream.for_account(
        ctx,
        "customer_id",
        lookback_days=ctx.options.cost_lookback_days,
        chunk_days=ctx.options.cost_chunk_days,
    )


STREAMS = {"lead_form_submissions": lead_streams, "campaign_costs": cost_streams}

"""Meta Marketing API connector: Lead Ads leads and campaign Insights (Graph API v23.0).

Written against the Graph API wire format as documented (checked for v23.0):

- *Retrieving Leads* (developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving):
  ``GET /{version}/{page_id}/leadgen_forms`` lists a page's forms; ``GET /{version}/{form_id}/
  leads?fields=id,created_time,ad_id,...,field_data`` returns the leads, newest first, with
  ``filtering=[{"field": "time_created", "operator": "GREATER_THAN", "value": <unix>}]``.
- *Ads Insights* (developers.facebook.com/docs/marketing-api/insights):
  ``GET /{version}/act_{id}/insights?level=campaign&time_increment=1&fields=...
  &time_range={"since","until"}``; one row per campaign and day, metrics as strings.
- *Paging* (developers.facebook.com/docs/graph-api/results): ``{"data": [...], "paging":
  {"cursors": {"before", "after"}, "next"}}``; ``next`` is absent on the last page. We page
  with ``after=<cursor>`` and our own parameters rather than following ``next``, whose URL
  may carry the access token.
- *Errors* (developers.facebook.com/docs/graph-api/guides/error-handling): ``{"error":
  {"message", "type", "code", "error_subcode", "fbtrace_id"}}``. 190 / 102 (token) and
  10 / 200-299 (permission) are auth failures; 4, 17, 32, 613 and 80000-80014 are throttling
  (wait ``Retry-After`` or the ``estimated_time_to_regain_access`` of
  ``X-Business-Use-Case-Usage``, in minutes); 1, 2 and ``is_transient`` are retried.

Connection (``meta_ads``): host = ``https://graph.facebook.com``, password = access token,
optional ``extra.api_version``. Accounts (``config/sources.yml``, ``meta.dealers``):
``ad_account_id`` (``act_<n>``), ``page_id``, optional ``form_ids``; options: :class:`Options`.

Incremental state (``ops.watermarks``, one row per form / ad account), committed with each
page (see :mod:`dealerfunnel.sources.loader`):

- leads: ``{"since": <unix created_time of the newest lead of the last complete run>,
  "run": {"since", "after", "max_seen"} | null}``. A run reads ``time_created >
  since - leads_overlap_seconds`` newest-first; ``run`` holds the cursor of a run in
  progress, so a crash resumes at the next page. ``since`` moves only when a run completes
  (leads come newest first, so only then is everything before ``max_seen`` read).
- insights: ``{"last_date": <last day read>, "run": {"since", "until", "window", "after"}}``;
  each run re-reads from ``last_date - insights_lookback_days`` (spend is revised for a few
  days), in windows of ``insights_chunk_days``.

Stages: neither leads nor insights carry a funnel stage (no stage mapping needed).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

from pydantic import Field

from dealerfunnel.sources.config import Account as _Account
from dealerfunnel.sources.config import SourceConnection, SourceOptions, Text
from dealerfunnel.sources.httpclient import (
    Failure,
    HttpClient,
    JsonErrorDialect,
    default_classify,
    parse_retry_after,
)
from dealerfunnel.sources.loader import Page, Parsed, RecordInvalid
from dealerfunnel.sources.streams import (
    ApiStream,
    DailyWindowStream,
    ExtractContext,
    bearer_client,
    body_list,
    campaign_day,
    follow_cursor,
    missing,
    parse_aware_time,
    required_id,
    resumable_pages,
)

SOURCE = "meta"


class Account(_Account):
    ad_account_id: Text(r"act_\d+")
    page_id: Text(r"\d+")
    form_ids: list[Text(r"\d+")] | None = None  # default: every lead form of the page


class Options(SourceOptions):
    page_size: int = Field(100, ge=1)  # Graph ``limit``
    leads_overlap_seconds: int = Field(0, ge=0)  # re-read leads created this long before
    insights_lookback_days: int = Field(3, ge=0)  # spend is revised for a few days
    insights_chunk_days: int = Field(31, ge=1)  # days per insights request window


LEAD_FIELDS = (
    "id",
    "created_time",
    "ad_id",
    "ad_name",
    "adset_id",
    "adset_name",
    "campaign_id",
    "campaign_name",
    "form_id",
    "platform",
    "is_organic",
    "field_data",
)
INSIGHTS_FIELDS = (
    "campaign_id",
    "campaign_name",
    "account_currency",  # the ad account's currency: spend is in it
    "spend",
    "impressions",
    "clicks",
    "date_start",
    "date_stop",
)
AUTH_CODES = frozenset({102, 190, 10})
THROTTLE_CODES = frozenset({4, 17, 32, 613, *range(80000, 80015)})
TRANSIENT_CODES = frozenset({1, 2})


class GraphDialect(JsonErrorDialect):
    """Classify Graph API error bodies (see the module docstring)."""

    def classify_json(
        self, status: int, headers: Mapping[str, str], body: str, parsed: Any
    ) -> Failure | None:
        error = parsed.get("error") if isinstance(parsed, dict) else None
        if not isinstance(error, dict):
            return default_classify(status, headers, body)
        code = error.get("code")
        text = (
            f"HTTP {status}, Graph error code {code}"
            + (f"/{error['error_subcode']}" if error.get("error_subcode") else "")
            + f" ({error.get('type')}): {error.get('message')} "
            f"[fbtrace_id {error.get('fbtrace_id')}]"
        )
        if code in AUTH_CODES or (isinstance(code, int) and 200 <= code <= 299):
            return Failure("auth", text)
        if code in THROTTLE_CODES or status == 429:
            return Failure("rate_limited", text, _throttle_delay(headers))
        if code in TRANSIENT_CODES or error.get("is_transient") or status >= 500:
            return Failure("retry", text)
        return Failure("fatal", text)


def _throttle_delay(headers: Mapping[str, str]) -> float | None:
    delay = parse_retry_after(headers.get("retry-after"))
    if delay is not None:
        return delay
    usage = headers.get("x-business-use-case-usage")
    if not usage:
        return None
    try:
        minutes = [
            entry.get("estimated_time_to_regain_access", 0)
            for entries in json.loads(usage).values()
            for entry in entries
        ]
    except (ValueError, AttributeError, TypeError):
        return None
    return max(minutes, default=0) * 60.0 or None


def graph_client(conn: SourceConnection, **client_options: Any) -> HttpClient:
    return bearer_client(conn, GraphDialect(), "access token", **client_options)


# -- request builders -------------------------------------------------------------------------


def leads_params(
    fields: tuple[str, ...], *, since: int | None, limit: int, after: str | None
) -> dict[str, str]:
    """Query parameters of ``GET /{form_id}/leads``."""
    params = {"fields": ",".join(fields), "limit": str(limit)}
    if since is not None:
        params["filtering"] = json.dumps(
            [{"field": "time_created", "operator": "GREATER_THAN", "value": since}],
            separators=(",", ":"),
        )
    if after:
        params["after"] = after
    return params


def insights_params(
    fields: tuple[str, ...], *, since: date, until: date, limit: int, after: str | None
) -> dict[str, str]:
    """Query parameters of ``GET /act_{id}/insights`` (campaign level, daily rows)."""
    params = {
        "level": "campaign",
        "time_increment": "1",
        "fields": ",".join(fields),
        "time_range": json.dumps(
            {"since": since.isoformat(), "until": until.isoformat()}, separators=(",", ":")
        ),
        "limit": str(limit),
    }
    if after:
        params["after"] = after
    return params


def next_cursor(body: Mapping[str, Any]) -> str | None:
    """The ``after`` cursor when another page follows (``paging.next`` present), else None."""
    paging = body.get("paging") or {}
    if not paging.get("next"):
        return None
    return (paging.get("cursors") or {}).get("after") or None


def parse_graph_time(value: Any) -> datetime:
    """``2026-05-04T02:13:00+0000`` (the Graph format; ``+00:00`` also accepted)."""
    return parse_aware_time(value, fmt="%Y-%m-%dT%H:%M:%S%z")


def _data(body: Any, what: str) -> list[Any]:
    return body_list(body, "data", what)


def list_forms(client: HttpClient, version: str, page_id: str) -> list[str]:
    """Ids of the page's lead forms (``/{page_id}/leadgen_forms``, all pages)."""

    def fetch(after: str | None) -> tuple[list[Any], str | None]:
        params = {"fields": "id,name,status", "limit": "100"}
        if after:
            params["after"] = after
        body = client.get(f"/{version}/{page_id}/leadgen_forms", params=params)
        return _data(body, "leadgen_forms"), next_cursor(body)

    forms = (form for page in follow_cursor(fetch) for form in page)
    return [str(form["id"]) for form in forms if form.get("id")]


# -- streams ----------------------------------------------------------------------------------


@dataclass(kw_only=True)
class LeadsStream(ApiStream):
    """The leads of one lead form; ``account_id`` is the page id, the watermark is per form."""

    form_id: str
    page_size: int = 100
    start: datetime | None = None
    overlap_seconds: int = 0
    source: str = SOURCE
    object: str = "leads"

    @property
    def state_key(self) -> str:
        return self.form_id

    def parse(self, record: dict[str, Any]) -> Parsed:
        lead_id = required_id(record)
        if "created_time" not in record:
            raise missing("created_time")
        return Parsed(lead_id, parse_graph_time(record["created_time"]))

    def _fetch(self, run: dict[str, Any]) -> tuple[list[Any], str | None]:
        params = leads_params(
            LEAD_FIELDS, since=run["since"], limit=self.page_size, after=run["after"]
        )
        body = self.client.get(f"/{self.version}/{self.form_id}/leads", params=params)
        return _data(body, f"leads of form {self.form_id}"), next_cursor(body)

    def _newest(self, max_seen: int | None, record: Any) -> int | None:
        try:
            created = int(self.parse(record).updated_at.timestamp())
        except (RecordInvalid, AttributeError):
            return max_seen
        return created if max_seen is None else max(max_seen, created)

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        state = state or {}
        previous_since = state.get("since")
        run = state.get("run")
        if run is None:
            since = previous_since
            if since is None and self.start is not None:
                since = int(self.start.timestamp()) - 1
            elif since is not None:
                since = int(since) - self.overlap_seconds
            run = {"since": since, "after": None, "max_seen": previous_since}
        yield from resumable_pages(
            previous_since, run, cursor_key="after", fetch=self._fetch, newest=self._newest
        )


@dataclass(kw_only=True)
class InsightsStream(DailyWindowStream):
    """Daily campaign rows of one ad account (``account_id``: ``act_<n>``)."""

    FRESH_RUN: ClassVar[dict[str, Any]] = {"after": None}
    page_size: int = 100
    source: str = SOURCE
    object: str = "insights"

    def parse(self, record: dict[str, Any]) -> Parsed:
        return campaign_day(
            record.get("campaign_id"),
            record.get("date_start"),
            id_key="campaign_id",
            day_key="date_start",
        )

    def window_pages(self, last: str | None, run: dict[str, Any]) -> Iterator[Page]:
        """One page per response; the ``after`` cursor pages within a window."""
        until = date.fromisoformat(run["until"])
        window = date.fromisoformat(run["window"])
        after = run.get("after")
        while True:
            end = self.window_end(window, until)
            params = insights_params(
                INSIGHTS_FIELDS, since=window, until=end, limit=self.page_size, after=after
            )
            body = self.client.get(f"/{self.version}/{self.account_id}/insights", params=params)
            records = _data(body, f"insights of {self.account_id}")
            after = next_cursor(body)
            if after is None:
                window = end + timedelta(1)
            if window > until:
                yield Page(records, {"last_date": until.isoformat(), "run": None})
                return
            run = dict(run, window=window.isoformat(), after=after)
            yield Page(records, {"last_date": last, "run": run})


# -- extract entry points (one per raw table) -------------------------------------------------


def lead_streams(ctx: ExtractContext) -> Iterator[LeadsStream]:
    page_id = str(ctx.account["page_id"])
    form_ids = ctx.account.get("form_ids") or list_forms(ctx.client, ctx.version, page_id)
    start = ctx.start_datetime()
    for form_id in form_ids:
        yield LeadsStream(
            **ctx.common("page_id"),
            form_id=str(form_id),
            page_size=ctx.options.page_size,
            start=start,
            overlap_seconds=ctx.options.leads_overlap_seconds,
        )


def insights_streams(ctx: ExtractContext) -> Iterator[InsightsStream]:
    options = ctx.options
    yield InsightsStream.for_account(
        ctx,
        "ad_account_id",
        lookback_days=options.insights_lookback_days,
        chunk_days=options.insights_chunk_days,
        page_size=options.page_size,
    )


STREAMS = {"leads": lead_streams, "insights": insights_streams}


def make_client(conn: SourceConnection, **client_options: Any) -> HttpClient:
    return graph_client(conn, **client_options)

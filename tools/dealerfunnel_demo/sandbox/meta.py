"""Sandbox of the Meta Graph API (Marketing API v23.0): Lead Ads and Insights.

Endpoints (under the ``/meta`` prefix, standing for ``https://graph.facebook.com``):

- ``GET /{version}/{page_id}/leadgen_forms``: the page's lead forms.
- ``GET /{version}/{form_id}/leads?fields=...&filtering=[...]&limit=&after=``: leads, newest
  first, only the requested ``fields`` (``id`` always), ``filtering`` on ``time_created``
  (``GREATER_THAN`` / ``LESS_THAN``, unix seconds), cursor paging
  ``{"paging": {"cursors": {"before", "after"}, "next"}}`` (``next`` only when more follow).
- ``GET /{version}/act_{account}/insights?level=campaign&time_increment=1&fields=...
  &time_range={"since","until"}&limit=&after=``: one row per campaign and day, metrics as
  strings, ``date_start``/``date_stop`` always present.

Errors use the Graph body ``{"error": {"message", "type", "code", "error_subcode",
"fbtrace_id"}}``: a bad token is code 190 (``OAuthException``, HTTP 400 with
``WWW-Authenticate``), an unknown object code 100 subcode 33, throttling code 4 / 17 / 32 /
613 (HTTP 400 with ``X-Business-Use-Case-Usage``; the injected 429 fault uses code 4).

Some lead-form leads are people the dealer later works in its CRM or export (:meth:`World.shared`).
Schema drift in the data: a few leads carry a field the connector never asked for
(``lead_quality_tier``), and about 1% lack ``created_time`` (must be quarantined).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from dealerfunnel_demo.sandbox.core import Sandbox, bearer, http_connection, json_response
from dealerfunnel_demo.sandbox.world import CAMPAIGNS, World

NAME = "meta"
PREFIX = "meta"
FORM_NAMES = ("试驾预约 Test drive booking", "询价 Price enquiry")
NEW_FIELD = "lead_quality_tier"


def graph_time(value: datetime) -> str:
    """Graph API time format: ``2026-05-04T02:13:00+0000``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def encode_cursor(key: tuple) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple | None:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return tuple(json.loads(base64.urlsafe_b64decode(padded)))
    except ValueError:
        return None


def graph_error(
    status: int,
    message: str,
    code: int,
    *,
    kind: str = "OAuthException",
    subcode: int | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = "A" + base64.b32encode(message[:10].encode()).decode()[:10]
    return json_response({"error": error}, status, headers)


@dataclass
class _Lead:
    created: datetime
    form_id: str
    record: dict[str, Any]  # every field, as the Graph API would return it
    drift: str | None


class MetaApi:
    name = NAME
    prefix = PREFIX

    def __init__(self, world: World, sandbox: Sandbox | None = None) -> None:
        self.world = world
        self.sandbox = sandbox
        self.pages: dict[str, dict[str, Any]] = {}  # page_id -> {dealer, forms, account}
        self.forms: dict[str, str] = {}  # form_id -> page_id
        self.accounts: dict[str, dict[str, Any]] = {}  # act_x -> {dealer, campaigns}
        self.leads: dict[str, list[_Lead]] = {}  # form_id -> leads sorted newest first
        self._build()

    # -- data ---------------------------------------------------------------------------------

    def _build(self) -> None:
        world = self.world
        for code, account in sorted(world.accounts("meta").items()):
            dealer = world.dealers[code]
            rng = world.rng("meta", code)
            page_id, act = str(account["page_id"]), str(account["ad_account_id"])
            form_ids = account.get("form_ids") or [f"{page_id}{k + 1}" for k in range(2)]
            forms = [
                {
                    "id": fid,
                    "name": FORM_NAMES[k % len(FORM_NAMES)],
                    "status": "ACTIVE",
                    "locale": "zh_CN",
                    "created_time": graph_time(world.start),
                }
                for k, fid in enumerate(form_ids)
            ]
            digits = act.removeprefix("act_")
            campaigns = []
            for k, name in enumerate(CAMPAIGNS["meta_lead_ads"]):
                cid = f"1202{digits[-6:]}{k:03d}"
                campaigns.append(
                    {
                        "id": cid,
                        "name": name,
                        "adset": {"id": f"{cid}1", "name": f"{name} - {dealer.code}"},
                        "ads": [
                            {"id": f"{cid}1{a}", "name": f"{name} ad {a}"} for a in range(1, 3)
                        ],
                        "daily_budget": rng.choice((300, 500, 800)),
                    }
                )
            self.pages[page_id] = {"dealer": code, "forms": forms, "account": act}
            self.accounts[act] = {"dealer": code, "campaigns": campaigns, "page_id": page_id}
            for form in forms:
                self.forms[form["id"]] = page_id
                self.leads[form["id"]] = []
            models = world.models(code)
            n = world.lead_count(rng)
            times = world.creation_times(rng, n)
            shared = world.shared("meta", code)
            people = [(t, None) for t in times] + [(p.origin_at, p) for p in shared]
            for i, (created, known) in enumerate(people):
                form = rng.choice(forms)
                person = world.person(rng) if known is None else known
                lead_id = f"9{dealer.index:02d}{i + 1:013d}"
                record: dict[str, Any] = {"id": lead_id, "created_time": graph_time(created)}
                if rng.random() < 0.03:  # organic: no ad attribution
                    record["is_organic"] = True
                else:
                    campaign = rng.choice(campaigns)
                    ad = rng.choice(campaign["ads"])
                    record.update(
                        {
                            "ad_id": ad["id"],
                            "ad_name": ad["name"],
                            "adset_id": campaign["adset"]["id"],
                            "adset_name": campaign["adset"]["name"],
                            "campaign_id": campaign["id"],
                            "campaign_name": campaign["name"],
                            "is_organic": False,
                        }
                    )
                record["form_id"] = form["id"]
                record["platform"] = rng.choice(("fb", "ig"))
                field_data = [
                    {"name": "full_name", "values": [person.name]},
                    {"name": "phone_number", "values": [f"+86{person.phone}"]},
                ]
                if person.email:
                    field_data.append({"name": "email", "values": [person.email]})
                field_data.append({"name": "car_model", "values": [rng.choice(models)]})
                record["field_data"] = field_data
                drift = world.drift(rng) if known is None else None
                if drift == "new_field":
                    record[NEW_FIELD] = rng.choice(("high", "medium"))
                elif drift == "missing_field":
                    del record["created_time"]
                self.leads[form["id"]].append(_Lead(created, form["id"], record, drift))
        for leads in self.leads.values():
            leads.sort(key=lambda lead: (lead.created, lead.record["id"]), reverse=True)

    def _visible_leads(self, form_id: str) -> list[_Lead]:
        now = self.world.now
        return [lead for lead in self.leads.get(form_id, []) if lead.created <= now]

    def insights_rows(self, act: str) -> list[dict[str, Any]]:
        """Every campaign x day row of ``act`` as of ``now``, sorted by (day, campaign)."""
        account = self.accounts[act]
        rows = []
        for day in self.world.days():
            share = self.world.settled_share(day)
            if share == 0.0:
                continue
            for campaign in account["campaigns"]:
                rng = self.world.rng("meta-insights", campaign["id"], day.isoformat())
                spend = campaign["daily_budget"] * rng.uniform(0.5, 1.0) * share
                impressions = int(rng.randint(2000, 9000) * share)
                clicks = int(impressions * rng.uniform(0.008, 0.03))
                rows.append(
                    {
                        "account_id": act.removeprefix("act_"),
                        "campaign_id": campaign["id"],
                        "campaign_name": campaign["name"],
                        "account_currency": self.world.currency("meta", account["dealer"]),
                        "spend": f"{spend:.2f}",
                        "impressions": str(impressions),
                        "clicks": str(clicks),
                        "date_start": day.isoformat(),
                        "date_stop": day.isoformat(),
                    }
                )
        return rows

    # -- truth --------------------------------------------------------------------------------

    def truth(self) -> dict[str, dict[str, dict[str, Any]]]:
        leads: dict[str, dict[str, Any]] = {}
        for page_id, page in self.pages.items():
            bucket = leads.setdefault(page_id, {})
            for form in page["forms"]:
                for lead in self._visible_leads(form["id"]):
                    if lead.drift != "missing_field":
                        bucket[lead.record["id"]] = lead.record
        insights: dict[str, dict[str, Any]] = {}
        for act in self.accounts:
            insights[act] = {
                f"{row['campaign_id']}|{row['date_start']}": {
                    k: row[k] for k in INSIGHTS_DEFAULT_FIELDS if k in row
                }
                for row in self.insights_rows(act)
            }
        return {"meta__leads": leads, "meta__insights": insights}

    def broken(self) -> dict[str, dict[str, list[dict[str, Any]]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for page_id, page in self.pages.items():
            for form in page["forms"]:
                for lead in self._visible_leads(form["id"]):
                    if lead.drift == "missing_field":
                        out.setdefault(page_id, []).append(lead.record)
        return {"meta__leads": out}

    def connection(self, base_url: str) -> dict[str, Any]:
        token = self.world.spec.credentials["meta_access_token"]
        return http_connection(base_url, PREFIX, password=token)

    # -- HTTP ---------------------------------------------------------------------------------

    def error_response(self, kind: str) -> Response:
        if kind == "rate_limit":
            return graph_error(
                429, "(#4) Application request limit reached", 4, kind="OAuthException"
            )
        if kind == "auth":
            return self._auth_error()
        return graph_error(
            500,
            "An unexpected error has occurred. Please retry your request later.",
            2,
            kind="OAuthException",
        )

    def _auth_error(self) -> Response:
        return graph_error(
            400,
            "Invalid OAuth access token - Cannot parse access token",
            190,
            headers={"WWW-Authenticate": 'OAuth "Facebook Platform" "invalid_token"'},
        )

    def _check(self, request: Request) -> Response | None:
        token = bearer(request)
        if token != self.world.spec.credentials["meta_access_token"]:
            return self._auth_error()
        return None

    @staticmethod
    def _unknown(object_id: str) -> Response:
        return graph_error(
            400,
            f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation.",
            100,
            kind="GraphMethodException",
            subcode=33,
        )

    def _page(self, request: Request, items: list[Any], key, limit: int, render):
        """Keyset paging over ``items`` (already in serving order) with Graph cursors."""
        after = request.query_params.get("after")
        start = 0
        if after:
            position = decode_cursor(after)
            if position is None:
                return None, graph_error(400, "(#100) Invalid cursor", 100, kind="OAuthException")
            keys = [key(item) for item in items]
            start = next((i + 1 for i, k in enumerate(keys) if list(k) == list(position)), None)
            if start is None:  # the cursor's record is gone: continue after its position
                start = sum(1 for k in keys if _before(k, position, items, key))
        chunk = items[start : start + limit]
        data = [render(item) for item in chunk]
        previous = [render(item) for item in items[max(0, start - limit) : start]]
        if self.sandbox is not None:
            data = self.sandbox.perturb(data, previous)
        body: dict[str, Any] = {"data": data}
        if chunk:
            cursors = {
                "before": encode_cursor(key(chunk[0])),
                "after": encode_cursor(key(chunk[-1])),
            }
            body["paging"] = {"cursors": cursors}
            if start + limit < len(items):
                params = dict(request.query_params)
                params["after"] = cursors["after"]
                params.pop("access_token", None)
                query = "&".join(f"{k}={v}" for k, v in params.items())
                body["paging"]["next"] = (
                    f"{request.url.scheme}://{request.url.netloc}{request.url.path}?{query}"
                )
        return body, None

    def router(self) -> APIRouter:
        router = APIRouter()

        @router.get("/{version}/{page_id}/leadgen_forms")
        def leadgen_forms(version: str, page_id: str, request: Request) -> Response:
            if (failure := self._check(request)) is not None:
                return failure
            page = self.pages.get(page_id)
            if page is None:
                return self._unknown(page_id)
            return json_response(
                {
                    "data": page["forms"],
                    "paging": {
                        "cursors": {
                            "before": encode_cursor((page["forms"][0]["id"],)),
                            "after": encode_cursor((page["forms"][-1]["id"],)),
                        }
                    },
                }
            )

        @router.get("/{version}/{object_id}/leads")
        def leads(version: str, object_id: str, request: Request) -> Response:
            if (failure := self._check(request)) is not None:
                return failure
            if object_id not in self.forms:
                return self._unknown(object_id)
            items = self._visible_leads(object_id)
            try:
                filters = json.loads(request.query_params.get("filtering") or "[]")
                for rule in filters:
                    if rule.get("field") != "time_created":
                        raise ValueError(rule)
                    value = datetime.fromtimestamp(int(rule["value"]), UTC)
                    op = rule.get("operator")
                    if op == "GREATER_THAN":
                        items = [lead for lead in items if lead.created > value]
                    elif op == "LESS_THAN":
                        items = [lead for lead in items if lead.created < value]
                    else:
                        raise ValueError(op)
                limit = min(int(request.query_params.get("limit", 25)), 1000)
            except (ValueError, TypeError, KeyError, AttributeError):
                return graph_error(
                    400, "(#100) Invalid parameter: filtering / limit", 100, kind="OAuthException"
                )
            wanted = _fields(request)

            def render(lead: _Lead) -> dict[str, Any]:
                record = lead.record
                keep = {k: v for k, v in record.items() if k in wanted or k == "id"}
                if NEW_FIELD in record:  # drift: a field nobody asked for
                    keep[NEW_FIELD] = record[NEW_FIELD]
                return keep

            body, failure = self._page(
                request,
                items,
                lambda lead: (graph_time(lead.created), lead.record["id"]),
                limit,
                render,
            )
            return failure or json_response(body)

        @router.get("/{version}/{account}/insights")
        def insights(version: str, account: str, request: Request) -> Response:
            if (failure := self._check(request)) is not None:
                return failure
            if account not in self.accounts:
                return self._unknown(account)
            params = request.query_params
            try:
                if params.get("level", "campaign") != "campaign":
                    raise ValueError("level")
                if params.get("time_increment", "1") != "1":
                    raise ValueError("time_increment")
                time_range = json.loads(params.get("time_range") or "{}")
                since = date.fromisoformat(time_range["since"])
                until = date.fromisoformat(time_range["until"])
                limit = min(int(params.get("limit", 25)), 1000)
            except (ValueError, KeyError, TypeError):
                return graph_error(
                    400, "(#100) Invalid parameter: time_range / level", 100, kind="OAuthException"
                )
            rows = [
                row
                for row in self.insights_rows(account)
                if since <= date.fromisoformat(row["date_start"]) <= until
            ]
            wanted = _fields(request) | {"date_start", "date_stop"}

            def render(row: dict[str, Any]) -> dict[str, Any]:
                return {k: v for k, v in row.items() if k in wanted}

            body, failure = self._page(
                request, rows, lambda row: (row["date_start"], row["campaign_id"]), limit, render
            )
            return failure or json_response(body)

        return router


INSIGHTS_DEFAULT_FIELDS = (
    "campaign_id",
    "campaign_name",
    "account_currency",
    "spend",
    "impressions",
    "clicks",
    "date_start",
    "date_stop",
)


def _fields(request: Request) -> set[str]:
    return {f.strip() for f in (request.query_params.get("fields") or "").split(",") if f.strip()}


def _before(k, position, items, key) -> bool:
    """Whether key ``k`` comes before the cursor ``position`` in the serving order."""
    keys = [list(key(item)) for item in items]
    descending = len(keys) > 1 and keys[0] > keys[-1]
    return list(k) > list(position) if descending else list(k) < list(position)

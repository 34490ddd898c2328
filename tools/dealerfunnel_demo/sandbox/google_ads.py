"""Sandbox of the Google Ads API (REST, v22) and Google's OAuth 2.0 token endpoint.

Endpoints (under ``/google-ads``, standing for ``https://googleads.googleapis.com``):

- ``POST /oauth2/token`` (form: ``grant_type=refresh_token``, ``client_id``,
  ``client_secret``, ``refresh_token``) -> ``{"access_token", "expires_in", "token_type"}``;
  a wrong refresh token or client is ``400 {"error": "invalid_grant", ...}``.
- ``POST /{version}/customers/{customer_id}/googleAds:searchStream`` with ``{"query": GAQL}``
  -> a JSON array of batches ``[{"results": [GoogleAdsRow...], "fieldMask", "requestId"}]``.
  Headers checked: ``Authorization: Bearer`` (an issued, unexpired token), ``developer-token``,
  ``login-customer-id`` (the manager account). Supported GAQL: ``SELECT`` of fields of
  ``campaign`` (with ``segments.date``, ``metrics.cost_micros|impressions|clicks``) or
  ``lead_form_submission_data``; ``WHERE`` conditions joined by ``AND`` (``=``, ``>``, ``>=``,
  ``<``, ``<=``, ``BETWEEN ... AND ...``); ``ORDER BY`` one field; ``LIMIT``.
  Rows carry only the selected fields, in camelCase, plus each resource's ``resourceName``.

Errors use the Google RPC body ``{"error": {"code", "message", "status", "details":
[{"@type": ".../GoogleAdsFailure", "errors": [{"errorCode": {...}, "message"}],
"requestId"}]}}``: 401 UNAUTHENTICATED (bad/expired token, bad developer token),
403 PERMISSION_DENIED (unknown customer / missing login-customer-id), 429 RESOURCE_EXHAUSTED
(quotaError, with ``retryDelay``), 500 INTERNAL, 400 INVALID_ARGUMENT (bad query).

Some submissions are people the dealer later works in its CRM or export (:meth:`World.shared`).
Schema drift: some submissions carry a field unknown to the connector
(``leadFormSubmissionData.leadSource``), about 1% lack ``submissionDateTime``.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from dealerfunnel.sources.google_ads import COST_FIELDS, LEAD_FIELDS
from dealerfunnel_demo.sandbox.core import Sandbox, bearer, http_connection, json_response
from dealerfunnel_demo.sandbox.world import CAMPAIGNS, World

NAME = "google_ads"
PREFIX = "google-ads"
API_VERSION = "v22"
NEW_FIELD = "leadSource"
FAILURE_TYPE = f"type.googleapis.com/google.ads.googleads.{API_VERSION}.errors.GoogleAdsFailure"
STATUS_CODES = {
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "RESOURCE_EXHAUSTED": 429,
    "INTERNAL": 500,
    "INVALID_ARGUMENT": 400,
}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def ads_error(status: str, message: str, error_code: dict[str, str], **extra: Any) -> Response:
    code = STATUS_CODES[status]
    error: dict[str, Any] = {"errorCode": error_code, "message": message}
    error.update(extra)
    body = {
        "error": {
            "code": code,
            "message": message
            if code != 429
            else "Resource has been exhausted (e.g. check quota).",
            "status": status,
            "details": [
                {
                    "@type": FAILURE_TYPE,
                    "errors": [error],
                    "requestId": secrets.token_hex(8),
                }
            ],
        }
    }
    return json_response(body, code)


# -- a small GAQL parser ----------------------------------------------------------------------

_QUERY = re.compile(
    r"^\s*SELECT\s+(?P<select>.+?)\s+FROM\s+(?P<resource>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?"
    r"(?:\s+ORDER\s+BY\s+(?P<order>[\w.]+)(?:\s+(?P<dir>ASC|DESC))?)?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_BETWEEN = re.compile(r"([\w.]+)\s+BETWEEN\s+'([^']*)'\s+AND\s+'([^']*)'", re.IGNORECASE)
_COMPARE = re.compile(r"^([\w.]+)\s*(>=|<=|!=|=|>|<)\s*'?([^']*)'?$")


@dataclass
class Query:
    select: list[str]
    resource: str
    conditions: list[tuple[str, str, str]]
    order: str | None
    descending: bool
    limit: int | None


def parse_gaql(text: str) -> Query:
    match = _QUERY.match(text)
    if not match:
        raise ValueError("unparseable query")
    select = [f.strip() for f in match["select"].split(",") if f.strip()]
    conditions: list[tuple[str, str, str]] = []
    where = match["where"] or ""
    for field, low, high in _BETWEEN.findall(where):
        conditions += [(field, ">=", low), (field, "<=", high)]
    where = _BETWEEN.sub("", where)
    for part in re.split(r"\s+AND\s+", where, flags=re.IGNORECASE):
        part = part.strip()
        if not part:
            continue
        cmp = _COMPARE.match(part)
        if not cmp:
            raise ValueError(f"unsupported condition {part!r}")
        conditions.append((cmp[1], cmp[2], cmp[3]))
    return Query(
        select,
        match["resource"],
        conditions,
        match["order"],
        (match["dir"] or "").upper() == "DESC",
        int(match["limit"]) if match["limit"] else None,
    )


def _compare(value: Any, op: str, literal: str) -> bool:
    if value is None:
        return False
    left, right = str(value), literal
    if op == "=":
        return left == right
    if op == "!=":
        return left != right
    if op == ">":
        return left > right
    if op == ">=":
        return left >= right
    if op == "<":
        return left < right
    return left <= right


@dataclass
class _Submission:
    created: datetime
    row: dict[str, Any]  # the full GoogleAdsRow (lead_form_submission_data)
    local_time: str  # submission time in the account time zone, "YYYY-MM-DD HH:MM:SS"
    drift: str | None


class GoogleAdsApi:
    name = NAME
    prefix = PREFIX

    def __init__(
        self, world: World, sandbox: Sandbox | None = None, *, batch_size: int = 10_000
    ) -> None:
        self.world = world
        self.sandbox = sandbox
        self.batch_size = batch_size
        self.customers: dict[str, dict[str, Any]] = {}
        self.submissions: dict[str, list[_Submission]] = {}
        self._tokens: dict[str, float] = {}  # access token -> expiry (monotonic)
        self._lock = threading.Lock()
        self.token_lifetime = 3599
        self.tokens_issued = 0
        self._build()

    # -- data ---------------------------------------------------------------------------------

    def _build(self) -> None:
        world = self.world
        for code, account in sorted(world.accounts("google_ads").items()):
            cid = str(account["customer_id"])
            dealer = world.dealers[code]
            rng = world.rng("google_ads", code)
            campaigns = []
            for k, name in enumerate(CAMPAIGNS["google_ads"]):
                camp_id = f"{2000 + dealer.index}{k + 1:02d}{cid[-4:]}"
                campaigns.append(
                    {
                        "resourceName": f"customers/{cid}/campaigns/{camp_id}",
                        "id": camp_id,
                        "name": name,
                        "ad_group": f"customers/{cid}/adGroups/{camp_id}1",
                        "asset": f"customers/{cid}/assets/{camp_id}7",
                        "budget_micros": rng.choice((200, 400, 700)) * 1_000_000,
                    }
                )
            self.customers[cid] = {
                "dealer": code,
                "campaigns": campaigns,
                "currency": world.currency("google_ads", code),
            }
            subs: list[_Submission] = []
            models = world.models(code)
            times = world.creation_times(rng, world.lead_count(rng))
            # people the dealer then works in its CRM or export: after the others, from their
            # own generator, so the other submissions' draws stay as they were
            shared = world.shared(NAME, code)
            shared_rng = world.rng(NAME, code, "shared")
            people = [(t, None) for t in times] + [(p.origin_at, p) for p in shared]
            for i, (created, known) in enumerate(people):
                r = rng if known is None else shared_rng
                campaign = r.choice(campaigns)
                person = world.person(r) if known is None else known
                sub_id = f"{cid}{i + 1:07d}"
                local = created.astimezone(dealer.timezone)
                fields = [
                    {"fieldType": "FULL_NAME", "fieldValue": person.name},
                    {"fieldType": "PHONE_NUMBER", "fieldValue": f"+86{person.phone}"},
                ]
                if person.email:
                    fields.append({"fieldType": "EMAIL", "fieldValue": person.email})
                fields.append({"fieldType": "VEHICLE_MODEL", "fieldValue": r.choice(models)})
                data: dict[str, Any] = {
                    "resourceName": f"customers/{cid}/leadFormSubmissionData/{sub_id}",
                    "id": sub_id,
                    "asset": campaign["asset"],
                    "campaign": campaign["resourceName"],
                    "adGroup": campaign["ad_group"],
                    "adGroupAd": f"{campaign['ad_group']}~{campaign['id']}9",
                    "gclid": "Cj0KCQ" + secrets_token(r),
                    "submissionDateTime": local.isoformat(" "),
                    "leadFormSubmissionFields": fields,
                }
                drift = world.drift(r) if known is None else None
                if drift == "new_field":
                    data[NEW_FIELD] = r.choice(("YOUTUBE", "SEARCH", "DISCOVER"))
                elif drift == "missing_field":
                    del data["submissionDateTime"]
                subs.append(
                    _Submission(
                        created,
                        {"leadFormSubmissionData": data},
                        local.strftime("%Y-%m-%d %H:%M:%S"),
                        drift,
                    )
                )
            self.submissions[cid] = subs

    def cost_rows(self, cid: str) -> list[dict[str, Any]]:
        """Every campaign x day GoogleAdsRow of ``cid`` as of ``now`` (all fields)."""
        rows = []
        for day in self.world.days():
            share = self.world.settled_share(day)
            if share == 0.0:
                continue
            for campaign in self.customers[cid]["campaigns"]:
                rng = self.world.rng("google-cost", campaign["id"], day.isoformat())
                cost = int(campaign["budget_micros"] * rng.uniform(0.4, 1.0) * share)
                cost -= cost % 10_000  # micros of a currency with cents
                impressions = int(rng.randint(1500, 8000) * share)
                clicks = int(impressions * rng.uniform(0.02, 0.06))
                rows.append(
                    {
                        "customer": {
                            "resourceName": f"customers/{cid}",
                            "currencyCode": self.customers[cid]["currency"],
                        },
                        "campaign": {
                            "resourceName": campaign["resourceName"],
                            "id": campaign["id"],
                            "name": campaign["name"],
                        },
                        "segments": {"date": day.isoformat()},
                        "metrics": {
                            "costMicros": str(cost),
                            "impressions": str(impressions),
                            "clicks": str(clicks),
                        },
                    }
                )
        return rows

    def _visible_submissions(self, cid: str) -> list[_Submission]:
        now = self.world.now
        return [s for s in self.submissions.get(cid, []) if s.created <= now]

    # -- truth --------------------------------------------------------------------------------

    def truth(self) -> dict[str, dict[str, dict[str, Any]]]:
        leads: dict[str, dict[str, Any]] = {}
        costs: dict[str, dict[str, Any]] = {}
        for cid in self.customers:
            leads[cid] = {
                s.row["leadFormSubmissionData"]["resourceName"]: project(
                    s.row, LEAD_FIELDS, "lead_form_submission_data"
                )
                for s in self._visible_submissions(cid)
                if s.drift != "missing_field"
            }
            costs[cid] = {
                f"{row['campaign']['id']}|{row['segments']['date']}": project(
                    row, COST_FIELDS, "campaign"
                )
                for row in self.cost_rows(cid)
            }
        return {"google_ads__lead_form_submissions": leads, "google_ads__campaign_costs": costs}

    def broken(self) -> dict[str, dict[str, list[dict[str, Any]]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for cid in self.customers:
            for s in self._visible_submissions(cid):
                if s.drift == "missing_field":
                    out.setdefault(cid, []).append(
                        project(s.row, LEAD_FIELDS, "lead_form_submission_data")
                    )
        return {"google_ads__lead_form_submissions": out}

    def connection(self, base_url: str) -> dict[str, Any]:
        creds = self.world.spec.credentials
        keys = ("developer_token", "client_id", "client_secret", "refresh_token")
        return http_connection(
            base_url,
            PREFIX,
            **{key: creds[f"google_{key}"] for key in keys},
            login_customer_id=creds["google_login_customer_id"],
            token_uri=f"{base_url}/{PREFIX}/oauth2/token",
        )

    def expire_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    # -- HTTP ---------------------------------------------------------------------------------

    def error_response(self, kind: str) -> Response:
        if kind == "rate_limit":
            return ads_error(
                "RESOURCE_EXHAUSTED",
                "Too many requests in a short amount of time.",
                {"quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED"},
                details={
                    "quotaErrorDetails": {
                        "rateScope": "ACCOUNT",
                        "rateName": "Requests per account",
                        "retryDelay": "1s",
                    }
                },
            )
        if kind == "auth":
            return self._unauthenticated()
        return ads_error(
            "INTERNAL",
            "An internal error has occurred.",
            {"internalError": "INTERNAL_ERROR"},
        )

    @staticmethod
    def _unauthenticated(code: str = "OAUTH_TOKEN_INVALID") -> Response:
        return ads_error(
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential.",
            {"authenticationError": code},
        )

    def _check(self, request: Request, cid: str) -> Response | None:
        creds = self.world.spec.credentials
        token = bearer(request)
        with self._lock:
            expiry = self._tokens.get(token or "")
        if expiry is None or expiry < time.monotonic():
            return self._unauthenticated(
                "OAUTH_TOKEN_EXPIRED" if expiry is not None else "OAUTH_TOKEN_INVALID"
            )
        if request.headers.get("developer-token") != creds["google_developer_token"]:
            return self._unauthenticated("DEVELOPER_TOKEN_INVALID")
        if request.headers.get("login-customer-id") != creds["google_login_customer_id"]:
            return ads_error(
                "PERMISSION_DENIED",
                "The caller does not have permission",
                {"authorizationError": "USER_PERMISSION_DENIED"},
            )
        if cid not in self.customers:
            return ads_error(
                "PERMISSION_DENIED",
                f"User doesn't have permission to access customer {cid}.",
                {"authorizationError": "USER_PERMISSION_DENIED"},
            )
        return None

    def router(self) -> APIRouter:
        router = APIRouter()

        @router.post("/oauth2/token")
        async def token(request: Request) -> Response:
            form = await request.form()
            creds = self.world.spec.credentials
            if form.get("grant_type") != "refresh_token":
                return json_response({"error": "unsupported_grant_type"}, 400)
            if (
                form.get("client_id") != creds["google_client_id"]
                or form.get("client_secret") != creds["google_client_secret"]
            ):
                return json_response(
                    {
                        "error": "invalid_client",
                        "error_description": "The OAuth client was not found.",
                    },
                    401,
                )
            if form.get("refresh_token") != creds["google_refresh_token"]:
                return json_response(
                    {
                        "error": "invalid_grant",
                        "error_description": "Token has been expired or revoked.",
                    },
                    400,
                )
            access = "ya29.sandbox-" + secrets.token_urlsafe(16)
            with self._lock:
                self._tokens[access] = time.monotonic() + self.token_lifetime
                self.tokens_issued += 1
            return json_response(
                {
                    "access_token": access,
                    "expires_in": self.token_lifetime,
                    "scope": "https://www.googleapis.com/auth/adwords",
                    "token_type": "Bearer",
                }
            )

        @router.post("/{version}/customers/{cid}/{method}")
        async def search_stream(version: str, cid: str, method: str, request: Request) -> Response:
            if method != "googleAds:searchStream":
                return ads_error("INVALID_ARGUMENT", "Unknown method", {"requestError": "UNKNOWN"})
            if (failure := self._check(request, cid)) is not None:
                return failure
            try:
                body = await request.json()
                query = parse_gaql(body["query"])
                rows = self._run(cid, query)
            except (ValueError, KeyError, TypeError) as exc:
                return ads_error(
                    "INVALID_ARGUMENT",
                    f"Error in query: {exc}",
                    {"queryError": "UNEXPECTED_END_OF_QUERY"},
                )
            mask = ",".join(camel_path(f) for f in query.select)
            batches = []
            previous: list[Any] = []
            for i in range(0, max(len(rows), 1), self.batch_size):
                chunk = rows[i : i + self.batch_size]
                served = self.sandbox.perturb(chunk, previous) if self.sandbox else chunk
                previous = chunk
                batches.append(
                    {"results": served, "fieldMask": mask, "requestId": secrets.token_hex(8)}
                )
            if not rows:
                batches = [{"fieldMask": mask, "requestId": secrets.token_hex(8)}]
            batches[-1]["queryResourceConsumption"] = str(10 + len(rows) // 100)
            return json_response(batches)

        return router

    def _run(self, cid: str, query: Query) -> list[dict[str, Any]]:
        resource = query.resource.lower()
        if resource == "lead_form_submission_data":
            source = []
            for s in self._visible_submissions(cid):
                source.append(
                    (s.row, {"lead_form_submission_data.submission_date_time": s.local_time})
                )
        elif resource == "campaign":
            source = [(row, {}) for row in self.cost_rows(cid)]
        else:
            raise ValueError(f"resource {query.resource} is not served by the sandbox")
        out = []
        for row, overrides in source:
            if all(
                _compare(overrides.get(f, lookup(row, f)), op, lit)
                for f, op, lit in query.conditions
            ):
                out.append((row, overrides))
        if query.order:
            out.sort(
                key=lambda item: str(item[1].get(query.order, lookup(item[0], query.order)) or ""),
                reverse=query.descending,
            )
        rows = [project(row, query.select, resource) for row, _ in out]
        return rows[: query.limit] if query.limit else rows


def camel_path(field: str) -> str:
    return ".".join(camel(part) for part in field.split("."))


def lookup(row: dict[str, Any], field: str) -> Any:
    value: Any = row
    for part in camel_path(field).split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def project(row: dict[str, Any], fields, resource: str) -> dict[str, Any]:
    """Only the selected fields (and resource names), as the REST API returns rows."""
    out: dict[str, Any] = {}
    res_key = camel(resource)
    selected = {camel_path(f).split(".")[0] for f in fields}  # attributed resources too
    for key in (res_key, *sorted(selected - {res_key, "segments", "metrics"})):
        if isinstance(row.get(key), dict) and "resourceName" in row[key]:
            out[key] = {"resourceName": row[key]["resourceName"]}
    for field in fields:
        parts = camel_path(field).split(".")
        value = lookup(row, field)
        if value is None:
            continue
        target = out
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    if res_key in row and NEW_FIELD in row[res_key]:  # drift: a field nobody selected
        out.setdefault(res_key, {})[NEW_FIELD] = row[res_key][NEW_FIELD]
    return out


def secrets_token(rng) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    return "".join(rng.choice(alphabet) for _ in range(40))

"""Sandbox of the Salesforce REST API (v60.0): OAuth token endpoint and SOQL query.

Endpoints (under the ``/salesforce`` prefix, standing for ``https://<domain>.my.salesforce.com``):

- ``POST /services/oauth2/token`` (form ``grant_type=refresh_token`` with ``client_id``,
  ``client_secret``, ``refresh_token``, or ``grant_type=client_credentials``) ->
  ``{"access_token", "instance_url", "id", "token_type", "issued_at", "signature"}``; a bad
  grant is ``400 {"error": "invalid_grant", "error_description": "expired access/refresh
  token"}``.
- ``GET /services/data/{version}/query?q=SELECT ... FROM <sObject> WHERE a = 'x' AND
  b > 2026-05-04T00:00:00Z ORDER BY b, Id`` -> ``{"totalSize", "done", "records",
  "nextRecordsUrl"}``; records carry ``attributes {type, url}``; the batch size follows the
  ``Sforce-Query-Options: batchSize=n`` header (default 2000). ``GET /services/data/{version}
  /query/{locator}`` continues a query.
- Errors: ``[{"message", "errorCode"}]``: 401 ``INVALID_SESSION_ID``, 403
  ``REQUEST_LIMIT_EXCEEDED`` (the injected rate-limit fault), 400 ``MALFORMED_QUERY`` /
  ``INVALID_QUERY_LOCATOR``, 500 ``UNKNOWN_EXCEPTION``.

The data: per dealer, consultants (User), leads whose ``Status`` moves over time (each move is
a ``LeadHistory`` row and bumps ``SystemModstamp``); about 40% of leads arrive owned by the
dealer's lead queue (``OwnerId`` prefix ``00G``) and are assigned to a consultant minutes to a
day later: the owner change is recorded as Salesforce records it, two ``LeadHistory`` rows of
``Field = 'Owner'`` (one with the ids, one with the names); opportunities of converted leads moving
through ``StageName`` (``OpportunityHistory``), follow-up Tasks, and calendar Events (``Type``
"Showroom Visit" and often a "Test Drive" the same day for about half of the contacted leads, a
generic "Meeting" for some, a "Delivery" on the opportunity 2-10 days after it is won). Some
leads are people who first came through a Meta or Google Ads lead form or a dealer event
(:meth:`World.shared`). Records are visible from the time of their version (``world.now``).
Schema drift: a few leads carry ``Lead_Score__c`` (never selected), about 1% lack
``SystemModstamp`` (must be quarantined).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from dealerfunnel.settings import load_funnel_settings, read_seed
from dealerfunnel_demo.sandbox.core import Sandbox, bearer, http_connection, json_response
from dealerfunnel_demo.sandbox.world import World
from dealerfunnel_demo.synth.generator import cadence_times

NAME = "salesforce"
PREFIX = "salesforce"
NEW_FIELD = "Lead_Score__c"
DEALER_FIELD = "Dealer_Code__c"
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Walk-in", "Event")
OPP_STAGES = ("Qualification", "Needs Analysis", "Proposal/Price Quote", "Negotiation/Review")
TABLES = {
    "Lead": "salesforce__leads",
    "Opportunity": "salesforce__opportunities",
    "LeadHistory": "salesforce__lead_history",
    "OpportunityHistory": "salesforce__opportunity_history",
    "Task": "salesforce__tasks",
    "Event": "salesforce__events",
    "User": "salesforce__users",
}
CURRENCY = "CNY"  # the dealers' deals, in a multi-currency org
CURSOR = {"LeadHistory": "CreatedDate", "OpportunityHistory": "CreatedDate"}


def sf_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def sf_error(status: int, code: str, message: str) -> Response:
    return json_response([{"message": message, "errorCode": code}], status)


@dataclass
class Entity:
    """One record over time: ``versions`` sorted by time; the visible one is the last <= now."""

    sobject: str
    dealer: str
    record_id: str
    versions: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)
    drift: str | None = None

    def at(self, now: datetime) -> dict[str, Any] | None:
        visible = None
        for when, record in self.versions:
            if when <= now:
                visible = record
        return visible


def _id(prefix: str, dealer_index: int, n: int) -> str:
    return f"{prefix}{dealer_index:02d}{n:010d}AAA"  # 18 characters


# -- a tiny SOQL: SELECT f, ... FROM o [WHERE c AND c] [ORDER BY f, f] [LIMIT n] -------------

_QUERY = re.compile(
    r"^\s*SELECT\s+(?P<select>.+?)\s+FROM\s+(?P<object>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+ORDER\s+BY\s+(?P<order>.+?))?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_COND = re.compile(
    r"^\s*(?P<field>[\w.]+)\s*(?P<op>>=|<=|!=|=|>|<)\s*"
    r"(?P<value>'(?:[^'\\]|\\.)*'|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z|true|false|null)\s*$",
    re.IGNORECASE,
)


def parse_soql(text: str) -> dict[str, Any]:
    match = _QUERY.match(text or "")
    if not match:
        raise ValueError("unexpected token")
    conditions = []
    if match.group("where"):
        for part in re.split(r"\s+AND\s+", match.group("where"), flags=re.IGNORECASE):
            cond = _COND.match(part)
            if not cond:
                raise ValueError(f"unexpected token: {part.strip()!r}")
            raw = cond.group("value")
            value: Any
            if raw.startswith("'"):
                value = re.sub(r"\\(.)", r"\1", raw[1:-1])
            elif raw.lower() in ("true", "false"):
                value = raw.lower() == "true"
            elif raw.lower() == "null":
                value = None
            else:
                value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            conditions.append((cond.group("field"), cond.group("op"), value))
    order = [f.strip() for f in (match.group("order") or "").split(",") if f.strip()]
    return {
        "select": [f.strip() for f in match.group("select").split(",")],
        "object": match.group("object"),
        "where": conditions,
        "order": order,
        "limit": int(match.group("limit")) if match.group("limit") else None,
    }


class InvalidField(ValueError):
    """A selected field the sObject does not have (400 ``INVALID_FIELD``)."""


def _compare(left: Any, op: str, right: Any) -> bool:
    if isinstance(right, datetime):
        if not isinstance(left, str):
            return False
        left = datetime.strptime(left, "%Y-%m-%dT%H:%M:%S.%f%z")
    if left is None or right is None:
        return (op in ("=",) and left is right) or (op == "!=" and left is not right)
    return {
        "=": left == right,
        "!=": left != right,
        ">": left > right,
        ">=": left >= right,
        "<": left < right,
        "<=": left <= right,
    }[op]


class SalesforceApi:
    name = NAME
    prefix = PREFIX

    def __init__(self, world: World, sandbox: Sandbox | None = None, **_: Any) -> None:
        self.world = world
        self.sandbox = sandbox
        self.orgs: dict[str, str] = {}  # dealer code -> org id
        self.values: dict[str, str] = {}  # dealer code -> its Dealer_Code__c value
        self.entities: dict[str, list[Entity]] = {name: [] for name in TABLES}
        self._tokens: set[str] = set()
        self._lock = threading.Lock()
        self.tokens_issued = 0
        # the org has multiple currencies enabled when the connector is configured so: then
        # Opportunity / OpportunityHistory carry CurrencyIsoCode; otherwise the field does not
        # exist and selecting it is a 400 INVALID_FIELD, as in a real single-currency org
        options = (world.sources.get(NAME) or {}).get("options") or {}
        self.multi_currency = bool(options.get("multi_currency"))
        self._build()

    # -- data ---------------------------------------------------------------------------------

    def _build(self) -> None:
        world = self.world
        # the policy's grades and cadences, from their one home (the dbt seeds)
        self.grades = {
            row["source_grade"].casefold(): row["grade"]
            for row in read_seed("grade_mapping", ("source", "source_grade", "grade"))
            if row["source"] == NAME
        }
        self.settings = load_funnel_settings()
        for code, account in sorted(world.accounts(NAME).items()):
            self.orgs[code] = str(account["org_id"])
            value = self.values[code] = str(account.get("dealer_value") or code)
            dealer = world.dealers[code]
            rng = world.rng(NAME, code)
            queue_rng = world.rng(NAME, code, "queue")  # leaves the other draws as they were
            cadence_rng = world.rng(NAME, code, "cadence")
            events_rng = world.rng(NAME, code, "events")
            i = dealer.index
            counters = {"lh": 0, "oh": 0, "task": 0, "event": 0}
            users = []
            names = {}
            queue, queue_name = _id("00G", i, 1), f"{code} Lead Queue"
            for k in range(4):
                person = world.person(rng)
                uid = _id("005", i, k + 1)
                stamp = world.start - timedelta(days=30)
                users.append(uid)
                names[uid] = person.name
                record = {
                    "Id": uid,
                    "Name": person.name,
                    "Username": f"consultant{k + 1}.{code.lower()}@dealer.example.com",
                    "Email": f"consultant{k + 1}.{code.lower()}@dealer.example.com",
                    "IsActive": k < 3,
                    "Title": "Sales Consultant",
                    DEALER_FIELD: value,
                    "SystemModstamp": sf_time(stamp),
                }
                self.entities["User"].append(Entity("User", code, uid, [(stamp, record)]))
            n = max(1, world.lead_count(rng) // 2)
            times = world.creation_times(rng, n)
            shared = [(p.worked_at, p) for p in world.shared(NAME, code)]
            for k, (created, known) in enumerate([(t, None) for t in times] + shared):
                person = world.person(rng) if known is None else known
                lead_id = _id("00Q", i, k + 1)
                owner = rng.choice(users[:3])
                in_queue = queue_rng.random() < 0.4
                base = {
                    "Id": lead_id,
                    "FirstName": person.name[1:],
                    "LastName": person.name[:1],
                    "Company": person.name,
                    "Phone": None,
                    "MobilePhone": f"+86{person.phone}",
                    "Email": person.email or None,
                    "Status": "Open - Not Contacted",
                    "LeadSource": rng.choice(LEAD_SOURCES),
                    "Rating": rng.choice(("Hot", "Warm", "Cold")),
                    "OwnerId": queue if in_queue else owner,
                    "IsConverted": False,
                    "ConvertedOpportunityId": None,
                    "Model_of_Interest__c": rng.choice(world.models(code)),
                    DEALER_FIELD: value,
                    "CreatedDate": sf_time(created),
                }
                drift = world.drift(rng) if known is None else None
                lead = Entity("Lead", code, lead_id, drift=drift)
                self._lead_version(lead, created, base, drift, rng)
                self.entities["Lead"].append(lead)
                # follow-up tasks
                for _ in range(rng.randrange(0, 3)):
                    counters["task"] += 1
                    when = created + timedelta(hours=rng.randrange(1, 96))
                    tid = _id("00T", i, counters["task"])
                    status = rng.choice(("Completed", "Not Started"))
                    task = {
                        "Id": tid,
                        "WhoId": lead_id,
                        "WhatId": None,
                        "Subject": rng.choice(("Call", "Send brochure", "Test drive follow-up")),
                        "Status": status,
                        "Priority": "Normal",
                        "ActivityDate": when.date().isoformat(),
                        "TaskSubtype": rng.choice(("Call", "Task", "Email")),
                        "CompletedDateTime": sf_time(when) if status == "Completed" else None,
                        "OwnerId": owner,
                        DEALER_FIELD: value,
                        "CreatedDate": sf_time(when),
                        "SystemModstamp": sf_time(when),
                    }
                    self.entities["Task"].append(Entity("Task", code, tid, [(when, task)]))
                if drift == "missing_field":
                    continue  # a broken lead stays as it is
                when = created
                if in_queue:  # the queue's lead is assigned to a consultant
                    when = created + timedelta(minutes=queue_rng.randrange(10, 30 * 60))
                    for old, new in ((queue, owner), (queue_name, names[owner])):
                        self._lead_history(
                            code, counters, lead_id, "Owner", old, new, users[0], when
                        )
                    base = {**base, "OwnerId": owner}
                    self._lead_version(lead, when, base, drift, rng)
                # status moves
                opened = when
                status = "Open - Not Contacted"
                moves = []
                if rng.random() < 0.75:
                    when = when + timedelta(hours=rng.randrange(1, 72))
                    moves.append((when, "Working - Contacted"))
                    if rng.random() < 0.5:
                        when = when + timedelta(hours=rng.randrange(24, 240))
                        final = (
                            "Closed - Converted" if rng.random() < 0.6 else "Closed - Not Converted"
                        )
                        moves.append((when, final))
                open_opportunity = None
                for when, new in moves:
                    self._lead_history(code, counters, lead_id, "Status", status, new, owner, when)
                    status = new
                    changes = {"Status": new}
                    if new == "Closed - Converted":
                        opp_id = _id("006", i, k + 1)
                        changes.update(IsConverted=True, ConvertedOpportunityId=opp_id)
                        closed, last_change = self._opportunity(
                            code, i, opp_id, base, owner, when, rng, counters
                        )
                        # open until it closes, which may be after the world ends
                        until = last_change if closed else world.end
                        open_opportunity = (opp_id, when, until)
                    base = {**base, **changes}
                    self._lead_version(lead, when, base, drift, rng)
                self._events(code, counters, lead_id, base, owner, moves, events_rng)
                # the consultant keeps the rating's cadence while the sale is open: on the lead
                # until it closes, then on the opportunity it converted into (WhatId)
                contacted = next((t for t, new in moves if new == "Working - Contacted"), None)
                closing = next((t for t, new in moves if new.startswith("Closed")), world.end)
                self._keep_cadence(
                    code,
                    counters,
                    (lead_id, None),
                    base,
                    owner,
                    (contacted or opened, min(closing, world.end)),
                    cadence_rng,
                    call_now=contacted is not None,
                )
                if open_opportunity is not None:
                    opp_id, converted, until = open_opportunity
                    span = (converted, min(until, world.end))
                    self._keep_cadence(
                        code, counters, (None, opp_id), base, owner, span, cadence_rng, True
                    )

    def _events(self, code, counters, lead_id, lead, owner, moves, rng) -> None:
        """Calendar events of a lead: a showroom visit (and a test drive an hour later, most
        times) a few days after the first contact, a generic meeting for some, and the delivery
        of a won opportunity (on the opportunity, ``WhatId``) 2-10 days after it is won."""
        contacted = next((t for t, new in moves if new == "Working - Contacted"), None)
        planned: list[tuple[datetime, str, str | None, str | None]] = []
        if contacted is not None and rng.random() < 0.5:
            visit = contacted + timedelta(hours=rng.randrange(24, 120))
            planned.append((visit, "Showroom Visit", lead_id, None))
            if rng.random() < 0.7:
                planned.append((visit + timedelta(hours=1), "Test Drive", lead_id, None))
        if contacted is not None and rng.random() < 0.15:
            planned.append((contacted + timedelta(hours=2), "Meeting", lead_id, None))
        opp_id = lead.get("ConvertedOpportunityId")
        opportunity = next(
            (o for o in reversed(self.entities["Opportunity"]) if o.record_id == opp_id), None
        )
        if opportunity is not None and opportunity.versions[-1][1]["IsWon"]:
            won = opportunity.versions[-1][0]
            planned.append((won + timedelta(days=rng.randrange(2, 11)), "Delivery", None, opp_id))
        for start, kind, who, what in planned:
            counters["event"] += 1
            eid = _id("00U", self.world.dealers[code].index, counters["event"])
            event = {
                "Id": eid,
                "WhoId": who,
                "WhatId": what,
                "OwnerId": owner,
                "Subject": kind,
                "Type": kind,
                "StartDateTime": sf_time(start),
                "EndDateTime": sf_time(start + timedelta(hours=1)),
                DEALER_FIELD: lead[DEALER_FIELD],
                "CreatedDate": sf_time(start),
                "LastModifiedDate": sf_time(start),
                "SystemModstamp": sf_time(start),
            }
            self.entities["Event"].append(Entity("Event", code, eid, [(start, event)]))

    def _keep_cadence(self, code, counters, about, lead, owner, span, rng, call_now) -> None:
        """Completed calls on an open sale within its rating's cadence until it closes or the
        world ends, as a consultant makes them (the grade from the seed grade_mapping, its
        longest gap between contacts from funnel_settings; the times from
        :func:`~dealerfunnel_demo.synth.generator.cadence_times`, as the dealer export's), so
        only planted data breaches the follow-up rules. ``about`` = (WhoId, WhatId), ``span`` =
        (from, until); ``call_now``: a call at its start too (the status says the customer was
        contacted then)."""
        grade = self.grades.get(str(lead["Rating"]).casefold())
        start, until = span
        if grade is None or start >= until:
            return
        cadence = f"grade_{grade.lower()}_max_days_between_contacts"
        longest = self.settings.number(cadence, code) * 86400
        zone = self.world.dealers[code].timezone
        calls = [start] if call_now else []
        for last in [*calls, *cadence_times(rng, start, until, longest, zone)]:
            counters["task"] += 1
            tid = _id("00T", self.world.dealers[code].index, counters["task"])
            task = {
                "Id": tid,
                "WhoId": about[0],
                "WhatId": about[1],
                "Subject": "Call",
                "Status": "Completed",
                "Priority": "Normal",
                "ActivityDate": last.date().isoformat(),
                "TaskSubtype": "Call",
                "CompletedDateTime": sf_time(last),
                "OwnerId": owner,
                DEALER_FIELD: lead[DEALER_FIELD],
                "CreatedDate": sf_time(last),
                "SystemModstamp": sf_time(last),
            }
            self.entities["Task"].append(Entity("Task", code, tid, [(last, task)]))

    def _lead_history(self, code, counters, lead_id, field, old, new, by, when) -> None:
        """One LeadHistory row: ``field`` of the lead changed from ``old`` to ``new``."""
        counters["lh"] += 1
        hid = _id("017", self.world.dealers[code].index, counters["lh"])
        history = {
            "Id": hid,
            "LeadId": lead_id,
            "Field": field,
            "OldValue": old,
            "NewValue": new,
            "CreatedById": by,
            "CreatedDate": sf_time(when),
        }
        self.entities["LeadHistory"].append(Entity("LeadHistory", code, hid, [(when, history)]))

    def _lead_version(self, lead: Entity, when: datetime, base: dict, drift, rng) -> None:
        record = {"attributes": self._attributes("Lead", lead.record_id), **base}
        record["LastModifiedDate"] = sf_time(when)
        record["SystemModstamp"] = sf_time(when)
        if drift == "new_field":
            record[NEW_FIELD] = 80
        elif drift == "missing_field":
            del record["SystemModstamp"]
        lead.versions.append((when, record))

    def _opportunity(
        self, code, i, opp_id, lead, owner, when, rng, counters
    ) -> tuple[bool, datetime]:
        """The opportunity a lead converts into; returns (whether it closed, its last change)."""
        opp = Entity("Opportunity", code, opp_id)
        stages = list(OPP_STAGES[: rng.randrange(1, len(OPP_STAGES) + 1)])
        if rng.random() < 0.6:
            stages.append("Closed Won" if rng.random() < 0.5 else "Closed Lost")
        amount = float(rng.randrange(150, 450) * 1000)
        close = (when + timedelta(days=30)).date().isoformat()
        for number, stage in enumerate(stages):
            if number:
                when = when + timedelta(hours=rng.randrange(12, 200))
            closed = stage.startswith("Closed")
            record = {
                "attributes": self._attributes("Opportunity", opp_id),
                "Id": opp_id,
                "Name": f"{lead['Company']} - {lead['Model_of_Interest__c']}",
                "StageName": stage,
                "Amount": amount,
                **self._currency(),
                "CloseDate": close,
                "IsClosed": closed,
                "IsWon": stage == "Closed Won",
                "OwnerId": owner,
                "LeadSource": lead["LeadSource"],
                DEALER_FIELD: lead[DEALER_FIELD],
                "CreatedDate": opp.versions[0][1]["CreatedDate"] if opp.versions else sf_time(when),
                "LastModifiedDate": sf_time(when),
                "SystemModstamp": sf_time(when),
            }
            opp.versions.append((when, record))
            counters["oh"] += 1
            hid = _id("008", i, counters["oh"])
            history = {
                "attributes": self._attributes("OpportunityHistory", hid),
                "Id": hid,
                "OpportunityId": opp_id,
                "StageName": stage,
                "Amount": amount,
                **self._currency(),
                "CloseDate": close,
                "Probability": {
                    "Qualification": 10,
                    "Needs Analysis": 20,
                    "Proposal/Price Quote": 75,
                    "Negotiation/Review": 90,
                    "Closed Won": 100,
                    "Closed Lost": 0,
                }[stage],
                "CreatedById": owner,
                "CreatedDate": sf_time(when),
                "SystemModstamp": sf_time(when),
            }
            self.entities["OpportunityHistory"].append(
                Entity("OpportunityHistory", code, hid, [(when, history)])
            )
        self.entities["Opportunity"].append(opp)
        return stages[-1].startswith("Closed"), when

    def _currency(self) -> dict[str, str]:
        return {"CurrencyIsoCode": CURRENCY} if self.multi_currency else {}

    def _attributes(self, sobject: str, record_id: str) -> dict[str, str]:
        return {"type": sobject, "url": f"/services/data/v60.0/sobjects/{sobject}/{record_id}"}

    def _record(self, entity: Entity) -> dict[str, Any] | None:
        record = entity.at(self.world.now)
        if record is None:
            return None
        if "attributes" not in record:  # rows built without attributes get them here
            record = {"attributes": self._attributes(entity.sobject, entity.record_id), **record}
        return record

    # -- truth --------------------------------------------------------------------------------

    def truth(self) -> dict[str, dict[str, dict[str, Any]]]:
        out: dict[str, dict[str, dict[str, Any]]] = {table: {} for table in TABLES.values()}
        for sobject, entities in self.entities.items():
            for entity in entities:
                record = self._record(entity)
                if record is not None and entity.drift != "missing_field":
                    out[TABLES[sobject]].setdefault(self.orgs[entity.dealer], {})[
                        entity.record_id
                    ] = record
        return out

    def broken(self) -> dict[str, dict[str, list[dict[str, Any]]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for entity in self.entities["Lead"]:
            record = self._record(entity)
            if record is not None and entity.drift == "missing_field":
                out.setdefault(self.orgs[entity.dealer], []).append(record)
        return {"salesforce__leads": out}

    def connection(self, base_url: str) -> dict[str, Any]:
        creds = self.world.spec.credentials
        defaults = {
            "client_id": "sandbox-sf-consumer-key",
            "client_secret": "sandbox-sf-secret",
            "refresh_token": "sandbox-sf-refresh",
        }
        extra = {key: creds.get(f"salesforce_{key}", value) for key, value in defaults.items()}
        return http_connection(base_url, PREFIX, **extra)

    def expire_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    # -- HTTP ---------------------------------------------------------------------------------

    def error_response(self, kind: str) -> Response:
        if kind == "rate_limit":
            return sf_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        if kind == "auth":
            return sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        return sf_error(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred.")

    def _run(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        sobject = query["object"]
        if sobject not in self.entities:
            raise ValueError(f"sObject type '{sobject}' is not supported.")
        if "CurrencyIsoCode" in query["select"] and not self.multi_currency:
            raise InvalidField(
                f"No such column 'CurrencyIsoCode' on entity '{sobject}'. If you are attempting "
                "to use a custom field, be sure to append the '__c' after the custom field name."
            )
        rows = []
        for entity in self.entities[sobject]:
            record = self._record(entity)
            if record is None:
                continue
            hidden = dict(record)
            if entity.drift == "missing_field":  # the org knows the stamp; the payload lacks it
                hidden["SystemModstamp"] = record["LastModifiedDate"]
            value = self.values[entity.dealer]
            hidden[f"Lead.{DEALER_FIELD}"] = hidden[f"Opportunity.{DEALER_FIELD}"] = value
            if all(_compare(hidden.get(f), op, v) for f, op, v in query["where"]):
                rows.append((hidden, record))
        for name in reversed(query["order"] or []):
            rows.sort(key=lambda pair, name=name: str(pair[0].get(name.split()[0]) or ""))
        if query["limit"] is not None:
            rows = rows[: query["limit"]]
        fields = set(query["select"]) | {"attributes"}
        served = []
        for _hidden, record in rows:
            out = {k: v for k, v in record.items() if k in fields}
            if NEW_FIELD in record:  # drift: a field nobody selected
                out[NEW_FIELD] = record[NEW_FIELD]
            served.append(out)
        return served

    def _check(self, request: Request) -> Response | None:
        with self._lock:
            ok = bearer(request) in self._tokens
        return None if ok else self.error_response("auth")

    def _page(self, version: str, q: str, offset: int, batch: int, request: Request) -> Response:
        try:
            rows = self._run(parse_soql(q))
        except InvalidField as exc:
            return sf_error(400, "INVALID_FIELD", str(exc))
        except ValueError as exc:
            return sf_error(400, "MALFORMED_QUERY", str(exc))
        chunk = rows[offset : offset + batch]
        previous = rows[max(0, offset - batch) : offset]
        served = self.sandbox.perturb(chunk, previous) if self.sandbox else chunk
        body: dict[str, Any] = {"totalSize": len(rows), "done": offset + batch >= len(rows)}
        if not body["done"]:
            state = {"q": q, "offset": offset + batch, "batch": batch}
            locator = base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")
            body["nextRecordsUrl"] = f"/services/data/{version}/query/01g{locator}-{offset + batch}"
        body["records"] = served
        return json_response(body)

    def router(self) -> APIRouter:
        router = APIRouter()

        @router.post("/services/oauth2/token")
        async def token(request: Request) -> Response:
            form = await request.form()
            expected = self.connection("")["extra"]
            if (
                form.get("client_id") != expected["client_id"]
                or form.get("client_secret") != expected["client_secret"]
            ):
                return json_response(
                    {"error": "invalid_client", "error_description": "invalid client credentials"},
                    400,
                )
            grant = form.get("grant_type")
            if grant == "refresh_token" and form.get("refresh_token") != expected["refresh_token"]:
                return json_response(
                    {"error": "invalid_grant", "error_description": "expired access/refresh token"},
                    400,
                )
            if grant not in ("refresh_token", "client_credentials"):
                return json_response({"error": "unsupported_grant_type"}, 400)
            access = "00D!sandbox." + secrets.token_urlsafe(24)
            with self._lock:
                self._tokens.add(access)
                self.tokens_issued += 1
            base = f"{request.url.scheme}://{request.url.netloc}/{PREFIX}"
            return json_response(
                {
                    "access_token": access,
                    "instance_url": base,
                    "id": f"{base}/id/00D000000000001/005000000000001",
                    "token_type": "Bearer",
                    "issued_at": str(int(datetime.now(UTC).timestamp() * 1000)),
                    "signature": base64.b64encode(secrets.token_bytes(32)).decode(),
                }
            )

        @router.get("/services/data/{version}/query")
        def query(version: str, request: Request) -> Response:
            if (failure := self._check(request)) is not None:
                return failure
            options = request.headers.get("sforce-query-options", "")
            match = re.search(r"batchSize=(\d+)", options)
            batch = min(int(match.group(1)), 2000) if match else 2000
            return self._page(version, request.query_params.get("q", ""), 0, max(batch, 1), request)

        @router.get("/services/data/{version}/query/{locator}")
        def query_more(version: str, locator: str, request: Request) -> Response:
            if (failure := self._check(request)) is not None:
                return failure
            try:
                token = locator.removeprefix("01g").rsplit("-", 1)[0]
                state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            except ValueError:
                return sf_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            return self._page(version, state["q"], state["offset"], state["batch"], request)

        return router

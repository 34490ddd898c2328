"""Sandbox of the HubSpot CRM API v3: search, batch read with property history, owners,
pipelines.

Endpoints (under the ``/hubspot`` prefix, standing for ``https://api.hubapi.com``), all with
``Authorization: Bearer <private app token>``:

- ``POST /crm/v3/objects/{contacts|deals}/search``: ``filterGroups`` (OR of ANDed filters,
  operators ``EQ``, ``NEQ``, ``GT``, ``GTE``, ``LT``, ``LTE``; dates in epoch ms or ISO),
  one ``sorts`` entry, ``properties``, ``limit`` (<= 100), ``after`` (offset); at most
  ``search_cap`` (10,000) results per query: ``after`` beyond it is a 400 ``VALIDATION_ERROR``.
- ``POST /crm/v3/objects/{deals|contacts}/batch/read``: ``inputs``, ``properties``,
  ``propertiesWithHistory`` (deals: ``dealstage``, newest first).
- ``POST /crm/v4/associations/deals/contacts/batch/read``: ``inputs`` [{``id``, ``after``?}]
  (<= 1,000) -> ``{"status": "COMPLETE", "results": [{"from": {"id"}, "to": [{"toObjectId",
  "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 3, "label": null}]}],
  "paging"?}], "startedAt", "completedAt"}``; ``to`` pages hold ``association_page`` entries
  (``paging.next.after``); a deal without contacts is an ``errors`` entry and the status 207.
- ``POST /crm/v3/objects/feedback_submissions/search`` (survey responses; no dealer property)
  and ``POST /crm/v4/associations/{calls|meetings|...|feedback_submissions}/contacts/batch/read``.
- ``GET /crm/v3/owners?limit=&after=``; ``GET /crm/v3/pipelines/deals/{pipelineId}``.

Errors: ``{"status": "error", "message", "correlationId", "category"}`` (429 ``RATE_LIMITS``,
401 ``INVALID_AUTHENTICATION``, 500 ``INTERNAL_ERROR``, 400 ``VALIDATION_ERROR``).

Data: per dealer (property ``dealer_code``), contacts whose ``lifecyclestage`` moves over time
(each stage entered stamps HubSpot's ``hs_lifecyclestage_<stage>_date``),
deals of some contacts moving through the default pipeline's stages (about one deal in ten is
associated with a second contact of the dealer, e.g. a spouse), four owners in the dealer's team.
Some contacts are people who first came through a Meta or Google Ads lead form or a dealer
event (:meth:`World.shared`). A contact's ``hubspot_owner_assigneddate`` is when its owner was set:
mostly within hours of creation, sometimes days later. Meetings carry the portal's meeting type
(``hs_activity_type``: "Appointment", "Showroom visit", "Test drive", "Delivery") and outcome
(``hs_meeting_outcome``; about a quarter of appointments are ``NO_SHOW``); a won deal's contact
gets a "Delivery" meeting 2-10 days after the win and, about two times in three, an NPS survey
response (``feedback_submissions``, 0-10) a few days after delivery. Schema drift: some contacts
carry a top-level ``url``; about 1% lack ``properties.lastmodifieddate`` (must be quarantined).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from dealerfunnel_demo.sandbox.core import Sandbox, bearer, http_connection, json_response
from dealerfunnel_demo.sandbox.salesforce import Entity
from dealerfunnel_demo.sandbox.world import World

NAME = "hubspot"
PREFIX = "hubspot"
NEW_FIELD = "url"
STAGES = (
    ("appointmentscheduled", "Appointment scheduled", "0.2"),
    ("qualifiedtobuy", "Qualified to buy", "0.4"),
    ("presentationscheduled", "Presentation scheduled", "0.6"),
    ("decisionmakerboughtin", "Decision maker bought-in", "0.8"),
    ("contractsent", "Contract sent", "0.9"),
    ("closedwon", "Closed won", "1.0"),
    ("closedlost", "Closed lost", "0.0"),
)
ANALYTICS_SOURCES = (  # HubSpot's "Original source" values
    "PAID_SOCIAL", "PAID_SEARCH", "ORGANIC_SEARCH", "DIRECT_TRAFFIC", "REFERRALS", "OFFLINE",
    "EMAIL_MARKETING", "SOCIAL_MEDIA", "OTHER_CAMPAIGNS",
)  # fmt: skip
ORIGIN_SOURCES = {"meta": "PAID_SOCIAL", "google_ads": "PAID_SEARCH"}  # a shared person's source
ENGAGEMENTS = ("calls", "meetings", "emails", "notes")
FEEDBACK = "feedback_submissions"
# the portal's meeting types ("call and meeting types"), their titles and outcomes
MEETING_TYPES = (
    ("Appointment", "预约到店 Appointment", 4),
    ("Showroom visit", "到店看车 Showroom visit", 3),
    ("Test drive", "试驾 Test drive", 3),
)
# HubSpot-defined association type ids to contacts (deal_to_contact, call_to_contact, ...)
TO_CONTACT_TYPE = {
    "deals": 3, "calls": 194, "meetings": 200, "emails": 198, "notes": 202, FEEDBACK: 1,
}  # fmt: skip
CALL_OUTCOMES = (  # HubSpot's default call dispositions (GUIDs): connected, no answer, busy
    ("f240bbac-87c9-4f6e-bf70-924b57d47db7", 7),
    ("73a0d17f-1163-4015-bdd5-ec830791da20", 2),
    ("9d9162e7-6cf3-4944-bf63-4dff82258764", 1),
)
ENGAGEMENT_DETAIL = {
    "calls": lambda rng, when: {
        "hs_call_title": "跟进电话 Follow-up call",
        "hs_call_direction": "OUTBOUND",
        "hs_call_disposition": rng.choices(
            [g for g, _ in CALL_OUTCOMES], weights=[w for _, w in CALL_OUTCOMES]
        )[0],
        "hs_call_status": "COMPLETED",
        "hs_call_duration": str(rng.randrange(20, 600) * 1000),
    },
    "meetings": lambda rng, when: {
        "hs_meeting_title": "到店看车 Showroom visit",
        "hs_meeting_outcome": "COMPLETED",
        "hs_meeting_start_time": hs_time(when),
    },
    "emails": lambda rng, when: {
        "hs_email_subject": "车型报价 Quotation",
        "hs_email_direction": "EMAIL",
        "hs_email_status": "SENT",
    },
    "notes": lambda rng, when: {"hs_note_body": "客户需求记录 needs noted"},
}
CURSOR = {
    "contacts": "lastmodifieddate",
    "deals": "hs_lastmodifieddate",
    **dict.fromkeys(ENGAGEMENTS, "hs_lastmodifieddate"),
    FEEDBACK: "hs_lastmodifieddate",
}
DEFAULTS = {
    "contacts": ("createdate", "email", "firstname", "lastmodifieddate", "lastname"),
    "deals": ("amount", "closedate", "createdate", "dealname", "dealstage", "pipeline",
              "hs_lastmodifieddate"),
    **dict.fromkeys(ENGAGEMENTS, ("hs_timestamp", "hs_createdate", "hs_lastmodifieddate")),
    FEEDBACK: ("hs_createdate", "hs_lastmodifieddate"),
}  # fmt: skip


def hs_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def hs_error(status: int, category: str, message: str) -> Response:
    return json_response(
        {
            "status": "error",
            "message": message,
            "correlationId": str(uuid.uuid4()),
            "category": category,
        },
        status,
    )


def _ms(value: Any) -> int | None:
    if value is None:
        return None
    text = str(value)
    if text.isdigit():
        return int(text)
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


class HubSpotApi:
    name = NAME
    prefix = PREFIX

    def __init__(self, world: World, sandbox: Sandbox | None = None, **_: Any) -> None:
        self.world = world
        self.sandbox = sandbox
        self.search_cap = 10_000
        self.portals: dict[str, str] = {}  # dealer -> portal id
        self.entities: dict[str, list[Entity]] = {
            obj: [] for obj in ("contacts", "deals", *ENGAGEMENTS, FEEDBACK)
        }
        self.engagement_contacts: dict[str, list[str]] = {}  # engagement id -> contact ids
        self.engagement_count = 0
        self.aftersale_count = 0  # delivery meetings and survey responses (their own ids)
        self.owners: list[dict[str, Any]] = []
        self.owner_dealer: dict[str, str] = {}
        self.deal_contacts: dict[str, list[str]] = {}  # deal id -> associated contact ids
        self.association_page = 100
        self.pipeline = {
            "id": "default",
            "label": "Sales Pipeline",
            "displayOrder": 0,
            "stages": [
                {
                    "id": sid,
                    "label": label,
                    "displayOrder": k,
                    "metadata": {"isClosed": str(sid.startswith("closed")).lower(),
                                 "probability": p},
                    "createdAt": hs_time(world.start - timedelta(days=400)),
                    "updatedAt": hs_time(world.start - timedelta(days=400)),
                    "archived": False,
                }
                for k, (sid, label, p) in enumerate(STAGES)
            ],
            "createdAt": hs_time(world.start - timedelta(days=400)),
            "updatedAt": hs_time(world.start - timedelta(days=400)),
            "archived": False,
        }  # fmt: skip
        self._build()

    def _build(self) -> None:
        world = self.world
        for code, account in sorted(world.accounts(NAME).items()):
            self.portals[code] = str(account["portal_id"])
            value = str(account.get("dealer_value") or code)
            team = str(account["team_id"])
            dealer = world.dealers[code]
            rng = world.rng(NAME, code)
            more = world.rng(NAME, code, "more")  # new draws; the others stay as they were
            engagement_rng = world.rng(NAME, code, "engagements")
            meeting_rng = world.rng(NAME, code, "meetings")
            owners = []
            for k in range(4):
                person = world.person(rng)
                oid = str(70_000_000 + dealer.index * 100 + k + 1)
                stamp = hs_time(world.start - timedelta(days=60))
                owners.append(oid)
                self.owner_dealer[oid] = code
                self.owners.append(
                    {
                        "id": oid,
                        "email": f"owner{k + 1}.{code.lower()}@dealer.example.com",
                        "type": "PERSON",
                        "firstName": person.name[1:],
                        "lastName": person.name[:1],
                        "userId": 9_000_000 + dealer.index * 100 + k + 1,
                        "createdAt": stamp,
                        "updatedAt": stamp,
                        "archived": False,
                        "teams": [{"id": team, "name": f"{code} sales", "primary": True}],
                    }
                )
            n = max(1, world.lead_count(rng) // 2)
            contact_ids: list[str] = []
            times = world.creation_times(rng, n)
            shared = [(p.worked_at, p) for p in world.shared(NAME, code)]
            for k, (created, known) in enumerate([(t, None) for t in times] + shared):
                person = world.person(rng) if known is None else known
                cid = str(100_000 + dealer.index * 10_000 + k + 1)
                drift = world.drift(rng) if known is None else None
                owner = rng.choice(owners)
                delay = (
                    timedelta(minutes=more.randrange(5, 240))
                    if more.random() < 0.8
                    else timedelta(hours=more.randrange(24, 96))
                )
                props = {
                    "email": person.email or None,
                    "firstname": person.name[1:],
                    "lastname": person.name[:1],
                    "phone": f"+86{person.phone}",
                    "lifecyclestage": "lead",
                    "hs_lifecyclestage_lead_date": hs_time(created),
                    "hs_lead_status": "NEW",
                    "car_model": rng.choice(world.models(code)),
                    "dealer_code": value,
                    "createdate": hs_time(created),
                    "hs_analytics_source": (
                        more.choice(ANALYTICS_SOURCES)
                        if known is None
                        else ORIGIN_SOURCES.get(known.origin, "OFFLINE")
                    ),
                }
                assigned = {"hubspot_owner_id": owner}
                contact = Entity("contacts", code, cid, drift=drift)
                self.entities["contacts"].append(contact)
                if drift == "missing_field":  # one version, owned from the start
                    assigned["hubspot_owner_assigneddate"] = hs_time(created)
                    self._contact_version(contact, created, {**props, **assigned}, drift)
                    continue
                # created without an owner; the owner is set (and its date stamped) later
                self._contact_version(contact, created, props, drift)
                when = created + delay
                assigned["hubspot_owner_assigneddate"] = hs_time(when)
                props = {**props, **assigned}
                self._contact_version(contact, when, props, drift)
                self._engagements(code, team, owner, cid, when, engagement_rng, meeting_rng)
                if rng.random() < 0.7:
                    when += timedelta(hours=rng.randrange(1, 72))
                    props = {**props, "lifecyclestage": "marketingqualifiedlead",
                             "hs_lifecyclestage_marketingqualifiedlead_date": hs_time(when),
                             "hs_lead_status": "IN_PROGRESS"}  # fmt: skip
                    self._contact_version(contact, when, props, drift)
                    if rng.random() < 0.5:
                        when += timedelta(hours=rng.randrange(24, 200))
                        props = {**props, "lifecyclestage": "opportunity",
                                 "hs_lifecyclestage_opportunity_date": hs_time(when)}  # fmt: skip
                        self._contact_version(contact, when, props, drift)
                        did = self._deal(code, dealer.index, k, props, owner, when, value, rng)
                        self.deal_contacts[did] = [cid]
                        self._after_sale(code, team, owner, cid, did, meeting_rng)
                        if contact_ids and more.random() < 0.1:  # a second buyer (a spouse)
                            self.deal_contacts[did].append(more.choice(contact_ids))
                contact_ids.append(cid)

    def _engagements(self, code, team, owner, contact_id, assigned, rng, meeting_rng) -> None:
        """The owner's calls, meetings, e-mails and notes with the contact after assignment (a
        meeting's type and outcome drawn from ``meeting_rng``)."""
        if rng.random() >= 0.9:
            return
        when = assigned + timedelta(minutes=rng.randrange(10, 20 * 60))
        kinds = [rng.choices(ENGAGEMENTS, weights=(7, 1, 2, 0))[0]]
        kinds += [rng.choice(ENGAGEMENTS) for _ in range(rng.randrange(0, 4))]
        for number, kind in enumerate(kinds):
            if number:
                when += timedelta(hours=rng.randrange(24, 120))
            self.engagement_count += 1
            eid = str(50_000_000_000 + self.engagement_count)
            props = {
                "hs_timestamp": hs_time(when),
                "hubspot_owner_id": owner,
                "hubspot_team_id": team,
                "hs_createdate": hs_time(when),
                "hs_lastmodifieddate": hs_time(when),
                "hs_object_id": eid,
                **ENGAGEMENT_DETAIL[kind](rng, when),
            }
            if kind == "meetings":
                props.update(self._meeting_type(meeting_rng))
            record = {
                "id": eid,
                "properties": props,
                "createdAt": props["hs_createdate"],
                "updatedAt": props["hs_lastmodifieddate"],
                "archived": False,
            }
            self.entities[kind].append(Entity(kind, code, eid, [(when, record)]))
            self.engagement_contacts[eid] = [contact_id]

    @staticmethod
    def _meeting_type(rng) -> dict[str, str]:
        names, titles, weights = zip(*MEETING_TYPES, strict=True)
        k = rng.choices(range(len(names)), weights=weights)[0]
        no_show = names[k] == "Appointment" and rng.random() < 0.25
        return {
            "hs_activity_type": names[k],
            "hs_meeting_title": titles[k],
            "hs_meeting_outcome": "NO_SHOW" if no_show else "COMPLETED",
        }

    def _after_sale(self, code, team, owner, contact_id, deal_id, rng) -> None:
        """A won deal's delivery meeting (2-10 days after the win) and, two times in three, the
        customer's NPS survey response 1-7 days after the delivery."""
        deal = self.entities["deals"][-1]
        assert deal.record_id == deal_id
        won_at, last = deal.versions[-1]
        if last["properties"]["dealstage"] != "closedwon":
            return
        delivered = won_at + timedelta(days=rng.randrange(2, 11), hours=rng.randrange(0, 8))
        self.aftersale_count += 1
        mid = str(60_000_000_000 + self.aftersale_count)
        props = {
            "hs_timestamp": hs_time(delivered),
            "hubspot_owner_id": owner,
            "hubspot_team_id": team,
            "hs_createdate": hs_time(delivered),
            "hs_lastmodifieddate": hs_time(delivered),
            "hs_object_id": mid,
            "hs_meeting_title": "交车 Delivery",
            "hs_meeting_outcome": "COMPLETED",
            "hs_meeting_start_time": hs_time(delivered),
            "hs_meeting_end_time": hs_time(delivered + timedelta(hours=1)),
            "hs_activity_type": "Delivery",
        }
        record = {"id": mid, "properties": props, "createdAt": props["hs_createdate"],
                  "updatedAt": props["hs_lastmodifieddate"], "archived": False}  # fmt: skip
        self.entities["meetings"].append(Entity("meetings", code, mid, [(delivered, record)]))
        self.engagement_contacts[mid] = [contact_id]
        if rng.random() >= 2 / 3:
            return
        answered = delivered + timedelta(days=rng.randrange(1, 8), minutes=rng.randrange(0, 600))
        score = rng.choices(range(11), weights=(1, 0, 0, 1, 1, 2, 3, 5, 8, 10, 9))[0]
        self.aftersale_count += 1
        sid = str(70_000_000_000 + self.aftersale_count)
        props = {
            "hs_survey_id": "1001",
            "hs_survey_name": "交车满意度 Delivery NPS",
            "hs_survey_type": "NPS",
            "hs_survey_channel": "EMAIL",
            "hs_response_value": str(score),
            "hs_sentiment": "Promoter" if score >= 9 else "Passive" if score >= 7 else "Detractor",
            "hs_content": None,
            "hs_submission_timestamp": hs_time(answered),
            "hs_createdate": hs_time(answered),
            "hs_lastmodifieddate": hs_time(answered),
            "hs_object_id": sid,
        }
        record = {"id": sid, "properties": props, "createdAt": props["hs_createdate"],
                  "updatedAt": props["hs_lastmodifieddate"], "archived": False}  # fmt: skip
        self.entities[FEEDBACK].append(Entity(FEEDBACK, code, sid, [(answered, record)]))
        self.engagement_contacts[sid] = [contact_id]

    def _contact_version(self, contact: Entity, when: datetime, props: dict, drift) -> None:
        props = {**props, "lastmodifieddate": hs_time(when), "hs_object_id": contact.record_id}
        hidden_stamp = props["lastmodifieddate"]
        if drift == "missing_field":
            del props["lastmodifieddate"]
        record: dict[str, Any] = {
            "id": contact.record_id,
            "properties": props,
            "createdAt": props["createdate"],
            "updatedAt": hidden_stamp,
            "archived": False,
        }
        if drift == "new_field":
            record[NEW_FIELD] = f"https://app.hubspot.com/contacts/1/record/0-1/{contact.record_id}"
        contact.versions.append((when, record))

    def _deal(self, code, index, k, contact, owner, when, value, rng) -> str:
        did = str(900_000 + index * 10_000 + k + 1)
        deal = Entity("deals", code, did)
        path = [s for s, _, _ in STAGES[: rng.randrange(1, 6)]]
        if rng.random() < 0.6:
            path.append("closedwon" if rng.random() < 0.5 else "closedlost")
        created = when
        history: list[dict[str, Any]] = []
        for number, stage in enumerate(path):
            if number:
                when = when + timedelta(hours=rng.randrange(12, 150))
            history.insert(
                0,
                {
                    "value": stage,
                    "timestamp": hs_time(when),
                    "sourceType": "CRM_UI",
                    "sourceId": f"userId:{9_000_000 + index * 100 + 1}",
                    "updatedByUserId": 9_000_000 + index * 100 + 1,
                },
            )
            props = {
                "dealname": f"{contact['lastname']}{contact['firstname']} - {contact['car_model']}",
                "dealstage": stage,
                "pipeline": "default",
                "amount": str(rng.randrange(150, 450) * 1000) if not number else None,
                "deal_currency_code": "CNY",
                "closedate": hs_time(created + timedelta(days=30)),
                "hubspot_owner_id": owner,
                "dealer_code": value,
                "createdate": hs_time(created),
                "hs_lastmodifieddate": hs_time(when),
                "hs_object_id": did,
            }
            if number:  # the amount stays what it was
                props["amount"] = deal.versions[-1][1]["properties"]["amount"]
            deal.versions.append(
                (
                    when,
                    {
                        "id": did,
                        "properties": props,
                        "propertiesWithHistory": {"dealstage": [dict(h) for h in history]},
                        "createdAt": hs_time(created),
                        "updatedAt": hs_time(when),
                        "archived": False,
                    },
                )
            )
        self.entities["deals"].append(deal)
        return did

    # -- truth --------------------------------------------------------------------------------

    def truth(self) -> dict[str, dict[str, dict[str, Any]]]:
        now = self.world.now
        out: dict[str, dict[str, dict[str, Any]]] = {
            f"hubspot__{o}": {}
            for o in ("contacts", "deals", "owners", "pipelines", *ENGAGEMENTS, FEEDBACK)
        }
        for obj, entities in self.entities.items():
            for entity in entities:
                record = entity.at(now)
                if record is not None and entity.drift != "missing_field":
                    if obj != "contacts":  # as the connector stores it: with its contacts
                        ids = self._contacts_of(obj).get(entity.record_id, [])
                        contacts = self._to_entries(obj, ids)
                        record = {**record, "associations": {"contacts": contacts}}
                    out[f"hubspot__{obj}"].setdefault(self.portals[entity.dealer], {})[
                        entity.record_id
                    ] = record
        for owner in self.owners:
            portal = self.portals[self.owner_dealer[owner["id"]]]
            out["hubspot__owners"].setdefault(portal, {})[owner["id"]] = owner
        for portal in set(self.portals.values()):
            out["hubspot__pipelines"][portal] = {"default": self.pipeline}
        return out

    def broken(self) -> dict[str, dict[str, list[dict[str, Any]]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for entity in self.entities["contacts"]:
            record = entity.at(self.world.now)
            if record is not None and entity.drift == "missing_field":
                out.setdefault(self.portals[entity.dealer], []).append(record)
        return {"hubspot__contacts": out}

    def connection(self, base_url: str) -> dict[str, Any]:
        creds = self.world.spec.credentials
        token = creds.get("hubspot_access_token", "pat-na1-sandbox-hubspot-token")
        return http_connection(base_url, PREFIX, password=token)

    # -- HTTP ---------------------------------------------------------------------------------

    def error_response(self, kind: str) -> Response:
        if kind == "rate_limit":
            return hs_error(
                429, "RATE_LIMITS", "You have reached your secondly limit.",
            )  # fmt: skip
        if kind == "auth":
            return self._auth_error()
        return hs_error(500, "INTERNAL_ERROR", "internal error")

    @staticmethod
    def _auth_error() -> Response:
        return hs_error(
            401,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication "
            "and you can find more details at https://developers.hubspot.com/docs/methods/auth/"
            "oauth-overview",
        )

    def _check(self, request: Request) -> Response | None:
        if bearer(request) != self.connection("")["password"]:
            return self._auth_error()
        return None

    @staticmethod
    def _render(record: dict[str, Any], obj: str, wanted: list[str] | None) -> dict[str, Any]:
        names = set(wanted or DEFAULTS[obj]) | {"hs_object_id", "createdate", CURSOR[obj]}
        props = {k: v for k, v in record["properties"].items() if k in names}
        out = {k: v for k, v in record.items() if k not in ("properties", "propertiesWithHistory")}
        out["properties"] = props
        return out

    def router(self) -> APIRouter:
        router = APIRouter()

        @router.post("/crm/v3/objects/{obj}/search")
        async def search(obj: str, request: Request) -> Response:
            if (failure := self._check(request)) is not None:
                return failure
            if obj not in self.entities:
                return hs_error(400, "VALIDATION_ERROR", f"Unable to infer object type from: {obj}")
            try:
                body = await request.json()
                limit = int(body.get("limit", 10))
                offset = int(body.get("after") or 0)
                if not 0 < limit <= 100:
                    raise ValueError("limit must be between 1 and 100")
                if offset + limit > self.search_cap:
                    raise ValueError(
                        f"The search API returns at most {self.search_cap} results per query"
                    )
                rows = self._search(obj, body)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                return hs_error(400, "VALIDATION_ERROR", str(exc))
            chunk = rows[offset : offset + limit]
            wanted = body.get("properties")
            data = [self._render(r, obj, wanted) for r in chunk]
            previous = [self._render(r, obj, wanted) for r in rows[max(0, offset - limit) : offset]]
            if self.sandbox is not None:
                data = self.sandbox.perturb(data, previous)
            out: dict[str, Any] = {"total": len(rows), "results": data}
            if offset + limit < len(rows):
                out["paging"] = {"next": {"after": str(offset + limit), "link": "?after="}}
            return json_response(out)

        @router.post("/crm/v3/objects/{obj}/batch/read")
        async def batch_read(obj: str, request: Request) -> Response:
            if (failure := self._check(request)) is not None:
                return failure
            try:
                body = await request.json()
                ids = [str(i["id"]) for i in body["inputs"]]
            except (ValueError, TypeError, KeyError) as exc:
                return hs_error(400, "VALIDATION_ERROR", f"Invalid input JSON: {exc}")
            if len(ids) > 100:
                return hs_error(400, "VALIDATION_ERROR", "Batch input is limited to 100 inputs")
            if obj not in ("deals", "contacts"):
                return hs_error(400, "VALIDATION_ERROR", f"Unable to infer object type from: {obj}")
            started = hs_time(datetime.now(UTC))
            by_id = {e.record_id: e for e in self.entities[obj]}
            results = []
            for did in ids:
                entity = by_id.get(did)
                record = entity.at(self.world.now) if entity else None
                if record is None:
                    continue
                out = self._render(record, obj, body.get("properties"))
                if obj == "deals" and "dealstage" in (body.get("propertiesWithHistory") or []):
                    out["propertiesWithHistory"] = record["propertiesWithHistory"]
                results.append(out)
            return json_response(
                {
                    "status": "COMPLETE",
                    "results": results,
                    "startedAt": started,
                    "completedAt": hs_time(datetime.now(UTC)),
                }
            )

        @router.post("/crm/v4/associations/{obj}/contacts/batch/read")
        async def contacts_of(obj: str, request: Request) -> Response:
            if (failure := self._check(request)) is not None:
                return failure
            if obj not in self.entities or obj == "contacts":
                return hs_error(400, "VALIDATION_ERROR", f"Unable to infer object type from: {obj}")
            try:
                body = await request.json()
                inputs = [(str(i["id"]), int(i.get("after") or 0)) for i in body["inputs"]]
            except (ValueError, TypeError, KeyError) as exc:
                return hs_error(400, "VALIDATION_ERROR", f"Invalid input JSON: {exc}")
            if len(inputs) > 1000:
                return hs_error(400, "VALIDATION_ERROR", "Batch input is limited to 1000 inputs")
            return json_response(*self._associations(obj, inputs))

        @router.get("/crm/v3/owners")
        @router.get("/crm/v3/owners/")
        def owners(request: Request) -> Response:
            if (failure := self._check(request)) is not None:
                return failure
            try:
                limit = min(int(request.query_params.get("limit", 100)), 500)
                offset = int(request.query_params.get("after") or 0)
            except ValueError:
                return hs_error(400, "VALIDATION_ERROR", "invalid limit / after")
            chunk = self.owners[offset : offset + limit]
            out: dict[str, Any] = {"results": chunk}
            if offset + limit < len(self.owners):
                out["paging"] = {"next": {"after": str(offset + limit), "link": "?after="}}
            return json_response(out)

        @router.get("/crm/v3/pipelines/deals/{pipeline_id}")
        def pipeline(pipeline_id: str, request: Request) -> Response:
            if (failure := self._check(request)) is not None:
                return failure
            if pipeline_id != self.pipeline["id"]:
                return hs_error(404, "OBJECT_NOT_FOUND", f"Pipeline {pipeline_id} not found")
            return json_response(self.pipeline)

        return router

    @staticmethod
    def _to_entries(obj: str, contact_ids: list[str]) -> list[dict[str, Any]]:
        """v4 ``to`` entries (to contacts: HubSpot-defined, unlabelled; the type id of the pair)."""
        kind = {"category": "HUBSPOT_DEFINED", "typeId": TO_CONTACT_TYPE[obj], "label": None}
        return [{"toObjectId": int(cid), "associationTypes": [dict(kind)]} for cid in contact_ids]

    def _contacts_of(self, obj: str) -> dict[str, list[str]]:
        return self.deal_contacts if obj == "deals" else self.engagement_contacts

    def _associations(self, obj: str, inputs: list[tuple[str, int]]) -> tuple[dict[str, Any], int]:
        started = hs_time(datetime.now(UTC))
        visible = {e.record_id for e in self.entities[obj] if e.at(self.world.now)}
        known = self._contacts_of(obj)
        results, errors = [], []
        for deal_id, offset in inputs:
            contacts = known.get(deal_id, []) if deal_id in visible else []
            if not contacts:
                errors.append(deal_id)
                continue
            size = self.association_page
            result: dict[str, Any] = {
                "from": {"id": deal_id},
                "to": self._to_entries(obj, contacts[offset : offset + size]),
            }
            if offset + size < len(contacts):
                result["paging"] = {"next": {"after": str(offset + size), "link": None}}
            results.append(result)
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": hs_time(datetime.now(UTC)),
        }
        if not errors:
            return body, 200
        body["numErrors"] = len(errors)
        body["errors"] = [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                "message": f"No {obj} is associated with contacts for {deal_id}.",
                "context": {"fromObjectId": [deal_id]},
            }
            for deal_id in errors
        ]
        return body, 207

    def _search(self, obj: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        groups = body.get("filterGroups") or []
        now = self.world.now
        rows = []
        for entity in self.entities[obj]:
            record = entity.at(now)
            if record is None:
                continue
            props = dict(record["properties"])
            props.setdefault(CURSOR[obj], record["updatedAt"])  # drifted: the portal knows it
            if not groups or any(
                all(_match(props.get(f["propertyName"]), f) for f in g.get("filters") or [])
                for g in groups
            ):
                rows.append((props, record))
        for sort in (body.get("sorts") or [])[:1]:
            name = sort["propertyName"] if isinstance(sort, dict) else str(sort)
            descending = isinstance(sort, dict) and sort.get("direction") == "DESCENDING"
            rows.sort(key=lambda p, n=name: (_ms(p[0].get(n)) or 0, p[1]["id"]), reverse=descending)
        return [record for _props, record in rows]


def _match(value: Any, rule: dict[str, Any]) -> bool:
    op, expected = rule.get("operator"), rule.get("value")
    if op == "EQ":
        return str(value) == str(expected)
    if op == "NEQ":
        return str(value) != str(expected)
    left, right = _ms(value), _ms(expected)
    if left is None or right is None:
        raise ValueError(f"filter {rule!r}: not a date or number")
    return {"GT": left > right, "GTE": left >= right, "LT": left < right, "LTE": left <= right}[op]

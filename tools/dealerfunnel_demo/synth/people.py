"""People the synthetic group's systems share: one person, several records, as in a real group.

A customer fills in a Meta or Google Ads lead form and the dealer then works the lead in its
CRM (Salesforce or HubSpot) or in the system behind its export files; a guest registers for a
dealer event on Eventbrite and later becomes a CRM lead. Each system records the person on its
own, so the warehouse sees two records (same phone, same e-mail when given, same dealer) that
identity resolution (DESIGN.md section 4) must join into one lead.

:func:`shared_people` is a pure function of (seed, dealer, window): the API sandbox
(:mod:`dealerfunnel_demo.sandbox`) serves the lead-form / attendee side and the CRM side from
it, the synthetic dealer export (:mod:`dealerfunnel_demo.synth.generator`) gives the
``dealer_export`` people to some of its leads of the same channel, so ``make demo`` shows
cross-source matching. Phones are 11-digit mainland mobile numbers (each system styles them
its own way).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

ORIGINS = {  # origin -> its channel code (seeds/channels.csv)
    "meta": "meta_lead_ads",
    "eventbrite": "event_signup",
    "google_ads": "google_ads",
}
WORKED_IN = ("salesforce", "hubspot", "dealer_export")
PER_DEALER = {"meta": 60, "eventbrite": 21, "google_ads": 45}  # per dealer and origin
EVENTS = 3  # dealer events on Eventbrite, at 30%, 60% and 90% of the window


def event_start(start: date, weeks: int, k: int) -> datetime:
    """When the dealer's event ``k`` (0..) starts (UTC, whole seconds)."""
    first = datetime(start.year, start.month, start.day, tzinfo=UTC)
    when = first + timedelta(weeks=weeks) * (0.3 + 0.3 * (k % EVENTS)) + timedelta(hours=2)
    return when.replace(microsecond=0)


@dataclass(frozen=True)
class SharedPerson:
    dealer_code: str
    key: int  # 1.. within the dealer and origin (an attendee's event: (key - 1) % EVENTS)
    origin: str  # "meta" | "eventbrite" | "google_ads": where the person first appeared
    origin_at: datetime  # UTC: lead form submitted / event registration
    worked_in: str  # "salesforce" | "hubspot" | "dealer_export"
    worked_at: datetime  # UTC: the CRM record's creation (dealer export: the earliest allowed)
    name: str
    phone: str  # 11 digits
    email: str  # "" when the person gave none

    @property
    def channel(self) -> str:
        return ORIGINS[self.origin]


def _rng(seed: int, *parts: object) -> random.Random:
    key = ":".join(str(p) for p in (seed, "shared-people", *parts))
    return random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))  # noqa: S311


def draw_person(rng: random.Random, email_tag: str | None = None) -> tuple[str, str, str]:
    """(name, 11-digit mobile, e-mail or "") of a new person; the e-mail's local part ends in
    ``email_tag`` (default: a number below 100)."""
    from dealerfunnel_demo.synth.generator import (
        EMAIL_DOMAINS,
        GIVEN_NAMES,
        PHONE_PREFIXES,
        SURNAMES,
    )

    surname, surname_py = rng.choice(SURNAMES)
    given, given_py = rng.choice(GIVEN_NAMES)
    phone = rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"
    email = ""
    if rng.random() < 0.5:
        tag = email_tag if email_tag is not None else str(rng.randrange(100))
        email = f"{given_py}.{surname_py}{tag}@{rng.choice(EMAIL_DOMAINS)}"
    return surname + given, phone, email


def shared_people(seed: int, dealer_code: str, start: date, weeks: int) -> list[SharedPerson]:
    """The people dealer ``dealer_code`` shares between systems, by origin then key."""
    first = datetime(start.year, start.month, start.day, tzinfo=UTC)
    span = int((timedelta(weeks=weeks) - timedelta(days=10)).total_seconds())
    out = []
    for origin, count in PER_DEALER.items():
        rng = _rng(seed, dealer_code, origin)
        for key in range(1, count + 1):
            name, phone, email = draw_person(rng, f".s{key}")
            if origin == "eventbrite":  # registered before the event, a CRM lead after it
                event_at = event_start(start, weeks, (key - 1) % EVENTS)
                origin_at = event_at - timedelta(seconds=rng.randrange(3600, 14 * 86400))
                origin_at = max(origin_at, first)
                worked_at = event_at + timedelta(minutes=rng.randrange(6 * 60, 3 * 24 * 60))
            else:
                day = rng.randrange(max(1, span // 86400))
                origin_at = first + timedelta(days=day, seconds=rng.randrange(3600, 13 * 3600))
                worked_at = origin_at + timedelta(minutes=rng.randrange(30, 5 * 24 * 60))
            out.append(
                SharedPerson(
                    dealer_code=dealer_code,
                    key=key,
                    origin=origin,
                    origin_at=origin_at,
                    worked_in=WORKED_IN[(key - 1) % len(WORKED_IN)],
                    worked_at=worked_at,
                    name=name,
                    phone=phone,
                    email=email,
                )
            )
    return out

"""The synthetic world every sandbox API draws from: dealers, accounts, people, a clock.

Dealers come from ``config/dealers.yml`` and their API accounts from ``config/sources.yml``
(the same ids the connectors are configured with). Campaign names, models and people follow
:mod:`dealerfunnel_demo.synth.generator`; some people are shared between APIs and the dealer
export files (:meth:`World.shared`, from :mod:`dealerfunnel_demo.synth.people`). Everything is
derived from ``seed`` with one :class:`random.Random` per (API, dealer), so adding an API or a
dealer changes no other data.

The world has a clock, ``now``: records created after it are not served yet, and metrics of
the last ``settling_days`` days are still provisional (they grow until they settle). Tests
move ``now`` forward to create new records for incremental runs.
"""

from __future__ import annotations

import hashlib
import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dealerfunnel.settings import load_dealer_registry, load_yaml
from dealerfunnel_demo.synth.generator import (
    CAMPAIGNS,
    DEFAULT_SEED,
    MODELS,
)
from dealerfunnel_demo.synth.people import SharedPerson, draw_person, shared_people

__all__ = ["CAMPAIGNS", "MODELS", "DataSpec", "Person", "SharedPerson", "World"]


@dataclass(frozen=True)
class DataSpec:
    seed: int = DEFAULT_SEED
    start: date = date(2026, 5, 4)
    weeks: int = 26
    leads_per_week: float = 10.0  # per dealer and lead-form API
    drift: bool = True  # a new field on some records, a required field missing on a few
    new_field_share: float = 0.04
    missing_field_share: float = 0.01
    settling_days: int = 2
    # ad-account currency per "<api>:<dealer>" (default CNY): SH002's Google Ads account is
    # billed in US dollars, as cross-border accounts often are
    currencies: dict[str, str] = field(default_factory=lambda: {"google_ads:SH002": "USD"})
    credentials: dict[str, str] = field(
        default_factory=lambda: {
            "meta_access_token": "sandbox-meta-access-token",
            "google_developer_token": "sandbox-google-developer-token",
            "google_client_id": "sandbox-client-id.apps.googleusercontent.com",
            "google_client_secret": "sandbox-google-client-secret",
            "google_refresh_token": "sandbox-google-refresh-token",
            "google_login_customer_id": "9990000001",
        }
    )


@dataclass(frozen=True)
class Person:
    name: str
    phone: str
    email: str


@dataclass(frozen=True)
class DealerInfo:
    code: str
    index: int
    brand: str
    timezone: ZoneInfo


class World:
    def __init__(
        self,
        spec: DataSpec | None = None,
        sources: dict[str, Any] | None = None,
        now: datetime | None = None,
    ) -> None:
        self.spec = spec or DataSpec()
        self.sources = sources if sources is not None else load_yaml("sources.yml")
        registry, defaults = load_dealer_registry()
        codes = sorted(
            {code for section in self.sources.values() for code in (section.get("dealers") or {})}
        )
        self.dealers = {}
        for index, code in enumerate(codes):
            dealer = registry.get(code, defaults)
            self.dealers[code] = DealerInfo(code, index, dealer.brand, ZoneInfo(dealer.timezone))
        self.start = datetime(
            self.spec.start.year, self.spec.start.month, self.spec.start.day, tzinfo=UTC
        )
        self.end = self.start + timedelta(weeks=self.spec.weeks)
        self._now = now or self.end
        self._lock = threading.Lock()

    @property
    def now(self) -> datetime:
        return self._now

    def set_now(self, now: datetime) -> None:
        with self._lock:
            self._now = now

    def advance(self, **delta: float) -> datetime:
        with self._lock:
            self._now = self._now + timedelta(**delta)
            return self._now

    def rng(self, *parts: object) -> random.Random:
        """A generator private to ``parts`` (e.g. ``("meta", "SH001")``)."""
        key = ":".join(str(p) for p in (self.spec.seed, *parts))
        seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
        return random.Random(seed)  # noqa: S311 - synthetic data

    def accounts(self, source: str) -> dict[str, dict[str, Any]]:
        return dict((self.sources.get(source) or {}).get("dealers") or {})

    def shared(self, api: str, code: str) -> list[SharedPerson]:
        """The people dealer ``code`` shares with other systems, as ``api`` records them: the
        lead-form / registration side for ``meta``, ``google_ads`` and ``eventbrite``, the CRM
        side for ``salesforce`` and ``hubspot`` (:mod:`dealerfunnel_demo.synth.people`)."""
        people = shared_people(self.spec.seed, code, self.spec.start, self.spec.weeks)
        return [p for p in people if api in (p.origin, p.worked_in)]

    def currency(self, api: str, code: str) -> str:
        """The ISO 4217 currency of dealer ``code``'s account on ``api``."""
        return self.spec.currencies.get(f"{api}:{code}", "CNY")

    def models(self, code: str) -> tuple[str, ...]:
        brand = self.dealers[code].brand
        return MODELS.get(brand) or tuple(m for ms in MODELS.values() for m in ms)

    def creation_times(self, rng: random.Random, n: int) -> list[datetime]:
        """``n`` sorted instants in the window, whole seconds, more in the day than at night."""
        span = int((self.end - self.start).total_seconds())
        times = []
        for _ in range(n):
            offset = rng.randrange(span)
            if rng.random() < 0.6:  # pull night-time instants into the (Beijing) day
                day = offset - offset % 86400
                offset = day + rng.randrange(1 * 3600, 13 * 3600)  # 09:00-21:00 +08:00
            times.append(self.start + timedelta(seconds=min(offset, span - 1)))
        return sorted(times)

    def lead_count(self, rng: random.Random) -> int:
        mean = self.spec.leads_per_week * self.spec.weeks
        return max(1, round(rng.gauss(mean, mean * 0.1)))

    def person(self, rng: random.Random) -> Person:
        return Person(*draw_person(rng))

    def drift(self, rng: random.Random) -> str | None:
        """``"new_field"``, ``"missing_field"`` or None for one record."""
        if not self.spec.drift:
            return None
        draw = rng.random()
        if draw < self.spec.missing_field_share:
            return "missing_field"
        if draw < self.spec.missing_field_share + self.spec.new_field_share:
            return "new_field"
        return None

    def days(self) -> list[date]:
        first = self.start.date()
        return [first + timedelta(days=i) for i in range((self.end - self.start).days)]

    def settled_share(self, day: date) -> float:
        """1.0 once ``day`` has settled, less for the last days before ``now``; 0 if future."""
        today = self.now.date()
        if day > today:
            return 0.0
        age = (today - day).days
        if age >= self.spec.settling_days:
            return 1.0
        return 0.6 + 0.4 * age / self.spec.settling_days

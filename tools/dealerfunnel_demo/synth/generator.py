"""A seeded synthetic dealer group, written as dealer CRM export files (DESIGN.md section 3).

:func:`generate` writes
``<landing_dir>/<dealer_code>/{leads,stage_events,followups,activities}_YYYY-MM.csv``
for the registered dealers of ``config/dealers.yml`` plus the unregistered folder ``NB001``,
and returns a manifest (see :func:`generate`) so tests can check that nothing is lost.

What the data looks like:

- **Leads** are spread unevenly over the dealers and created over ``weeks`` weeks from
  ``start`` (a Monday) in dealer local time, with more on weekends and in office / evening
  hours; walk-ins and event sign-ups only during opening hours. About 2% of leads have no
  channel, about 2% are a repeat enquiry by a person already known to the dealer (same phone,
  another channel), a few carry a ``+08:00`` offset, and one column (``utm_source``) is not in
  the contract. Some ``meta_lead_ads`` / ``event_signup`` leads are people the API sandbox
  also serves as a Meta lead or an Eventbrite guest (:mod:`dealerfunnel_demo.synth.people`):
  the export lead comes after that record, with the same phone and e-mail.
- **Funnel.** Every lead has a ``potential`` event at ``created_at``. About 60% reach
  ``interested`` (at the first contact, after assignment), then about 55% ``needs_defined``,
  50% ``decision`` and 40% ``won``, hours to weeks apart; many of the others end ``lost``.
  Stage values mix the vocabularies of ``dbt_project/seeds/stage_mapping.csv`` (canonical codes,
  Chinese names, English words in varying case). About 6% of leads skip a stage, about 1% of
  events are exact duplicates, and stage event files are not sorted by time. Nothing happens
  after the end of the window (``start + weeks``): the export is a snapshot taken then.
- **Follow-ups**: the first contact usually within a day of assignment, a grade-dependent
  cadence for interested leads, after-sale calls for won leads. Every follow-up has an
  ``outcome`` (``reached``; about a quarter of first contacts come after an unanswered call,
  ``no_answer`` / ``busy`` / ``voicemail``, an *attempt*), a ``purpose`` (``sales`` or
  ``after_sales``) and usually a ``recorded_at`` (mostly the same day); the contact that graded
  the lead carries its ``grade``. A lead is graded when a consultant has reached it; a graded lead
  still open at the end of the window is followed up within its grade's cadence
  (``grade_<g>_max_days_between_contacts`` of ``funnel_settings.csv``) up to the end, except:
- **Planted overdue lead.** ``SH001`` has one open grade-D lead, ``PLANTED_OVERDUE_LEAD`` of the
  manifest, last contacted ``PLANTED_OVERDUE_DAYS`` days before the end of the window: more than
  the D cadence (90 days), so the overdue follow-up rule fires for it and for nothing else.
- **Activities** (``activities_YYYY-MM.csv``): appointments, showroom visits and test drives of
  interested leads, quotes, ``order_signed`` at the win, ``delivered`` a few days later (before the
  first after-sales call; none when it would fall after the window), and ``first_service`` about
  90 days after delivery, with an after-sales first-service reminder call before it.
- **Alert scenario.** The share of leads reaching ``interested`` is drawn *per cohort*
  (dealer x week of creation x channel), not per lead, so every weekly rate is close to its
  target: 60% everywhere, except for dealer ``GZ001``, whose leads created in the LAST 3
  WEEKS of the window reach ``interested`` at 20%. A rule "potential -> interested below 35%
  for 2 consecutive weeks" therefore fires for GZ001 only (every other dealer-week, at any
  size, is at 50% or more).
- **Surveys and targets** (``surveys_YYYY-MM.csv``, ``targets_YYYY.csv``; drawn by their own
  seeded :class:`random.Random`, so the files above are the same with or without them): about
  60% of won leads answer a purchase survey within a week of the sale and about 30% an
  after-sales survey a month or two later, on a 0-10 scale (``SH002`` asks on a 1-5 scale and
  says so in ``scale_max``); every registered dealer has monthly targets for ``leads``,
  ``interested``, ``won`` and ``amount`` and each consultant for ``leads`` and ``won``, near
  what the dealer achieves (so attainment lands around 80-120%). Won stage events carry an
  ``amount`` (the model's list price less a discount that depends only on the lead id) in
  ``CNY``.
- **Deliberately bad input**, all counted in the manifest and all *extra* rows (they do not
  change the funnel above): 10 rows with unparseable timestamps (4 leads, 3 stage events,
  3 follow-ups), 10 stage events with the unknown stage ``unknown_stage_x``, and
  ``CD001/followups_legacy_export.csv`` without an ``occurred_at`` column (rejected whole);
  2 survey answers above their scale (``score_out_of_range``) and 1 target of the unknown metric
  ``test_drives`` (``unknown_metric``).
  All files of ``BJ001`` start with a UTF-8 BOM.

Output is byte-identical for the same arguments: one :class:`random.Random` drives the
leads, stages and the follow-ups' times, a second one seeded from the same seed the additions
(outcomes, attempts, recorded_at, activities, cadence follow-ups of open leads), iteration
orders are fixed, lines end in ``\\n``, and files are replaced atomically (written to a hidden
temporary name first, which the loader ignores).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from itertools import accumulate
from pathlib import Path
from zoneinfo import ZoneInfo

from dealerfunnel.settings import FunnelSettings, load_dealer_registry, load_funnel_settings
from dealerfunnel_demo.synth.people import shared_people

DEFAULT_SEED = 20261123
UNREGISTERED_DEALER = "NB001"
UNREGISTERED_SHARE = 0.015
ALERT_DEALER = "GZ001"
ALERT_WEEKS = 3
ALERT_INTERESTED_RATE = 0.20
NORMAL_INTERESTED_RATE = 0.60
BOM_DEALER = "BJ001"
LEGACY_DEALER = "CD001"
LEGACY_FILE = "followups_legacy_export.csv"
LEGACY_ROWS = 5
BAD_TIMESTAMP_ROWS = {"leads": 4, "stage_events": 3, "followups": 3}
UNKNOWN_STAGE_ROWS = 10
UNKNOWN_STAGE = "unknown_stage_x"

LEAD_COLUMNS = (
    "lead_id",
    "created_at",
    "assigned_at",
    "channel",
    "campaign",
    "consultant",
    "grade",
    "customer_name",
    "phone",
    "email",
    "model_of_interest",
    "utm_source",
)
STAGE_COLUMNS = (
    "lead_id",
    "stage",
    "occurred_at",
    "consultant",
    "amount",
    "currency",
    "lost_reason",
)
# The free-text lost reasons of lost events (seed lost_reason_mapping maps each; "" = none given).
LOST_REASON_TEXTS = (
    "价格太高",
    "bought a competitor",
    "他店购买",
    "贷款未通过",
    "置换价格低",
    "无现车",
    "联系不上",
    "暂不购车",
    "Price too high",
    "",
)
FOLLOWUP_COLUMNS = (
    "lead_id",
    "occurred_at",
    "method",
    "consultant",
    "note",
    "outcome",
    "grade",
    "purpose",
    "recorded_at",
)
ACTIVITY_COLUMNS = ("lead_id", "activity", "occurred_at", "consultant", "outcome", "detail")
COLUMNS = {
    "leads": LEAD_COLUMNS,
    "stage_events": STAGE_COLUMNS,
    "followups": FOLLOWUP_COLUMNS,
    "activities": ACTIVITY_COLUMNS,
}
PLANTED_DEALER = "SH001"
PLANTED_OVERDUE_DAYS = 100
ATTEMPT_OUTCOMES = ("no_answer", "busy", "voicemail")
SURVEY_COLUMNS = ("lead_id", "occurred_at", "score", "kind", "scale_max", "comment")
TARGET_COLUMNS = ("month", "metric", "target", "consultant")
COLUMNS |= {"surveys": SURVEY_COLUMNS, "targets": TARGET_COLUMNS}
SURVEY_SCALES = {"SH002": 5}  # dealers that do not survey on the default 0-10 scale
SURVEY_COMMENTS = ("", "", "", "服务很好", "交车有点慢", "very helpful consultant", "价格透明")
SURVEY_BAD_ROWS = 2
TARGET_BAD_ROWS = 1
MODEL_PRICES = {  # CNY list price by model; a won lead without a model pays the default
    "Aurora A3": 159_900, "Aurora A5": 219_900, "Aurora X5 SUV": 289_900,
    "Aurora EV7": 259_900, "Borealis B3": 169_900, "Borealis B7": 329_900,
    "Borealis Z7 EV": 279_900, "Borealis Mountain": 359_900,
}  # fmt: skip
DEFAULT_PRICE = 199_900

FUNNEL = ("potential", "interested", "needs_defined", "decision", "won")
VOCABULARIES = {
    "canonical": {s: s for s in (*FUNNEL, "lost")},
    "chinese": {
        "potential": "潜在客户",
        "interested": "意向客户",
        "needs_defined": "需求明确客户",
        "decision": "购买决策客户",
        "won": "成交客户",
        "lost": "战败",
    },
    "english": {
        "potential": "new",
        "interested": "contacted",
        "needs_defined": "qualified",
        "decision": "negotiation",
        "won": "closed won",
        "lost": "closed lost",
    },
}
DEALER_VOCABULARY = {
    "SH001": "chinese",
    "SH002": "english",
    "BJ001": "canonical",
    "GZ001": "chinese",
    "CD001": "english",
    "UR001": "mixed",
    "NB001": "chinese",
}
DEALER_WEIGHTS = (0.22, 0.18, 0.20, 0.16, 0.14, 0.10)

CHANNELS = ("meta_lead_ads", "google_ads", "walk_in", "event_signup", "referral", "")
CHANNEL_WEIGHTS = (0.28, 0.24, 0.19, 0.11, 0.16, 0.02)
CAMPAIGNS = {
    "meta_lead_ads": ("meta_spring_launch", "meta_ev_leadform", "meta_retargeting"),
    "google_ads": ("google_search_brand", "google_search_generic", "google_pmax"),
    "walk_in": ("",),
    "event_signup": ("autoshow_2026", "test_drive_day", "community_roadshow"),
    "referral": ("owner_referral",),
    "": ("",),
}
UTM_SOURCES = {
    "meta_lead_ads": ("facebook", "instagram"),
    "google_ads": ("google",),
    "event_signup": ("eventbrite", ""),
}
MODELS = {
    "Aurora": ("Aurora A3", "Aurora A5", "Aurora X5 SUV", "Aurora EV7"),
    "Borealis": ("Borealis B3", "Borealis B7", "Borealis Z7 EV", "Borealis Mountain"),
}
WEEKDAY_WEIGHTS = (1.0, 0.9, 0.9, 0.95, 1.1, 1.55, 1.45)  # Monday .. Sunday
HOUR_WEIGHTS = (
    0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.6, 1.2, 2.0, 2.6, 2.6,
    1.8, 1.7, 2.3, 2.5, 2.4, 2.0, 1.8, 2.0, 2.2, 1.6, 0.9, 0.5,
)  # fmt: skip
OPENING_HOUR_WEIGHTS = tuple(
    w if 9 <= h < 19 else 0.0 for h, w in enumerate(HOUR_WEIGHTS)
)  # walk-ins and event sign-ups
SURNAMES = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"),
    ("杨", "yang"), ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"),
    ("徐", "xu"), ("孙", "sun"), ("马", "ma"), ("朱", "zhu"), ("胡", "hu"),
    ("郭", "guo"), ("何", "he"), ("林", "lin"), ("罗", "luo"), ("高", "gao"),
)  # fmt: skip
GIVEN_NAMES = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"),
    ("磊", "lei"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"), ("杰", "jie"),
    ("俊杰", "junjie"), ("子涵", "zihan"), ("浩然", "haoran"), ("欣怡", "xinyi"),
    ("宇轩", "yuxuan"), ("建国", "jianguo"), ("丽华", "lihua"), ("志强", "zhiqiang"),
    ("思远", "siyuan"), ("雨桐", "yutong"),
)  # fmt: skip
PHONE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
    "153", "155", "156", "158", "159", "166", "177", "180", "181", "182", "183", "185",
    "186", "187", "188", "189", "199",
)  # fmt: skip
EMAIL_DOMAINS = ("qq.com", "163.com", "126.com", "sina.com", "gmail.com", "outlook.com")
GRADES = ("A", "B", "C", "D")
GRADE_WEIGHTS = {  # by the furthest stage reached
    0: (0.05, 0.20, 0.40, 0.35),
    1: (0.10, 0.40, 0.35, 0.15),
    2: (0.25, 0.45, 0.25, 0.05),
    3: (0.50, 0.35, 0.15, 0.00),
    4: (0.50, 0.35, 0.15, 0.00),
}
CADENCE_DAYS = {"A": (2, 4), "B": (3, 7), "C": (10, 25), "D": (25, 60)}
NOTES = {
    "phone": (
        "首次电话沟通，客户关注价格",
        "电话回访，客户说周末再看",
        "called, no answer",
        'asked about "trade-in" value, will send quote',
        "确认试驾时间",
    ),
    "wechat": (
        "微信发送报价单",
        "sent brochure via WeChat",
        "客户反馈:\n1. 价格偏高\n2. 想等优惠",
        "推送新车型资料",
    ),
    "visit": ("到店试驾", "到店看车，带家人一起", "showroom visit, test drive done"),
    "sms": ("短信提醒试驾活动", "SMS: promotion reminder", "发送到店地址"),
}
AFTER_SALE_NOTES = ("交车后回访，满意", "after-sale call, all good", "提醒首保")
BAD_TIMESTAMPS = (
    "2026-13-45",
    "not a date",
    "2026/05/32",
    "31.05.2026",
    "yesterday",
    "2026-05-04 25:61",
    "N/A",
    "2026-5-4T9",
    "0000-00-00 00:00:00",
    "2026-02-30",
)


@dataclass
class Followup:
    when: datetime  # dealer local time, naive
    method: str
    consultant: str
    note: str
    purpose: str = "sales"
    outcome: str = "reached"
    grade: str = ""
    recorded: datetime | None = None
    extra: bool = False  # added by the second random stream (see the module docstring)


@dataclass
class Lead:
    dealer_code: str
    created: datetime  # dealer local time, naive, whole seconds
    channel: str
    lead_id: str = ""
    campaign: str = ""
    consultant: str = ""
    grade: str = ""
    customer_name: str = ""
    phone: str = ""
    email: str = ""
    model: str = ""
    utm_source: str = ""
    assigned: datetime | None = None
    offset_created: bool = False
    reaches_interested: bool = False
    events: list[tuple[str, datetime]] = field(default_factory=list)
    followups: list[Followup] = field(default_factory=list)
    activities: list[tuple[str, datetime, str]] = field(default_factory=list)
    is_planted_overdue: bool = False


@dataclass(frozen=True)
class DealerSpec:
    dealer_code: str
    brand: str
    timezone: str
    registered: bool
    consultants: tuple[str, ...]
    vocabulary: str


@dataclass
class OutFile:
    dealer_code: str
    name: str
    obj: str
    rows: list[list[str]] = field(default_factory=list)
    bad_rows: dict[str, int] = field(default_factory=dict)
    columns: Sequence[str] = ()


# -- small helpers --------------------------------------------------------------------------


def _ts(value: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS`` (times here are naive and in whole seconds)."""
    return value.isoformat(" ", "seconds")


def _after(value: datetime, seconds: float) -> datetime:
    return value + timedelta(seconds=round(seconds))


def _month(value: datetime) -> str:
    return value.isoformat()[:7]


def _allocate(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainder, ties by position)."""
    scale = sum(weights)
    exact = [total * w / scale for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _person(rng: random.Random) -> tuple[str, str]:
    """A Chinese name and its pinyin (for e-mail addresses)."""
    surname, surname_py = rng.choice(SURNAMES)
    given, given_py = rng.choice(GIVEN_NAMES)
    return surname + given, f"{given_py}.{surname_py}"


def _phone(rng: random.Random) -> str:
    digits = rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"
    style = rng.random()
    if style < 0.10:
        return f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}"
    if style < 0.15:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    return digits


def _email(rng: random.Random, pinyin: str, serial: int) -> str:
    """An address unique to one person within the dealer (``serial``: the lead number).

    Two different people never share an address, so identity matching on e-mail only merges
    the deliberate repeat enquiries.
    """
    domain = rng.choice(EMAIL_DOMAINS)
    if domain == "qq.com":
        return f"{rng.randrange(10**3, 10**4)}{serial:06d}@qq.com"
    return f"{pinyin}{rng.randrange(100) if rng.random() < 0.6 else ''}.{serial}@{domain}"


# -- dealers and leads ----------------------------------------------------------------------


def _dealer_specs(rng: random.Random) -> list[DealerSpec]:
    registry, defaults = load_dealer_registry()
    specs = []
    codes = [*registry, UNREGISTERED_DEALER]
    for code in codes:
        dealer = registry.get(code, defaults)
        n_consultants = rng.randint(3, 6)
        chinese = rng.random() < 0.5
        names = []
        for _ in range(n_consultants * 3):  # draw until enough distinct names
            name, pinyin = _person(rng)
            given, surname = pinyin.split(".")
            label = name if chinese else f"{surname.title()} {given.title()}"
            if label not in names:
                names.append(label)
            if len(names) == n_consultants:
                break
        specs.append(
            DealerSpec(
                dealer_code=code,
                brand=dealer.brand,
                timezone=dealer.timezone,
                registered=code in registry,
                consultants=tuple(names),
                vocabulary=DEALER_VOCABULARY.get(code, "mixed"),
            )
        )
    return specs


def _lead_counts(specs: Sequence[DealerSpec], n_leads: int) -> list[int]:
    unregistered = round(n_leads * UNREGISTERED_SHARE)
    registered = [s for s in specs if s.registered]
    weights = [DEALER_WEIGHTS[i % len(DEALER_WEIGHTS)] for i in range(len(registered))]
    shares = iter(_allocate(n_leads - unregistered, weights))
    return [next(shares) if s.registered else unregistered for s in specs]


def _created_times(
    rng: random.Random, start: date, weeks: int, channels: list[str]
) -> list[datetime]:
    days = weeks * 7
    day_cum = list(accumulate(WEEKDAY_WEIGHTS[(start.weekday() + d) % 7] for d in range(days)))
    all_hours = list(accumulate(HOUR_WEIGHTS))
    opening_hours = list(accumulate(OPENING_HOUR_WEIGHTS))
    day_offsets = rng.choices(range(days), cum_weights=day_cum, k=len(channels))
    origin = datetime(start.year, start.month, start.day)
    times = []
    for day, channel in zip(day_offsets, channels, strict=True):
        cum = opening_hours if channel in ("walk_in", "event_signup") else all_hours
        hour = rng.choices(range(24), cum_weights=cum)[0]
        times.append(origin + timedelta(days=day, hours=hour, seconds=rng.randrange(3600)))
    return times


def _make_leads(
    rng: random.Random, spec: DealerSpec, n: int, start: date, weeks: int
) -> list[Lead]:
    channels = rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS, k=n)
    times = _created_times(rng, start, weeks, channels)
    leads = [Lead(spec.dealer_code, t, c) for t, c in zip(times, channels, strict=True)]
    leads.sort(key=lambda lead: lead.created)
    models = MODELS.get(spec.brand) or tuple(m for ms in MODELS.values() for m in ms)
    known: list[Lead] = []
    for number, lead in enumerate(leads, start=1):
        lead.lead_id = f"{spec.dealer_code}-{number:06d}"
        lead.campaign = rng.choice(CAMPAIGNS[lead.channel])
        sources = UTM_SOURCES.get(lead.channel, ("",))
        lead.utm_source = rng.choice(sources)
        lead.model = rng.choice(models) if rng.random() < 0.95 else ""
        lead.offset_created = rng.random() < 0.005
        if known and rng.random() < 0.02:  # the same person enquiring again
            earlier = rng.choice(known)
            lead.customer_name, lead.phone = earlier.customer_name, _restyle(rng, earlier.phone)
            lead.email = earlier.email if rng.random() < 0.5 else ""
            continue
        name, pinyin = _person(rng)
        if rng.random() < 0.08:
            name = name[0] + rng.choice(("先生", "女士"))
        lead.customer_name = name
        lead.phone = _phone(rng)
        lead.email = _email(rng, pinyin, number) if rng.random() < 0.35 else ""
        known.append(lead)
    return leads


def _give_shared_people(
    spec: DealerSpec, leads: Sequence[Lead], seed: int, start: date, weeks: int
) -> None:
    """The dealer's ``dealer_export`` shared people become the first leads of their channel
    created after the person's ``worked_at`` (no extra leads, no draw from the main rng)."""
    tz = ZoneInfo(spec.timezone)
    taken: set[str] = set()
    for person in shared_people(seed, spec.dealer_code, start, weeks):
        if person.worked_in != "dealer_export":
            continue
        after = person.worked_at.astimezone(tz).replace(tzinfo=None)
        for lead in leads:  # sorted by creation
            if (
                lead.channel == person.channel
                and lead.created >= after
                and lead.lead_id not in taken
            ):
                taken.add(lead.lead_id)
                lead.customer_name, lead.phone = person.name, person.phone
                lead.email = person.email
                break


def _restyle(rng: random.Random, phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit())[-11:]
    if rng.random() < 0.5:
        return digits
    return f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}"


# -- the funnel -----------------------------------------------------------------------------


def _choose_interested(
    rng: random.Random, spec: DealerSpec, leads: Sequence[Lead], start: date, weeks: int
) -> None:
    """Mark round(rate x n) leads of every (week, channel) cohort as reaching ``interested``."""
    cohorts: dict[tuple[int, str], list[Lead]] = {}
    for lead in leads:
        week = (lead.created.date() - start).days // 7
        cohorts.setdefault((week, lead.channel), []).append(lead)
    for (week, _channel), members in sorted(cohorts.items()):
        alert = spec.dealer_code == ALERT_DEALER and week >= weeks - ALERT_WEEKS
        rate = ALERT_INTERESTED_RATE if alert else NORMAL_INTERESTED_RATE
        chosen = list(members)
        rng.shuffle(chosen)
        for lead in chosen[: int(rate * len(members) + 0.5)]:
            lead.reaches_interested = True


def _next_opening(value: datetime, rng: random.Random) -> datetime:
    """Move a time outside 08:00-21:00 to the next morning's 09:00-10:30."""
    if 8 <= value.hour < 21:
        return value
    day = value.date() if value.hour < 8 else value.date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, 9) + timedelta(seconds=rng.randrange(5400))


def _assignment_delay(rng: random.Random) -> float:
    r = rng.random()
    if r < 0.70:
        return rng.uniform(300, 4 * 3600)
    if r < 0.92:
        return rng.uniform(4 * 3600, 24 * 3600)
    return rng.uniform(24 * 3600, 3 * 86400)


def _contact_delay(rng: random.Random) -> float:
    if rng.random() < 0.8:
        return rng.uniform(600, 20 * 3600)
    return rng.uniform(86400, 4 * 86400)


def _stage_gap(rng: random.Random, low_days: float, high_days: float) -> float:
    return rng.uniform(low_days, high_days) * 86400 * rng.uniform(0.5, 1.0)


def _simulate(rng: random.Random, spec: DealerSpec, lead: Lead, end: datetime) -> None:
    """Fill in assignment, stage events and follow-ups of one lead (nothing after ``end``)."""
    lead.events.append(("potential", lead.created))
    if lead.reaches_interested:
        _simulate_interested(rng, spec, lead, end)
    else:
        _simulate_not_interested(rng, spec, lead, end)
    _maybe_skip_stage(rng, lead)


def _set_grade(rng: random.Random, lead: Lead) -> None:
    """Assigned leads get a grade, better the further they go."""
    if lead.consultant:
        furthest = max(FUNNEL.index(s) for s, _ in lead.events if s != "lost")
        lead.grade = rng.choices(GRADES, weights=GRADE_WEIGHTS[furthest])[0]


def _simulate_not_interested(
    rng: random.Random, spec: DealerSpec, lead: Lead, end: datetime
) -> None:
    if rng.random() < 0.08:
        return  # never assigned
    assigned = _next_opening(_after(lead.created, _assignment_delay(rng)), rng)
    if assigned >= end:
        return
    lead.assigned, lead.consultant = assigned, rng.choice(spec.consultants)
    last = assigned
    if rng.random() < 0.85:
        contact = _next_opening(_after(assigned, _contact_delay(rng)), rng)
        for attempt in range(1 + rng.choice((0, 0, 1, 2))):
            if contact >= end:
                break
            method = rng.choices(("phone", "sms", "wechat"), weights=(6, 2, 2))[0]
            _followup(rng, spec, lead, contact, method, first=attempt == 0)
            last = contact
            contact = _next_opening(_after(contact, rng.uniform(86400, 5 * 86400)), rng)
    if rng.random() < 0.5:
        lost = _next_opening(_after(last, rng.uniform(3, 30) * 86400), rng)
        if lost < end:
            lead.events.append(("lost", lost))
    _set_grade(rng, lead)


def _simulate_interested(rng: random.Random, spec: DealerSpec, lead: Lead, end: datetime) -> None:
    delays = [_assignment_delay(rng), _contact_delay(rng), rng.uniform(0, 1800)]
    room = (end - lead.created).total_seconds() - 1
    if sum(delays) > room:  # late lead: squeeze the chain into the window
        factor = room / sum(delays) * rng.uniform(0.3, 0.95)
        delays = [d * factor for d in delays]
    lead.assigned = _after(lead.created, delays[0])
    lead.consultant = rng.choice(spec.consultants)
    contact = _after(lead.assigned, delays[1])
    _followup(rng, spec, lead, contact, "phone", first=True)
    current = _after(contact, delays[2])
    lead.events.append(("interested", current))
    rates = {"needs_defined": 0.55, "decision": 0.50, "won": 0.40}
    gaps = {"needs_defined": (1, 10), "decision": (2, 14), "won": (3, 21)}
    closed: datetime | None = None
    for stage in ("needs_defined", "decision", "won"):
        if rng.random() >= rates[stage]:
            if rng.random() < 0.6:
                lost = _next_opening(_after(current, rng.uniform(2, 30) * 86400), rng)
                if lost < end:
                    lead.events.append(("lost", lost))
                    closed = lost
            break
        reached = _next_opening(_after(current, _stage_gap(rng, *gaps[stage])), rng)
        if reached >= end:
            break
        lead.events.append((stage, reached))
        current = reached
        if stage == "won":
            closed = reached
    _set_grade(rng, lead)
    _cadence_followups(rng, spec, lead, contact, closed or end, end)
    if lead.events[-1][0] == "won":
        _after_sale_followups(rng, spec, lead, lead.events[-1][1], end)


def _followup(
    rng: random.Random,
    spec: DealerSpec,
    lead: Lead,
    when: datetime,
    method: str,
    *,
    first: bool = False,
    note: str | None = None,
    purpose: str = "sales",
) -> None:
    consultant = lead.consultant
    if not first and rng.random() < 0.05:
        consultant = rng.choice(spec.consultants)  # a colleague covering
    note = note or rng.choice(NOTES[method])
    lead.followups.append(Followup(when, method, consultant, note, purpose))


def _cadence_followups(
    rng: random.Random,
    spec: DealerSpec,
    lead: Lead,
    first: datetime,
    until: datetime,
    end: datetime,
) -> None:
    low, high = CADENCE_DAYS[lead.grade]
    when = first
    for _ in range(12):
        when = _next_opening(_after(when, rng.uniform(low, high) * 86400), rng)
        if when >= min(until, end):
            break
        method = rng.choices(("phone", "wechat", "visit", "sms"), weights=(4, 4, 2, 1))[0]
        _followup(rng, spec, lead, when, method)


def _after_sale_followups(
    rng: random.Random, spec: DealerSpec, lead: Lead, won: datetime, end: datetime
) -> None:
    for days, jitter in ((2, 1), (7, 1), (30, 3), (90, 5)):
        when = _next_opening(_after(won, (days + rng.uniform(-jitter, jitter)) * 86400), rng)
        if when < end and rng.random() < 0.85:
            note = rng.choice(AFTER_SALE_NOTES)
            _followup(rng, spec, lead, when, "phone", note=note, purpose="after_sales")


def _maybe_skip_stage(rng: random.Random, lead: Lead) -> None:
    """About 6% of leads that went past ``interested`` lose an intermediate event."""
    funnel = [i for i, (stage, _) in enumerate(lead.events) if stage != "lost"]
    if len(funnel) < 3 or rng.random() >= 0.06:
        return
    middle = funnel[1:-1]
    drop = rng.sample(middle, k=2 if len(middle) >= 2 and rng.random() < 0.3 else 1)
    lead.events = [e for i, e in enumerate(lead.events) if i not in drop]


# -- the follow-up rules' columns (own random stream) ------------------------------------------


def _plant_overdue_lead(spec: DealerSpec, leads: Sequence[Lead], end: datetime) -> dict | None:
    """Make the open lead whose first contact is the latest one at least
    ``PLANTED_OVERDUE_DAYS`` days before ``end`` a grade-D lead whose later follow-ups were all
    unanswered calls (attempts): its last contact is that old, past the D cadence (90 days).
    Times and counts of its rows stay as simulated (the first random stream is unchanged)."""
    target = end - timedelta(days=PLANTED_OVERDUE_DAYS)
    candidates = [
        lead
        for lead in leads
        if lead.followups
        and not {"won", "lost"} & {stage for stage, _ in lead.events}
        and lead.followups[0].when <= target
        and all(fu.purpose == "sales" for fu in lead.followups)
    ]
    if not candidates:
        return None
    lead = max(candidates, key=lambda candidate: candidate.followups[0].when)
    lead.grade, lead.is_planted_overdue = "D", True
    first, *later = lead.followups
    first.outcome = "reached"
    for fu in later:
        fu.method, fu.note, fu.outcome = "phone", "无人接听", "no_answer"
    return {
        "dealer_code": spec.dealer_code,
        "lead_id": lead.lead_id,
        "grade": "D",
        "last_contact": _ts(first.when),
        "attempts_after": len(later),
        "days_before_end": round((end - first.when).total_seconds() / 86400, 2),
    }


def _cadence_max_days(settings: FunnelSettings, grade: str, dealer_code: str) -> float:
    return settings.number(f"grade_{grade.lower()}_max_days_between_contacts", dealer_code)


def _followup_rules(
    rng: random.Random, spec: DealerSpec, lead: Lead, end: datetime, settings: FunnelSettings
) -> None:
    """Outcomes, attempts, grades, purposes, recorded_at and activities of one lead."""
    sales = [fu for fu in lead.followups if fu.purpose == "sales"]
    if not sales:
        lead.grade = ""  # graded when a consultant has talked to the customer
    elif lead.grade:
        sales[0].grade = lead.grade
    stages = dict(lead.events)
    closed = "won" in stages or "lost" in stages
    if lead.grade and not closed and not lead.is_planted_overdue:
        _keep_cadence(rng, spec, lead, end, settings)
    if sales and lead.assigned and rng.random() < 0.25:
        attempt = sales[0].when - timedelta(seconds=rng.uniform(1800, 4 * 3600))
        if attempt > lead.assigned:
            outcome = rng.choice(ATTEMPT_OUTCOMES)
            consultant = sales[0].consultant
            attempt_row = Followup(attempt, "phone", consultant, "无人接听", outcome=outcome)
            attempt_row.extra = True
            lead.followups.append(attempt_row)
    for fu in lead.followups:
        late = rng.random() < 0.06
        recorded = fu.when + timedelta(seconds=rng.uniform(120, 3 * 3600))
        if late:
            recorded += timedelta(days=1)
        fu.recorded = recorded if recorded < end and rng.random() < 0.9 else None
    lead.followups.sort(key=lambda fu: fu.when)
    _activities(rng, spec, lead, end)


def cadence_times(
    rng: random.Random,
    last: datetime,
    end: datetime,
    longest: float,
    zone: ZoneInfo | None = None,
) -> Iterator[datetime]:
    """The contacts a consultant makes to keep a grade's cadence after the contact at ``last``
    until ``end``: each gap 30-60% of ``longest`` (seconds: the grade's
    grade_<g>_max_days_between_contacts), in the day (08:00-21:00 in ``zone``, naive times: as
    they are; else moved to 09:00-19:59 of that day), until less than 60% of ``longest`` is left
    before ``end``, so no open lead is overdue at ``end``. Shared by the dealer export and the
    API sandbox (Salesforce), so only planted data breaches the follow-up rules."""
    while (end - last).total_seconds() > 0.6 * longest:
        when = last + timedelta(seconds=rng.uniform(0.3, 0.6) * longest)
        local = when.astimezone(zone) if zone is not None else when
        if not 8 <= local.hour < 21:
            local = local.replace(hour=rng.randrange(9, 20))
            when = local.astimezone(when.tzinfo) if zone is not None else local
        if when <= last or when >= end:
            return
        yield when
        last = when


def _keep_cadence(
    rng: random.Random, spec: DealerSpec, lead: Lead, end: datetime, settings: FunnelSettings
) -> None:
    """Follow an open graded lead up within its cadence until ``end``."""
    longest = _cadence_max_days(settings, lead.grade, spec.dealer_code) * 86400
    last = max(fu.when for fu in lead.followups if fu.purpose == "sales")
    for when in cadence_times(rng, last, end, longest):
        method = rng.choices(("phone", "wechat", "visit", "sms"), weights=(4, 4, 2, 1))[0]
        note = rng.choice(NOTES[method])
        lead.followups.append(Followup(when, method, lead.consultant, note, extra=True))


def _activities(rng: random.Random, spec: DealerSpec, lead: Lead, end: datetime) -> None:
    """Funnel activities; ``delivered`` after the win and before the first after-sales call."""
    stages = dict(lead.events)
    interested = stages.get("interested")
    if interested and rng.random() < 0.6:
        appointment = interested + timedelta(hours=rng.uniform(1, 48))
        visit = appointment + timedelta(days=rng.uniform(1, 5))
        if visit < end:
            showed = rng.random() < 0.75
            lead.activities.append(("appointment", appointment, "show" if showed else "no_show"))
            if showed:
                lead.activities.append(("showroom_visit", visit, ""))
                if rng.random() < 0.6:
                    lead.activities.append(("test_drive", visit + timedelta(minutes=40), ""))
    if "decision" in stages:
        lead.activities.append(("quote", stages["decision"], ""))
    won = stages.get("won")
    if won is None:
        return
    lead.activities.append(("order_signed", won, ""))
    after_sales = [fu.when for fu in lead.followups if fu.purpose == "after_sales"]
    if after_sales:
        delivered = won + (min(after_sales) - won) * rng.uniform(0.3, 0.95)
        opening = _next_opening(delivered, rng)
        delivered = opening if opening < min(after_sales) else delivered
    else:
        delivered = _next_opening(won + timedelta(days=rng.uniform(0.5, 3)), rng)
    if delivered >= end:
        return
    lead.activities.append(("delivered", delivered, ""))
    reminder = delivered + timedelta(days=rng.uniform(77, 88))
    if reminder < end and rng.random() < 0.7:
        lead.followups.append(
            Followup(reminder, "phone", lead.consultant, "提醒首保", "after_sales", extra=True)
        )
    service = delivered + timedelta(days=rng.uniform(85, 100))
    if service < end:
        lead.activities.append(("first_service", service, ""))


# -- rows and files -------------------------------------------------------------------------


def _stage_word(rng: random.Random, spec: DealerSpec, stage: str) -> str:
    vocabulary = spec.vocabulary
    if vocabulary == "mixed" or rng.random() < 0.05:
        vocabulary = rng.choice(("canonical", "chinese", "english"))
    word = VOCABULARIES[vocabulary][stage]
    if vocabulary == "english":
        style = rng.random()
        if style < 0.3:
            word = word.title()
        elif style < 0.35:
            word = f" {word} "
    return word


def _created_text(lead: Lead, zone: ZoneInfo) -> str:
    if not lead.offset_created:
        return _ts(lead.created)
    beijing = lead.created.replace(tzinfo=zone).astimezone(timezone(timedelta(hours=8)))
    return _ts(beijing.replace(tzinfo=None)).replace(" ", "T") + "+08:00"


def _lead_row(lead: Lead, zone: ZoneInfo) -> list[str]:
    return [
        lead.lead_id,
        _created_text(lead, zone),
        _ts(lead.assigned) if lead.assigned else "",
        lead.channel,
        lead.campaign,
        lead.consultant,
        lead.grade,
        lead.customer_name,
        lead.phone,
        lead.email,
        lead.model,
        lead.utm_source,
    ]


def _event_time_text(rng: random.Random, value: datetime) -> str:
    text = _ts(value)
    return text.replace(" ", "T") if rng.random() < 0.1 else text


class _Files:
    """Output files of one dealer, by name, created on first use."""

    def __init__(self, dealer_code: str) -> None:
        self.dealer_code = dealer_code
        self.by_name: dict[str, OutFile] = {}

    def get(self, obj: str, month: str) -> OutFile:
        name = f"{obj}_{month}.csv"
        if name not in self.by_name:
            self.by_name[name] = OutFile(self.dealer_code, name, obj, columns=COLUMNS[obj])
        return self.by_name[name]


def _dealer_files(rng: random.Random, spec: DealerSpec, leads: Sequence[Lead]) -> _Files:
    zone = ZoneInfo(spec.timezone)
    files = _Files(spec.dealer_code)
    for lead in leads:
        files.get("leads", _month(lead.created)).rows.append(_lead_row(lead, zone))
        for stage, when in lead.events:
            row = [lead.lead_id, _stage_word(rng, spec, stage), _event_time_text(rng, when)]
            row.append(lead.consultant if stage != "potential" else "")
            row.extend(_won_amount(lead) if stage == "won" else ("", ""))
            row.append(_lost_reason(lead) if stage == "lost" else "")
            target = files.get("stage_events", _month(when)).rows
            target.append(row)
            if rng.random() < 0.01:
                target.append(list(row))  # duplicated export line
        for fu in lead.followups:
            text = _ts(fu.when) if fu.extra or rng.random() >= 0.5 else _ts(fu.when)[:16]
            recorded = _ts(fu.recorded) if fu.recorded else ""
            row = [lead.lead_id, text, fu.method, fu.consultant, fu.note, fu.outcome, fu.grade]
            row += [fu.purpose, recorded]
            files.get("followups", _month(fu.when)).rows.append(row)
        for activity, when, outcome in lead.activities:
            row = [lead.lead_id, activity, _ts(when), lead.consultant, outcome, ""]
            files.get("activities", _month(when)).rows.append(row)
    for name in sorted(files.by_name):
        out = files.by_name[name]
        if out.obj == "stage_events":
            rng.shuffle(out.rows)
        elif out.obj in ("followups", "activities"):
            out.rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return files


def _won_amount(lead: Lead) -> tuple[str, str]:
    """``(amount, currency)`` of a won lead: its model's list price less a 0-7.9% discount
    that depends only on the lead id (no random draw, so the other columns do not move)."""
    digest = int(hashlib.sha256(lead.lead_id.encode()).hexdigest()[:8], 16)
    price = MODEL_PRICES.get(lead.model, DEFAULT_PRICE)
    return str(int(round(price * (1 - (digest % 80) / 1000), -2))), "CNY"


def _lost_reason(lead: Lead) -> str:
    """The free-text reason of a lost lead, one of LOST_REASON_TEXTS chosen by the lead id (no
    random draw, so the other columns do not move)."""
    digest = int(hashlib.sha256(f"lost|{lead.lead_id}".encode()).hexdigest()[:8], 16)
    return LOST_REASON_TEXTS[digest % len(LOST_REASON_TEXTS)]


def _survey_score(rng: random.Random, scale_max: int) -> int:
    """A satisfaction score, mostly at the top of the scale."""
    share = min(1.0, max(0.0, rng.gauss(0.82, 0.15)))
    return round(share * scale_max)


def _add_surveys(rng: random.Random, spec: DealerSpec, leads: Sequence[Lead], files, end) -> None:
    scale = SURVEY_SCALES.get(spec.dealer_code, 10)
    for lead in leads:
        won = next((when for stage, when in lead.events if stage == "won"), None)
        if won is None:
            continue
        for kind, share, low, high in (("purchase", 0.6, 1, 7), ("after_sales", 0.3, 30, 60)):
            when = _next_opening(_after(won, rng.uniform(low, high) * 86400), rng)
            if rng.random() >= share or when >= end:
                continue
            row = [lead.lead_id, _ts(when), str(_survey_score(rng, scale)), kind]
            row += ["" if scale == 10 else str(scale), rng.choice(SURVEY_COMMENTS)]
            files[spec.dealer_code].get("surveys", _month(when)).rows.append(row)


def _add_targets(rng: random.Random, spec: DealerSpec, leads: Sequence[Lead], files) -> None:
    """Monthly targets near the dealer's actual activity (the month's leads, interested, won
    and amount; each consultant's assigned leads and wins)."""
    actual: dict[tuple[str, str, str], float] = {}
    for lead in leads:
        actual[(_month(lead.created), "", "leads")] = (
            actual.get((_month(lead.created), "", "leads"), 0) + 1
        )
        if lead.assigned and lead.consultant:
            key = (_month(lead.assigned), lead.consultant, "leads")
            actual[key] = actual.get(key, 0) + 1
        for stage, when in lead.events:
            month = _month(when)
            if stage == "interested":
                actual[(month, "", "interested")] = actual.get((month, "", "interested"), 0) + 1
            if stage == "won":
                for who in ("", lead.consultant):
                    actual[(month, who, "won")] = actual.get((month, who, "won"), 0) + 1
                amount = float(_won_amount(lead)[0])
                actual[(month, "", "amount")] = actual.get((month, "", "amount"), 0) + amount
    out = None
    for month, who, metric in sorted(actual):
        value = actual[(month, who, metric)] * rng.uniform(0.85, 1.25)
        target = round(value, -4) if metric == "amount" else max(1, round(value))
        out = files[spec.dealer_code].get("targets", month[:4])
        out.rows.append([month, metric, str(int(target)), who])


def _add_surveys_and_targets(
    rng: random.Random, specs: Sequence[DealerSpec], leads: dict[str, list[Lead]], files, end
) -> None:
    """Surveys for every dealer, targets for the registered ones, then the bad rows."""
    for spec in specs:
        _add_surveys(rng, spec, leads[spec.dealer_code], files, end)
        if spec.registered:
            _add_targets(rng, spec, leads[spec.dealer_code], files)
    surveys = [f for code in files for f in files[code].by_name.values() if f.obj == "surveys"]
    targets = [f for code in files for f in files[code].by_name.values() if f.obj == "targets"]
    for out in sorted(surveys, key=lambda f: (f.dealer_code, f.name))[:SURVEY_BAD_ROWS]:
        scale = SURVEY_SCALES.get(out.dealer_code, 10)
        row = [out.rows[0][0], out.rows[0][1], str(scale + 1), "purchase", "", "typo"]
        _insert(rng, out, row, "score_out_of_range")
    for out in sorted(targets, key=lambda f: (f.dealer_code, f.name))[:TARGET_BAD_ROWS]:
        _insert(rng, out, [out.rows[0][0], "test_drives", "40", ""], "unknown_metric")


def _insert(rng: random.Random, out: OutFile, row: list[str], reason: str) -> None:
    out.rows.insert(rng.randrange(len(out.rows) + 1), row)
    out.bad_rows[reason] = out.bad_rows.get(reason, 0) + 1


def _add_bad_rows(
    rng: random.Random, specs: Sequence[DealerSpec], leads: dict[str, list[Lead]], files: dict
) -> None:
    """Append the deliberately bad rows (see the module docstring) to random files."""
    population = [lead for spec in specs for lead in leads[spec.dealer_code]]
    if not population:
        return
    bad_values = iter(BAD_TIMESTAMPS * 2)
    for obj, count in BAD_TIMESTAMP_ROWS.items():
        for k in range(count):
            lead = rng.choice(population)
            dealer_files: _Files = files[lead.dealer_code]
            out = dealer_files.get(obj, _month(lead.created))
            value = next(bad_values)
            if obj == "leads":
                row = [f"{lead.dealer_code}-X{k + 1:05d}", value, *[""] * (len(LEAD_COLUMNS) - 2)]
                row[3] = lead.channel
            elif obj == "stage_events":
                row = [lead.lead_id, "potential", value, ""]
            else:
                row = [lead.lead_id, value, "phone", lead.consultant, "called, no answer"]
                row += ["no_answer", "", "sales", ""]
            _insert(rng, out, row, "unparseable_timestamp")
    for _ in range(UNKNOWN_STAGE_ROWS):
        lead = rng.choice(population)
        out = files[lead.dealer_code].get("stage_events", _month(lead.created))
        _insert(rng, out, [lead.lead_id, UNKNOWN_STAGE, _ts(lead.created), ""], "unknown_stage")


def _legacy_file(rng: random.Random, dealer_code: str, leads: Sequence[Lead]) -> OutFile:
    out = OutFile(
        dealer_code, LEGACY_FILE, "followups", columns=("lead_id", "contacted_on", "method")
    )
    for lead in rng.sample(list(leads), k=min(LEGACY_ROWS, len(leads))):
        when = lead.created + timedelta(days=1)
        out.rows.append([lead.lead_id, when.strftime("%Y/%m/%d %H:%M"), "phone"])
    return out


def _render(out: OutFile, bom: bool) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(out.columns)
    width = len(out.columns)  # rows written before a column was added are padded
    writer.writerows(row + [""] * (width - len(row)) for row in out.rows)
    return (b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode("utf-8")


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# -- entry point ----------------------------------------------------------------------------


def generate(
    landing_dir: Path,
    *,
    seed: int = DEFAULT_SEED,
    n_leads: int = 20_000,
    start: date = date(2026, 5, 4),
    weeks: int = 26,
) -> dict:
    """Write the synthetic dealer group into ``landing_dir`` and return its manifest.

    Manifest (JSON-serialisable; ``rows`` count CSV data records, not lines)::

        {"seed", "n_leads", "start", "end", "weeks",
         "dealers": {code: {"registered", "timezone", "leads", "bom",
                            "files": {name: {"object", "rows", "bad_rows", "rejected"}}}},
         "files": [{"path": "SH001/leads_2026-05.csv", "dealer_code", "object", "rows",
                    "bad_rows", "rejected", "bom"}, ...],
         "totals": {"files", "rows", "rows_by_object": {...}},
         "bad_rows": {"unparseable_timestamp": 10, "unknown_stage": 10},
         "rejected_files": ["CD001/followups_legacy_export.csv"], "rejected_rows": 5,
         "expected": {"rows_loaded", "rows_quarantined"},
         "unregistered_dealers": ["NB001"],
         "alert_scenario": {"dealer_code", "weeks", "first_week_start", "interested_rate",
                            "normal_interested_rate"}}

    Existing files of the same names are replaced with identical bytes; other files in the
    folder are left alone. Raises :class:`ValueError` when ``start`` is not a Monday or
    ``n_leads`` / ``weeks`` are below 1, and :class:`ConfigError` for a bad registry.
    """
    if start.weekday() != 0:
        raise ValueError(f"start must be a Monday, got {start.isoformat()} ({start:%A})")
    if n_leads < 1 or weeks < 1:
        raise ValueError("n_leads and weeks must be at least 1")
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    extra = random.Random(f"{seed}:followup-rules")  # noqa: S311 - the additions, own stream
    settings = load_funnel_settings()
    end = datetime(start.year, start.month, start.day) + timedelta(weeks=weeks)
    planted: dict | None = None
    specs = _dealer_specs(rng)
    leads: dict[str, list[Lead]] = {}
    files: dict[str, _Files] = {}
    for spec, count in zip(specs, _lead_counts(specs, n_leads), strict=True):
        dealer_leads = _make_leads(rng, spec, count, start, weeks)
        _give_shared_people(spec, dealer_leads, seed, start, weeks)
        _choose_interested(rng, spec, dealer_leads, start, weeks)
        for lead in dealer_leads:
            _simulate(rng, spec, lead, end)
        if spec.dealer_code == PLANTED_DEALER:
            planted = _plant_overdue_lead(spec, dealer_leads, end)
        for lead in dealer_leads:
            _followup_rules(extra, spec, lead, end, settings)
        leads[spec.dealer_code] = dealer_leads
        files[spec.dealer_code] = _dealer_files(rng, spec, dealer_leads)
    _add_bad_rows(rng, specs, leads, files)
    _add_surveys_and_targets(random.Random(f"{seed}:surveys+targets"), specs, leads, files, end)  # noqa: S311
    legacy_dealer = LEGACY_DEALER if LEGACY_DEALER in leads else specs[0].dealer_code
    legacy = _legacy_file(rng, legacy_dealer, leads[legacy_dealer])
    files[legacy_dealer].by_name[legacy.name] = legacy
    manifest = _write_all(landing_dir, specs, leads, files, legacy, seed=seed, start=start, end=end)
    manifest["planted_overdue_lead"] = planted
    return manifest


def _write_all(
    landing_dir: Path,
    specs: Sequence[DealerSpec],
    leads: dict[str, list[Lead]],
    files: dict[str, _Files],
    legacy: OutFile,
    *,
    seed: int,
    start: date,
    end: datetime,
) -> dict:
    manifest_files = []
    dealers = {}
    for spec in specs:
        folder = landing_dir / spec.dealer_code
        folder.mkdir(parents=True, exist_ok=True)
        bom = spec.dealer_code == BOM_DEALER
        entries = {}
        for name in sorted(files[spec.dealer_code].by_name):
            out = files[spec.dealer_code].by_name[name]
            _write_atomic(folder / name, _render(out, bom))
            rejected = out is legacy
            entries[name] = {
                "object": out.obj,
                "rows": len(out.rows),
                "bad_rows": dict(sorted(out.bad_rows.items())),
                "rejected": rejected,
            }
            manifest_files.append(
                {"path": f"{spec.dealer_code}/{name}", "dealer_code": spec.dealer_code, "bom": bom}
                | entries[name]
            )
        dealers[spec.dealer_code] = {
            "registered": spec.registered,
            "timezone": spec.timezone,
            "leads": len(leads[spec.dealer_code]),
            "bom": bom,
            "files": entries,
        }
    return _manifest(manifest_files, dealers, legacy, seed=seed, start=start, end=end)


def _manifest(
    manifest_files: list[dict],
    dealers: dict[str, dict],
    legacy: OutFile,
    *,
    seed: int,
    start: date,
    end: datetime,
) -> dict:
    rows_by_object = {"leads": 0, "stage_events": 0, "followups": 0, "activities": 0}
    rows_by_object |= {"surveys": 0, "targets": 0}
    bad_rows: dict[str, int] = {"unparseable_timestamp": 0, "unknown_stage": 0}
    bad_rows |= {"score_out_of_range": 0, "unknown_metric": 0}
    for entry in manifest_files:
        rows_by_object[entry["object"]] += entry["rows"]
        for reason, count in entry["bad_rows"].items():
            bad_rows[reason] += count
    total_rows = sum(rows_by_object.values())
    quarantined = sum(bad_rows.values()) + len(legacy.rows)
    weeks = (end.date() - start).days // 7
    return {
        "seed": seed,
        "n_leads": sum(d["leads"] for d in dealers.values()),
        "start": start.isoformat(),
        "end": end.date().isoformat(),
        "weeks": weeks,
        "dealers": dealers,
        "files": manifest_files,
        "totals": {
            "files": len(manifest_files),
            "rows": total_rows,
            "rows_by_object": rows_by_object,
        },
        "bad_rows": bad_rows,
        "rejected_files": [f"{legacy.dealer_code}/{legacy.name}"],
        "rejected_rows": len(legacy.rows),
        "expected": {"rows_loaded": total_rows - quarantined, "rows_quarantined": quarantined},
        "unregistered_dealers": [code for code, d in dealers.items() if not d["registered"]],
        "alert_scenario": {
            "dealer_code": ALERT_DEALER,
            "weeks": ALERT_WEEKS,
            "first_week_start": (start + timedelta(weeks=max(weeks - ALERT_WEEKS, 0))).isoformat(),
            "interested_rate": ALERT_INTERESTED_RATE,
            "normal_interested_rate": NORMAL_INTERESTED_RATE,
        },
    }

"""A seeded dealer group at scale, as dealer CRM export files (DESIGN.md section 3).

``generate_group(landing, leads=1_000_000, dealers=200, years=3)`` writes
``<landing>/<dealer_code>/{leads,stage_events,followups}_YYYY-MM.csv`` (and, with
``activities=True``, ``activities_YYYY-MM.csv``) for dealers ``D0001`` .. ``D<dealers>``: one
file per object and month of the window, about 5 CSV rows per lead (the group export of
issue #13 had 4.8: 1 M leads, 4.79 M rows). The dealers are not in
``config/dealers.yml``: the loader registers them with the defaults (Asia/Shanghai).

Every row is valid, so the loader quarantines nothing: this is a volume test, the messy input
lives in the demo generator (:mod:`dealerfunnel_demo.synth`), whose vocabularies, channels and
campaigns this one reuses. What the funnel looks like: every lead has a ``potential`` event at
``created_at``; about 60% reach ``interested`` (at the first contact, hours after assignment),
then about 55% ``needs_defined``, 50% ``decision`` and 40% ``won``, days to weeks apart; 80%
of the others are closed ``lost`` (with a free-text reason) within ``LOST_WITHIN_DAYS`` of the
step they did not take, as a dealer's CRM closes stale leads, so leads still open at the end
are mostly recent ones (a 3-year window full of never-closed leads would make every open-lead
rule, e.g. the weekly contact rule of interested leads, cost weeks x leads). Stage values use
the dealer's vocabulary (canonical, Chinese or English). Interested leads get sales follow-ups on a
cadence (up to 3 contacts), won leads an after-sales call. About 2% of leads are a repeat
enquiry by a person already known to the dealer (same phone, another channel), so identity
resolution has work.
Nothing happens at or after ``end`` (the export is a snapshot taken then).

Fast: dealers are generated in parallel processes (one task per dealer, each seeded from the
group seed and the dealer's number, so output is byte-identical for the same arguments
whatever the number of processes), times are integer seconds formatted from a per-day cache.

``add_increment(landing, fraction=0.01, ...)`` adds about ``fraction`` new leads per dealer,
created in the last week before ``end``, with their events and follow-ups, in NEW files
(``*_YYYY-MM_inc<n>.csv``): the input of an hourly cycle after a full load.

``python -m bench.generate OUT --leads N --dealers D --years Y [--increment]``.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import sys
import time
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate
from pathlib import Path

from dealerfunnel_demo.synth.generator import ACTIVITY_COLUMNS, FOLLOWUP_COLUMNS, STAGE_COLUMNS

DEFAULT_SEED = 20261313
DEFAULT_END = date(2026, 11, 30)  # fixed, so a seed means the same bytes on any day
DAY = 86_400
HOUR = 3_600

LEAD_COLUMNS = (
    "lead_id", "created_at", "assigned_at", "channel", "campaign", "consultant", "grade",
    "customer_name", "phone", "email", "model_of_interest",
)  # fmt: skip
OBJECTS = ("leads", "stage_events", "followups", "activities")
COLUMNS = dict(
    zip(OBJECTS, (LEAD_COLUMNS, STAGE_COLUMNS, FOLLOWUP_COLUMNS, ACTIVITY_COLUMNS), strict=True)
)

FUNNEL = ("potential", "interested", "needs_defined", "decision", "won")
STEP_RATES = (0.60, 0.55, 0.50, 0.40)  # interested | potential, needs_defined | interested, ...
STEP_GAP_DAYS = ((0, 0), (1, 10), (2, 21), (3, 30))  # days before reaching the next stage
LOST_SHARE = 0.80  # of the leads that stop before won
LOST_WITHIN_DAYS = 45  # a stale lead is closed lost this long at most after its last step
MAX_CADENCE_FOLLOWUPS = 2  # sales contacts of an open lead after the first
REPEAT_SHARE = 0.02
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "俊杰", "子涵", "浩然", "欣怡")
PINYIN = "wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he lin luo gao"
METHODS = ("phone", "phone", "phone", "wechat", "wechat", "visit", "sms")
NOTES = (
    "首次电话沟通，客户关注价格", "微信发送报价单", "确认试驾时间", "sent brochure via WeChat",
    'asked about "trade-in" value, will send quote', "客户反馈:\n1. 价格偏高\n2. 想等优惠", "",
)  # fmt: skip
ACTIVITIES = ("appointment", "showroom_visit", "test_drive", "quote")


def _synth_constants() -> dict:
    """Vocabularies and channel mix shared with the demo generator."""
    from dealerfunnel_demo.synth import generator as g

    return {
        "vocabularies": g.VOCABULARIES,
        "channels": g.CHANNELS,
        "channel_weights": tuple(accumulate(g.CHANNEL_WEIGHTS)),
        "campaigns": g.CAMPAIGNS,
        "models": g.MODELS,
        "prices": g.MODEL_PRICES,
        "lost_reasons": g.LOST_REASON_TEXTS,
        "hours": tuple(accumulate(g.HOUR_WEIGHTS)),
        "weekdays": g.WEEKDAY_WEIGHTS,
        "grades": g.GRADES,
        "cadence": g.CADENCE_DAYS,
        "phone_prefixes": g.PHONE_PREFIXES,
        "email_domains": g.EMAIL_DOMAINS,
    }


@dataclass(frozen=True)
class DealerTask:
    index: int  # 1-based
    code: str
    leads: int
    seed: int
    start: date  # first day of the window (local)
    days: int  # window length; nothing happens at or after start + days
    created_from_day: int = 0  # leads are created in [created_from_day, days)
    suffix: str = ""  # file name suffix ("_inc1" for an increment)
    id_prefix: str = ""  # distinguishes the lead ids of an increment
    activities: bool = False


def dealer_code(index: int) -> str:
    return f"D{index:04d}"


def lead_counts(leads: int, dealers: int, seed: int) -> list[int]:
    """Leads per dealer: uneven (log-normal sizes), summing to ``leads`` exactly."""
    rng = random.Random(f"{seed}:sizes")  # noqa: S311 - synthetic data
    weights = [rng.lognormvariate(0, 0.5) for _ in range(dealers)]
    scale = sum(weights)
    exact = [leads * w / scale for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(dealers), key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[: leads - sum(counts)]:
        counts[i] += 1
    return counts


class _Clock:
    """Integer seconds from the window's first local midnight -> ``YYYY-MM-DD HH:MM:SS``."""

    def __init__(self, start: date, days: int) -> None:
        self.days = [(start + timedelta(days=d)).isoformat() for d in range(days + 1)]
        self.months = [d[:7] for d in self.days]

    def text(self, t: int) -> str:
        day, rest = divmod(t, DAY)
        hour, rest = divmod(rest, HOUR)
        minute, second = divmod(rest, 60)
        return f"{self.days[day]} {hour:02d}:{minute:02d}:{second:02d}"

    def month(self, t: int) -> str:
        return self.months[t // DAY]


def _dealer_rows(task: DealerTask, k: dict) -> dict[str, dict[str, list[tuple]]]:
    """Rows per object and month for one dealer: ``{obj: {YYYY-MM: [row, ...]}}``."""
    rng = random.Random(f"{task.seed}:{task.code}:{task.suffix}")  # noqa: S311
    rand, randint, choice = rng.random, rng.randint, rng.choice
    clock = _Clock(task.start, task.days)
    end = task.days * DAY
    vocab = k["vocabularies"][("canonical", "chinese", "english")[task.index % 3]]
    consultants = [
        f"{choice(SURNAMES)}{choice(GIVEN)}" for _ in range(4 + task.index % 9)
    ]  # 4..12 consultants
    brand = ("Aurora", "Borealis")[task.index % 2]
    models = k["models"][brand]
    pinyin = PINYIN.split()
    day_weights = tuple(
        accumulate(
            k["weekdays"][(task.start.toordinal() + d - 1) % 7]
            for d in range(task.created_from_day, task.days)
        )
    )
    hours = k["hours"]
    out: dict[str, dict[str, list[tuple]]] = {o: defaultdict(list) for o in OBJECTS}
    leads_out, events_out, followups_out, activities_out = (out[o] for o in OBJECTS)
    known_people: list[tuple[str, str, str]] = []
    for n in range(task.leads):
        lead_id = f"{task.code}-{task.id_prefix}{n + 1:07d}"
        day = task.created_from_day + bisect_left(day_weights, rand() * day_weights[-1])
        hour = bisect_left(hours, rand() * hours[-1])
        created = day * DAY + hour * HOUR + int(rand() * HOUR)
        if created >= end:
            created = end - 1
        c = bisect_left(k["channel_weights"], rand() * k["channel_weights"][-1])
        channel = k["channels"][c]
        campaign = choice(k["campaigns"][channel])
        consultant = choice(consultants)
        if known_people and rand() < REPEAT_SHARE:  # a known person enquires again
            name, phone, email = choice(known_people)
        else:
            s = randint(0, len(SURNAMES) - 1)
            name = SURNAMES[s] + choice(GIVEN)
            phone = f"{choice(k['phone_prefixes'])}{randint(0, 10**8 - 1):08d}"
            email = f"{pinyin[s]}.{task.index}.{task.id_prefix}{n}@{choice(k['email_domains'])}"
            if len(known_people) < 5000:
                known_people.append((name, phone, email))
            elif rand() < 0.05:
                known_people[randint(0, 4999)] = (name, phone, email)
        model = choice(models) if rand() < 0.8 else ""
        assigned = created + int(rand() * rand() * 8 * HOUR) + 60
        # the funnel
        reached = 0
        t = assigned + int(rand() * 20 * HOUR) + 300  # first contact: interested
        times = [created]
        while reached < 4 and t < end and rand() < STEP_RATES[reached]:
            reached += 1
            times.append(t)
            low, high = STEP_GAP_DAYS[reached] if reached < 4 else (2, 30)
            t += randint(low * DAY, high * DAY) + int(rand() * DAY)
        grade = choice(k["grades"]) if reached else ""
        month = clock.month(created)
        leads_out[month].append(
            (
                lead_id, clock.text(created), clock.text(assigned) if assigned < end else "",
                channel, campaign, consultant, grade, name, phone, email, model,
            )
        )  # fmt: skip
        for stage_no, at in enumerate(times):
            stage = FUNNEL[stage_no]
            amount = currency = ""
            if stage == "won":
                price = k["prices"].get(model, 199_900)
                amount, currency = str(price - randint(0, 20) * 1000), "CNY"
            events_out[clock.month(at)].append(
                (lead_id, vocab[stage], clock.text(at), consultant, amount, currency, "")
            )
        t += randint(0, LOST_WITHIN_DAYS * DAY)
        if reached < 4 and t < end and rand() < LOST_SHARE:
            events_out[clock.month(t)].append(
                (lead_id, vocab["lost"], clock.text(t), consultant, "", "",
                 choice(k["lost_reasons"]))
            )  # fmt: skip
        # follow-ups: the first contact (after an unanswered attempt now and then), then the
        # grade's cadence while the lead is open, an after-sales call after a win
        if reached:
            first = times[1]
            if rand() < 0.25 and first - HOUR > assigned:
                at = first - HOUR
                followups_out[clock.month(at)].append(
                    (lead_id, clock.text(at), "phone", consultant, "called, no answer",
                     "no_answer", "", "sales", clock.text(at + 120))
                )  # fmt: skip
            last = times[-1] if reached == 4 else min(t, end)
            at, low_high = first, k["cadence"][grade]
            for _ in range(1 + MAX_CADENCE_FOLLOWUPS):
                if at >= last:
                    break
                followups_out[clock.month(at)].append(
                    (lead_id, clock.text(at), choice(METHODS), consultant, choice(NOTES),
                     "reached", grade if at == first else "", "sales",
                     clock.text(min(at + int(rand() * 6 * HOUR), end - 1)))
                )  # fmt: skip
                at += randint(low_high[0] * DAY, low_high[1] * DAY)
            if reached == 4 and times[-1] + 20 * HOUR < end:
                at = times[-1] + 20 * HOUR
                followups_out[clock.month(at)].append(
                    (lead_id, clock.text(at), "phone", consultant, "交车后回访，满意",
                     "reached", "", "after_sales", clock.text(at))
                )  # fmt: skip
            if task.activities:
                for activity, at in zip(ACTIVITIES, times[1:], strict=False):
                    activities_out[clock.month(at)].append(
                        (lead_id, activity, clock.text(at), consultant, "done", "")
                    )
    return out


def _write_dealer(args: tuple[DealerTask, Path]) -> dict[str, int]:
    task, landing = args
    k = _synth_constants()
    folder = landing / task.code
    folder.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {"files": 0}
    for obj, months in _dealer_rows(task, k).items():
        rows[obj] = 0
        for month in sorted(months):
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(COLUMNS[obj])
            writer.writerows(months[month])
            path = folder / f"{obj}_{month}{task.suffix}.csv"
            tmp = folder / f".{path.name}.tmp"  # the loader ignores hidden files
            tmp.write_text(buffer.getvalue(), encoding="utf-8")
            os.replace(tmp, path)
            rows[obj] += len(months[month])
            rows["files"] += 1
    return rows


def _progress(total: int, label: str) -> Callable[[int], None]:
    """tqdm when it is installed, else a one-line counter on stderr."""
    try:
        from tqdm import tqdm

        bar = tqdm(total=total, desc=label, unit="lead", unit_scale=True, file=sys.stderr)
        return bar.update
    except ImportError:  # pragma: no cover - tqdm is in the project's venv
        done = [0]

        def update(n: int) -> None:
            done[0] += n
            print(f"\r{label}: {done[0]:,}/{total:,} leads", end="", file=sys.stderr, flush=True)

        return update


def _run(tasks: list[DealerTask], landing: Path, workers: int, label: str, quiet: bool) -> dict:
    landing.mkdir(parents=True, exist_ok=True)
    update = (lambda n: None) if quiet else _progress(sum(t.leads for t in tasks), label)
    totals: dict[str, int] = defaultdict(int)
    started = time.perf_counter()

    def add(task: DealerTask, rows: dict[str, int]) -> None:
        for key, value in rows.items():
            totals[key] += value
        update(task.leads)

    if workers <= 1:
        for task in tasks:
            add(task, _write_dealer((task, landing)))
    else:
        with ProcessPoolExecutor(workers) as pool:
            jobs = [(t, landing) for t in tasks]
            for task, rows in zip(tasks, pool.map(_write_dealer, jobs), strict=True):
                add(task, rows)
    totals["leads_generated"] = sum(t.leads for t in tasks)
    totals["rows"] = sum(totals.get(o, 0) for o in OBJECTS)
    totals["seconds"] = round(time.perf_counter() - started, 2)
    return dict(totals)


def _window(years: int, end: date) -> tuple[date, int]:
    start = date(end.year - years, end.month, end.day)
    return start, (end - start).days


def generate_group(
    landing: Path,
    *,
    leads: int = 20_000,
    dealers: int = 20,
    years: int = 1,
    seed: int = DEFAULT_SEED,
    end: date = DEFAULT_END,
    workers: int | None = None,
    activities: bool = False,
    quiet: bool = False,
) -> dict:
    """Write the group's files; return totals ``{leads, stage_events, followups, activities,
    rows, files, leads_generated, seconds}``."""
    start, days = _window(years, end)
    tasks = [
        DealerTask(i, dealer_code(i), n, seed, start, days, activities=activities)
        for i, n in enumerate(lead_counts(leads, dealers, seed), start=1)
    ]
    return _run(tasks, landing, workers or os.cpu_count() or 1, "generating", quiet)


def existing_increments(landing: Path) -> int:
    return len({p.stem.rsplit("_inc", 1)[1] for p in landing.glob("*/leads_*_inc*.csv")})


def add_increment(
    landing: Path,
    *,
    fraction: float = 0.01,
    leads: int = 20_000,
    dealers: int = 20,
    years: int = 1,
    seed: int = DEFAULT_SEED,
    end: date = DEFAULT_END,
    workers: int | None = None,
    activities: bool = False,
    quiet: bool = False,
) -> dict:
    """About ``fraction`` new leads per dealer (of the group generated with the same
    arguments), created in the last 7 days before ``end``, in new ``*_inc<n>.csv`` files."""
    start, days = _window(years, end)
    number = existing_increments(landing) + 1
    tasks = [
        DealerTask(
            i,
            dealer_code(i),
            max(1, round(n * fraction)),
            seed + number,
            start,
            days,
            created_from_day=days - 7,
            suffix=f"_inc{number}",
            id_prefix=f"N{number}-",
            activities=activities,
        )
        for i, n in enumerate(lead_counts(leads, dealers, seed), start=1)
    ]
    return _run(tasks, landing, workers or os.cpu_count() or 1, f"increment {number}", quiet)


def iter_csv(landing: Path) -> Iterator[Path]:
    return iter(sorted(landing.rglob("*.csv")))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__)
    parser.add_argument("out", type=Path, help="the landing folder to write")
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--dealers", type=int, default=20)
    parser.add_argument("--years", type=int, default=1)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--end", type=date.fromisoformat, default=DEFAULT_END)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--activities", action="store_true")
    parser.add_argument(
        "--increment", type=float, default=0.0, help="add this share of new leads in new files"
    )
    args = parser.parse_args(argv)
    common = {
        "leads": args.leads,
        "dealers": args.dealers,
        "years": args.years,
        "seed": args.seed,
        "end": args.end,
        "workers": args.workers,
        "activities": args.activities,
    }
    if args.increment:
        totals = add_increment(args.out, fraction=args.increment, **common)
    else:
        totals = generate_group(args.out, **common)
    print(totals)


if __name__ == "__main__":
    main()

"""The synthetic dealer group: reproducible, self-describing, and shaped as promised."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
from collections import defaultdict
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dealerfunnel.landing.files import LOADED, REJECTED, discover, prepare
from dealerfunnel.settings import load_dealer_registry, load_stage_mapping
from dealerfunnel_demo.synth import generate

N_LEADS = 3000


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def records(path: Path) -> list[dict[str, str]]:
    text = path.read_bytes().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("landing")
    return folder, generate(folder, n_leads=N_LEADS)


def test_same_seed_gives_identical_bytes(generated, tmp_path: Path) -> None:
    folder, manifest = generated
    again = generate(tmp_path / "again", n_leads=N_LEADS)
    assert again == manifest
    assert snapshot(tmp_path / "again") == snapshot(folder)


def test_regenerating_in_place_rewrites_identical_bytes(tmp_path: Path) -> None:
    generate(tmp_path, n_leads=500, weeks=8)
    before = snapshot(tmp_path)
    generate(tmp_path, n_leads=500, weeks=8)
    assert snapshot(tmp_path) == before
    assert not [p for p in tmp_path.rglob(".*")]  # no temporary files left


def test_another_seed_gives_other_data(tmp_path: Path) -> None:
    generate(tmp_path / "a", n_leads=300, weeks=4, seed=1)
    generate(tmp_path / "b", n_leads=300, weeks=4, seed=2)
    assert snapshot(tmp_path / "a") != snapshot(tmp_path / "b")


def test_manifest_counts_match_the_files(generated) -> None:
    folder, manifest = generated
    on_disk = {f"{p.parent.name}/{p.name}": p for p in sorted(folder.glob("*/*.csv"))}
    assert sorted(on_disk) == sorted(entry["path"] for entry in manifest["files"])
    rows_by_object: dict[str, int] = defaultdict(int)
    for entry in manifest["files"]:
        path = on_disk[entry["path"]]
        assert len(records(path)) == entry["rows"], entry["path"]
        assert path.read_bytes().startswith(b"\xef\xbb\xbf") == entry["bom"]
        assert b"\r" not in path.read_bytes().replace(b'\r"', b"")
        rows_by_object[entry["object"]] += entry["rows"]
        dealer = manifest["dealers"][entry["dealer_code"]]["files"][path.name]
        assert dealer["rows"] == entry["rows"]
    assert dict(rows_by_object) == manifest["totals"]["rows_by_object"]
    assert sum(rows_by_object.values()) == manifest["totals"]["rows"]
    assert manifest["n_leads"] == N_LEADS
    assert sum(d["leads"] for d in manifest["dealers"].values()) == N_LEADS
    loaded, quarantined = (
        manifest["expected"]["rows_loaded"],
        manifest["expected"]["rows_quarantined"],
    )
    assert loaded + quarantined == manifest["totals"]["rows"]


def test_dealers_files_and_deliberate_problems(generated) -> None:
    folder, manifest = generated
    registry, _ = load_dealer_registry()
    assert list(manifest["dealers"]) == [*registry, "NB001"]
    assert manifest["unregistered_dealers"] == ["NB001"]
    assert 30 <= manifest["dealers"]["NB001"]["leads"] <= 60  # "a few hundred" at 20k
    leads = [d["leads"] for code, d in manifest["dealers"].items() if code != "NB001"]
    assert max(leads) > 1.8 * min(leads)  # uneven
    assert manifest["bad_rows"] == {
        "unparseable_timestamp": 10,
        "unknown_stage": 10,
        "score_out_of_range": 2,
        "unknown_metric": 1,
    }
    assert manifest["rejected_files"] == ["CD001/followups_legacy_export.csv"]
    assert manifest["rejected_rows"] == 5
    assert manifest["expected"]["rows_quarantined"] == 28
    legacy = records(folder / "CD001" / "followups_legacy_export.csv")
    assert list(legacy[0]) == ["lead_id", "contacted_on", "method"]
    # every BJ001 file (leads, stage events, follow-ups, activities, surveys, targets) has a BOM
    bj001 = [e["bom"] for e in manifest["files"] if e["dealer_code"] == "BJ001"]
    assert bj001 == [True] * len(list((folder / "BJ001").iterdir())) and len(bj001) > 21
    assert not any(e["bom"] for e in manifest["files"] if e["dealer_code"] != "BJ001")
    names = {p.name for p in (folder / "SH001").iterdir()}
    assert {"leads_2026-05.csv", "stage_events_2026-10.csv", "followups_2026-11.csv"} <= names
    assert {"activities_2026-07.csv", "surveys_2026-06.csv", "targets_2026.csv"} <= names
    assert "targets_2026.csv" not in {p.name for p in (folder / "NB001").iterdir()}


def test_planted_overdue_lead_and_follow_up_columns(generated) -> None:
    folder, manifest = generated
    planted = manifest["planted_overdue_lead"]
    assert (planted["dealer_code"], planted["grade"]) == ("SH001", "D")
    # the D cadence is at most 90 days between contacts: the planted lead's last contact is older
    assert planted["days_before_end"] > 90
    rows = [
        r
        for path in sorted((folder / "SH001").glob("followups_*.csv"))
        for r in records(path)
        if r["lead_id"] == planted["lead_id"]
    ]
    reached = [r for r in rows if r["outcome"] == "reached"]
    assert len(reached) == 1 and reached[0]["grade"] == "D"
    assert reached[0]["occurred_at"].startswith(planted["last_contact"][:16])
    assert {r["outcome"] for r in rows} - {"reached"} <= {"no_answer", "busy", "voicemail"}
    assert len(rows) == 1 + planted["attempts_after"]
    lead_rows = [
        r
        for path in sorted((folder / "SH001").glob("leads_*.csv"))
        for r in records(path)
        if r["lead_id"] == planted["lead_id"]
    ]
    assert [r["grade"] for r in lead_rows] == ["D"]
    activities = records(folder / "SH001" / "activities_2026-07.csv")
    assert list(activities[0]) == ["lead_id", "activity", "occurred_at", "consultant", "outcome",
                                   "detail"]  # fmt: skip
    assert {"delivered", "order_signed"} <= {a["activity"] for a in activities}


def test_the_loader_parsing_agrees_with_the_manifest(generated) -> None:
    """Offline: every row the loader would quarantine is one the manifest announced."""
    folder, manifest = generated
    vocabulary = load_stage_mapping()["dealer_export"]
    found = discover(folder)
    dealers, ignored = found.dealers, found.ignored
    assert ignored == [] and found.refused == []
    registry, defaults = load_dealer_registry()
    expected = {e["path"]: e for e in manifest["files"]}
    reasons: dict[str, int] = defaultdict(int)
    for code, files in dealers.items():
        zone = ZoneInfo(registry[code].timezone if code in registry else defaults.timezone)
        for lf in files:
            entry = expected[f"{code}/{lf.name}"]
            prepared = prepare(lf.path.read_bytes(), lf.obj, zone, vocabulary, "x", lf.name)
            assert prepared.status == (REJECTED if entry["rejected"] else LOADED)
            assert prepared.rows_in == entry["rows"]
            if not entry["rejected"]:
                assert len(prepared.bad) == sum(entry["bad_rows"].values()), lf.name
            for bad in prepared.bad:
                reasons[bad.reason.split(":")[0].split(" '")[0]] += 1
    assert dict(reasons) == {
        "unparseable created_at": 4,
        "unparseable occurred_at": 6,
        "unknown stage": 10,
        "missing required column": 5,
        "score 11 out of range 0-10": 2,
        "unknown metric": 1,
    }


def leads_and_stages(folder: Path) -> tuple[dict, dict]:
    """Per dealer: {lead_id: created date} and {lead_id: furthest funnel stage index}."""
    vocabulary = load_stage_mapping()["dealer_export"]
    order = ["potential", "interested", "needs_defined", "decision", "won"]
    created: dict[str, dict[str, date]] = defaultdict(dict)
    furthest: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for path in sorted(folder.glob("*/leads_*.csv")):
        for row in records(path):
            with contextlib.suppress(ValueError):  # the deliberately bad rows
                day = date.fromisoformat(row["created_at"][:10])
                created[path.parent.name][row["lead_id"]] = day
    for path in sorted(folder.glob("*/stage_events_*.csv")):
        for row in records(path):
            stage = vocabulary.get(row["stage"].strip().casefold(), row["stage"].strip().casefold())
            if stage in order:
                lead = furthest[path.parent.name]
                lead[row["lead_id"]] = max(lead[row["lead_id"]], order.index(stage))
    return created, furthest


def test_funnel_shape_and_alert_scenario(generated) -> None:
    folder, manifest = generated
    start = date.fromisoformat(manifest["start"])
    created, furthest = leads_and_stages(folder)
    weekly: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    reached = [0] * 5
    for dealer, leads in created.items():
        for lead_id, day in leads.items():
            stage = furthest[dealer].get(lead_id, 0)
            cohort = weekly[dealer][(day - start).days // 7]
            cohort[0] += 1
            cohort[1] += stage >= 1
            for k in range(stage + 1):
                reached[k] += 1
    assert 0.55 <= reached[1] / reached[0] <= 0.65
    assert 0.45 <= reached[2] / reached[1] <= 0.62
    assert 0.40 <= reached[3] / reached[2] <= 0.58
    assert 0.28 <= reached[4] / reached[3] <= 0.48
    for dealer, weeks in weekly.items():
        rates = {w: interested / n for w, (n, interested) in weeks.items()}
        low = sorted(w for w, rate in rates.items() if rate < 0.35)
        if dealer == "GZ001":
            assert low == [23, 24, 25]
            assert all(0.1 <= rates[w] <= 0.3 for w in low)
        else:
            assert low == [], dealer


def test_leads_have_the_promised_columns_and_shapes(generated) -> None:
    folder, _ = generated
    rows = [row for path in sorted(folder.glob("*/leads_*.csv")) for row in records(path)]
    good = [r for r in rows if "X" not in r["lead_id"].split("-")[1]]
    assert set(rows[0]) >= {"lead_id", "created_at", "assigned_at", "channel", "utm_source"}
    channels = {r["channel"] for r in good}
    assert channels >= {"meta_lead_ads", "google_ads", "walk_in", "event_signup", "referral", ""}
    empty_channel = sum(r["channel"] == "" for r in good) / len(good)
    assert 0.005 < empty_channel < 0.04
    assert any(r["created_at"].endswith("+08:00") for r in good)
    assert any(r["phone"].startswith("+86 ") for r in good)
    assert all(len("".join(c for c in r["phone"] if c.isdigit())) in (11, 13) for r in good)
    assert 0.01 < sum(r["assigned_at"] == "" for r in good) / len(good) < 0.1
    assert {r["grade"] for r in good} == {"A", "B", "C", "D", ""}
    weekend = sum(date.fromisoformat(r["created_at"][:10]).weekday() >= 5 for r in good)
    assert weekend / len(good) > 2 / 7  # weekends are busier


def test_start_must_be_a_monday(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Monday"):
        generate(tmp_path, start=date(2026, 5, 5))


def test_twenty_thousand_leads_by_default(tmp_path: Path) -> None:
    # generation time is measured by the bench (`make bench` prints it), not bounded here
    manifest = generate(tmp_path)
    assert manifest["n_leads"] == 20_000


def test_surveys_targets_and_amounts(generated) -> None:
    """Surveys answer won leads on their dealer's scale; targets cover every registered dealer
    and month; won events carry an amount in CNY, other events none."""
    folder, _ = generated
    _, furthest = leads_and_stages(folder)
    for path in sorted(folder.glob("*/surveys_*.csv")):
        dealer = path.parent.name
        for row in records(path):
            if row["comment"] == "typo":  # the deliberately bad rows
                continue
            scale = int(row["scale_max"] or 10)
            assert scale == (5 if dealer == "SH002" else 10)
            assert 0 <= int(row["score"]) <= scale
            assert row["kind"] in ("purchase", "after_sales")
            assert furthest[dealer][row["lead_id"]] == 4, row  # only won leads answer
    registry, _ = load_dealer_registry()
    months = {f"2026-{m:02d}" for m in range(5, 12)}
    for code in registry:
        rows = records(folder / code / "targets_2026.csv")
        dealer = [r for r in rows if not r["consultant"] and r["metric"] != "test_drives"]
        assert {(r["month"], r["metric"]) for r in dealer} >= {
            (m, metric) for m in months for metric in ("leads", "interested")
        }
        assert {r["metric"] for r in rows if r["consultant"]} <= {"leads", "won"}
    amounts = [
        row
        for path in sorted(folder.glob("*/stage_events_*.csv"))
        for row in records(path)
        if row["amount"]
    ]
    assert amounts and all(row["currency"] == "CNY" for row in amounts)
    assert all(100_000 <= int(row["amount"]) <= 360_000 for row in amounts)


def test_lost_reasons_and_appointment_outcomes(generated) -> None:
    """Lost events carry a reason the seed lost_reason_mapping maps (or none); appointments carry
    a show / no_show outcome (mart_lost_reasons, mart_showroom_activity)."""
    folder, _ = generated
    seed = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "lost_reason_mapping.csv"
    mapped = {r["source_value"].casefold() for r in records(seed)}
    reasons = [
        row["lost_reason"]
        for path in sorted(folder.glob("*/stage_events_*.csv"))
        for row in records(path)
        if row["lost_reason"]
    ]
    assert reasons and {r.casefold() for r in reasons} <= mapped
    outcomes = [
        row["outcome"]
        for path in sorted(folder.glob("*/activities_*.csv"))
        for row in records(path)
        if row["activity"] == "appointment"
    ]
    assert set(outcomes) == {"show", "no_show"}

"""Landing files -> raw + quarantine on a real PostgreSQL (the ``clean_warehouse`` fixture)."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from dealerfunnel.landing import files as landing_files
from dealerfunnel.landing import load_landing, register_dealers
from dealerfunnel.settings import load_dealer_registry
from dealerfunnel.warehouse.schema import FILE_RAW_TABLES
from dealerfunnel_demo.synth import generate

SURVEY_TARGET_TABLES = ("dealer_export__surveys", "dealer_export__targets")
# every other dealer-export object (activities included)
RAW_TABLES = tuple(t for t in FILE_RAW_TABLES if t not in SURVEY_TARGET_TABLES)

LEADS = """\
 lead_id ,created_at,assigned_at,channel,utm_source
SH001-1,2026-05-04 09:30:00,2026-05-04 10:00,meta_lead_ads,facebook
SH001-2,2026-05-04,,walk_in,
SH001-3,yesterday,,walk_in,
,2026-05-04 11:00,,walk_in,
SH001-5,2026-05-04 12:00,,walk_in,,surplus
SH001-6,2026-05-04T09:30:00Z,2026-13-45,referral,

SH001-7,2026-05-05T08:00:00+08:00,,google_ads,google
"""
STAGE_EVENTS = """\
lead_id,stage,occurred_at,consultant
SH001-1,潜在客户,2026-05-04 09:30:00,
SH001-1, Contacted ,2026-05-04 11:00:00,王芳
SH001-1,WON,2026-05-20,王芳
SH001-2,foo,2026-05-04 10:00,
SH001-2,interested,not a date,
"""
LEGACY_FOLLOWUPS = """\
lead_id,contacted_on,method
SH001-1,2026/05/05 10:00,phone
SH001-2,2026/05/06 10:00,wechat
"""
URUMQI_FOLLOWUPS = """\
lead_id,occurred_at,method,note
UR001-1,2026-05-04 09:30:00,phone,"called, ""no"" answer"
UR001-1,2026-05-05,visit,
"""
UNREGISTERED_LEADS = """\
lead_id,created_at
ZZ9-1,2026-05-04 09:30
"""


def write_landing(root: Path) -> Path:
    """The hand-written landing folder of these tests."""
    (root / "SH001").mkdir(parents=True)
    (root / "UR001").mkdir()
    (root / "ZZ999").mkdir()
    (root / "SH002").mkdir()
    (root / "SH001" / "leads_2026-05.csv").write_text(LEADS, encoding="utf-8")
    (root / "SH001" / "Stage_Events_2026-05.CSV").write_bytes(
        b"\xef\xbb\xbf" + STAGE_EVENTS.encode("utf-8")
    )
    (root / "SH001" / "followups_legacy.csv").write_text(LEGACY_FOLLOWUPS, encoding="utf-8")
    (root / "SH001" / "readme.txt").write_text("not data", encoding="utf-8")
    (root / "SH001" / ".leads_partial.csv").write_text("lead_id\n", encoding="utf-8")
    (root / "UR001" / "followups_2026-05.csv").write_text(URUMQI_FOLLOWUPS, encoding="utf-8")
    (root / "ZZ999" / "leads.csv").write_text(UNREGISTERED_LEADS, encoding="utf-8")
    (root / "SH002" / "leads_gbk.csv").write_bytes(
        "lead_id,created_at\n李,2026-05-04\n".encode("gbk")
    )
    (root / "notes.txt").write_text("top-level file", encoding="utf-8")
    return root


def query(url: str, statement: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(statement, params).fetchall()


def raw_counts(url: str, tables: tuple[str, ...] = RAW_TABLES) -> dict[str, int]:
    return {t: query(url, f"select count(*) from raw.{t}")[0][0] for t in tables}


def state(url: str) -> dict[str, object]:
    """Everything the loader writes, for before/after comparisons."""
    return {
        "raw": raw_counts(url),
        "quarantine": query(url, "select quarantine_id, batch_id, reason from ops.quarantine"),
        "batches": query(url, "select batch_id, status, rows_in from ops.load_batches"),
        "landed": query(url, "select * from ops.landed_files order by 1, 2"),
        "dealers": query(url, "select * from ops.dealers order by 1"),
    }


def assert_conserved(url: str) -> None:
    """rows_in = loaded + quarantined for every file, from landed_files and from the tables."""
    landed = query(
        url,
        """
        select f.dealer_code, f.file_name, f.object, f.batch_id, f.rows_in, f.rows_loaded,
               f.rows_quarantined, b.rows_in, b.rows_loaded, b.rows_quarantined
        from ops.landed_files f join ops.load_batches b using (batch_id)
        where f.duplicate_of is null
        """,
    )
    assert landed
    for code, name, obj, batch, rows_in, loaded, quarantined, b_in, b_loaded, b_q in landed:
        assert rows_in == loaded + quarantined, name
        assert (b_in, b_loaded, b_q) == (rows_in, loaded, quarantined), name
        raw = query(
            url, f"select count(*) from raw.dealer_export__{obj} where _batch_id = %s", (batch,)
        )
        bad = query(url, "select count(*) from ops.quarantine where batch_id = %s", (batch,))
        assert (raw[0][0], bad[0][0]) == (loaded, quarantined), f"{code}/{name}"
        # no row-level unique index guards the raw rows: each data row of the file is in raw
        # or in quarantine once, under its own number 1..rows_in
        numbers = [
            number
            for (number,) in query(
                url,
                f"select _row_number from raw.dealer_export__{obj} where _batch_id = %s"
                " union all select row_number from ops.quarantine where batch_id = %s",
                (batch, batch),
            )
        ]
        if None not in numbers:  # an unreadable workbook's one record has no row number
            assert sorted(numbers) == list(range(1, rows_in + 1)), f"{code}/{name}"


def files_by_name(report: dict) -> dict[str, dict]:
    return {
        f"{code}/{entry['file']}": entry
        for code, dealer in report["dealers"].items()
        for entry in dealer["files"]
    }


def test_load_a_hand_written_landing_folder(clean_warehouse, tmp_path, caplog) -> None:
    url = clean_warehouse
    landing = write_landing(tmp_path / "landing")
    with caplog.at_level(logging.WARNING, logger="dealerfunnel.landing.files"):
        report = load_landing(url, landing)
    json.dumps(report)  # XCom-ready

    counts = ("status", "rows_in", "rows_loaded", "rows_quarantined")
    by_file = {name: tuple(e[c] for c in counts) for name, e in files_by_name(report).items()}
    assert by_file == {
        "SH001/Stage_Events_2026-05.CSV": ("loaded", 5, 3, 2),
        "SH001/followups_legacy.csv": ("rejected", 2, 0, 2),
        "SH001/leads_2026-05.csv": ("loaded", 7, 3, 4),
        "SH002/leads_gbk.csv": ("loaded", 1, 1, 0),  # GBK is read as GB18030
        "UR001/followups_2026-05.csv": ("loaded", 2, 2, 0),
        "ZZ999/leads.csv": ("loaded", 1, 1, 0),
    }
    assert report["unregistered_dealers"] == ["ZZ999"]
    assert report["dealers"]["ZZ999"]["is_registered"] is False
    assert report["dealers"]["SH001"]["is_registered"] is True
    assert report["dealers"]["UR001"]["timezone"] == "Asia/Urumqi"
    assert report["ignored"] == ["SH001/.leads_partial.csv", "SH001/readme.txt", "notes.txt"]
    assert report["totals"] == {
        "dealers": 4,
        "files": 6,
        "files_loaded": 5,
        "files_rejected": 1,
        "files_empty": 0,
        "files_duplicate": 0,
        "files_skipped": 0,
        "rows_in": 18,
        "rows_loaded": 10,
        "rows_quarantined": 8,
        "refused": 0,
    }
    assert any("ZZ999" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)

    assert raw_counts(url) == {
        "dealer_export__leads": 5,
        "dealer_export__stage_events": 3,
        "dealer_export__followups": 2,
        "dealer_export__activities": 0,
    }
    reasons = query(
        url,
        "select dealer_code, file_name, row_number, record, reason from ops.quarantine "
        'order by dealer_code, file_name collate "C", row_number',
    )
    assert [(r[1], r[2], r[4]) for r in reasons] == [
        ("Stage_Events_2026-05.CSV", 4, "unknown stage 'foo' for source dealer_export"),
        ("Stage_Events_2026-05.CSV", 5, "unparseable occurred_at: 'not a date'"),
        ("followups_legacy.csv", 1, "missing required column 'occurred_at'"),
        ("followups_legacy.csv", 2, "missing required column 'occurred_at'"),
        ("leads_2026-05.csv", 3, "unparseable created_at: 'yesterday'"),
        ("leads_2026-05.csv", 4, "empty lead_id"),
        ("leads_2026-05.csv", 5, "row has 6 fields, header has 5"),
        ("leads_2026-05.csv", 6, "unparseable assigned_at: '2026-13-45'"),
    ]
    assert reasons[2][3] == {
        "lead_id": "SH001-1",
        "contacted_on": "2026/05/05 10:00",
        "method": "phone",
    }
    assert reasons[6][3] == {
        "fields": ["SH001-5", "2026-05-04 12:00", "", "walk_in", "", "surplus"]
    }
    assert_conserved(url)

    landed = query(
        url, "select dealer_code, file_name, status, encoding from ops.landed_files order by 1, 2"
    )
    assert ("SH001", "followups_legacy.csv", "rejected", "utf-8") in landed
    assert ("SH001", "Stage_Events_2026-05.CSV", "loaded", "utf-8-sig") in landed
    assert ("SH002", "leads_gbk.csv", "loaded", "gb18030") in landed
    lines = query(
        url,
        "select line_number, raw_text from ops.quarantine"
        " where file_name = 'leads_2026-05.csv' order by row_number",
    )
    assert lines == [
        (4, "SH001-3,yesterday,,walk_in,"),
        (5, ",2026-05-04 11:00,,walk_in,"),
        (6, "SH001-5,2026-05-04 12:00,,walk_in,,surplus"),
        (7, "SH001-6,2026-05-04T09:30:00Z,2026-13-45,referral,"),
    ]
    batches = query(url, "select status, detail->>'reason' from ops.load_batches order by 1, 2")
    assert ("rejected", "missing required column 'occurred_at'") in batches


def test_typed_columns_payload_and_metadata(clean_warehouse, tmp_path) -> None:
    url = clean_warehouse
    report = load_landing(url, write_landing(tmp_path / "landing"))
    leads = query(
        url,
        "select lead_id, created_at, assigned_at, payload, _dealer_code, _source, _batch_id::text,"
        " _extracted_at, _file_name, _file_sha256, _row_number"
        " from raw.dealer_export__leads where _dealer_code = 'SH001' order by _row_number",
    )
    assert [(r[0], r[10]) for r in leads] == [("SH001-1", 1), ("SH001-2", 2), ("SH001-7", 7)]
    first = leads[0]
    assert first[1] == datetime(2026, 5, 4, 1, 30, tzinfo=UTC)  # 09:30 in Asia/Shanghai
    assert first[2] == datetime(2026, 5, 4, 2, 0, tzinfo=UTC)
    assert first[3] == {
        "lead_id": "SH001-1",
        "created_at": "2026-05-04 09:30:00",
        "assigned_at": "2026-05-04 10:00",
        "channel": "meta_lead_ads",
        "utm_source": "facebook",
    }
    entry = files_by_name(report)["SH001/leads_2026-05.csv"]
    assert first[4:7] == ("SH001", "dealer_export", entry["batch_id"])
    assert first[8:10] == ("leads_2026-05.csv", entry["sha256"])
    assert (datetime.now(UTC) - first[7]).total_seconds() < 120
    second = leads[1]
    assert second[1] == datetime(2026, 5, 3, 16, 0, tzinfo=UTC)  # date only: local midnight
    assert second[2] is None
    assert second[3]["assigned_at"] is None and second[3]["utm_source"] is None
    assert leads[2][1] == datetime(2026, 5, 5, 0, 0, tzinfo=UTC)  # +08:00 offset

    stages = query(
        url,
        "select stage, payload->>'stage', occurred_at from raw.dealer_export__stage_events"
        " order by _row_number",
    )
    assert stages == [
        ("potential", "潜在客户", datetime(2026, 5, 4, 1, 30, tzinfo=UTC)),
        ("interested", " Contacted ", datetime(2026, 5, 4, 3, 0, tzinfo=UTC)),
        ("won", "WON", datetime(2026, 5, 19, 16, 0, tzinfo=UTC)),
    ]
    followups = query(
        url,
        "select occurred_at, payload->>'note' from raw.dealer_export__followups order by 1",
    )
    assert followups == [
        (datetime(2026, 5, 4, 3, 30, tzinfo=UTC), 'called, "no" answer'),  # Asia/Urumqi
        (datetime(2026, 5, 4, 18, 0, tzinfo=UTC), None),
    ]


def test_unregistered_dealer_is_registered_with_defaults(clean_warehouse, tmp_path) -> None:
    url = clean_warehouse
    load_landing(url, write_landing(tmp_path / "landing"))
    registry, defaults = load_dealer_registry()
    dealers = {
        row[0]: row[1:]
        for row in query(
            url,
            "select dealer_code, dealer_name, region, brand, timezone, is_registered"
            " from ops.dealers",
        )
    }
    assert sorted(dealers) == sorted([*registry, "ZZ999"])
    assert dealers["ZZ999"] == ("ZZ999", defaults.region, defaults.brand, defaults.timezone, False)
    sh001 = registry["SH001"]
    assert dealers["SH001"] == (sh001.dealer_name, sh001.region, sh001.brand, sh001.timezone, True)


def test_register_dealers(clean_warehouse) -> None:
    url = clean_warehouse
    assert register_dealers(url, ["SH001", "NEW2", "NEW1", "NEW1"]) == ["NEW1", "NEW2"]
    before = query(url, "select * from ops.dealers order by 1")
    assert register_dealers(url, ["NEW1"]) == ["NEW1"]
    assert query(url, "select * from ops.dealers order by 1") == before  # nothing touched
    query(url, "update ops.dealers set region = 'stale' where dealer_code = 'SH001' returning 1")
    register_dealers(url, [])
    assert query(url, "select region from ops.dealers where dealer_code = 'SH001'") == [("East",)]


def test_second_run_changes_nothing(clean_warehouse, tmp_path) -> None:
    url = clean_warehouse
    landing = write_landing(tmp_path / "landing")
    first = load_landing(url, landing)
    before = state(url)
    second = load_landing(url, landing)
    assert state(url) == before
    assert {e["status"] for e in files_by_name(second).values()} == {"skipped_already_loaded"}
    assert {k: e["batch_id"] for k, e in files_by_name(second).items()} == {
        k: e["batch_id"] for k, e in files_by_name(first).items()
    }
    assert second["totals"]["files_skipped"] == 6
    assert second["totals"]["rows_in"] == second["totals"]["rows_loaded"] == 0
    assert second["unregistered_dealers"] == ["ZZ999"]

    # the same bytes under another name are the same file; new bytes are a new file
    copy = landing / "SH001" / "leads_copy.csv"
    copy.write_text(LEADS, encoding="utf-8")
    (landing / "SH001" / "leads_2026-06.csv").write_text(
        "lead_id,created_at\nSH001-8,2026-06-01 10:00\n", encoding="utf-8"
    )
    third = files_by_name(load_landing(url, landing))
    assert third["SH001/leads_copy.csv"]["status"] == "duplicate"
    assert third["SH001/leads_copy.csv"]["duplicate_of"] == "leads_2026-05.csv"
    assert third["SH001/leads_2026-06.csv"]["status"] == "loaded"
    assert raw_counts(url)["dealer_export__leads"] == 6
    assert_conserved(url)


@pytest.mark.parametrize("set_based", [True, False])
def test_a_crash_mid_file_leaves_nothing_and_the_rerun_loads_it_once(
    clean_warehouse, tmp_path, monkeypatch, set_based
) -> None:
    url = clean_warehouse
    landing = write_landing(tmp_path / "landing")
    real_copy, real_bulk = landing_files._copy_rows, landing_files.bulk.load

    def crash_in_stage_events(cur, table, columns, rows):
        if "stage_events" not in table.as_string(cur):
            return real_copy(cur, table, columns, rows)

        def some_rows_then_crash():
            for number, row in enumerate(rows):
                if number == 2:
                    raise RuntimeError("simulated crash while copying")
                yield row

        return real_copy(cur, table, columns, some_rows_then_crash())

    def crash_after_the_set_based_insert(cur, found, obj, target):
        result = real_bulk(cur, found, obj, target)  # the raw rows are written...
        if obj == "stage_events":
            raise RuntimeError("simulated crash after the insert")  # ...and never committed
        return result

    if set_based:
        monkeypatch.setattr(landing_files.bulk, "load", crash_after_the_set_based_insert)
    else:
        monkeypatch.setattr(landing_files, "_copy_rows", crash_in_stage_events)
    with pytest.raises(RuntimeError, match="simulated crash"):
        load_landing(url, landing, set_based=set_based, workers=1)  # dealers in sorted order
    # files are loaded in sorted order: SH001/Stage_Events... sorts first, so nothing landed
    assert raw_counts(url)["dealer_export__stage_events"] == 0
    assert query(url, "select count(*) from ops.landed_files")[0][0] == 0
    assert query(url, "select count(*) from ops.load_batches")[0][0] == 0
    assert query(url, "select count(*) from ops.quarantine")[0][0] == 0

    monkeypatch.setattr(landing_files, "_copy_rows", real_copy)
    monkeypatch.setattr(landing_files.bulk, "load", real_bulk)
    report = load_landing(url, landing, set_based=set_based)
    assert report["totals"]["files_loaded"] + report["totals"]["files_rejected"] == 6
    assert raw_counts(url) == {
        "dealer_export__leads": 5,
        "dealer_export__stage_events": 3,
        "dealer_export__followups": 2,
        "dealer_export__activities": 0,
    }
    assert query(url, "select count(*) from ops.quarantine")[0][0] == 8
    assert_conserved(url)


@pytest.mark.parametrize("set_based", [True, False])
def test_a_crash_after_some_files_keeps_the_committed_ones(
    clean_warehouse, tmp_path, monkeypatch, set_based
) -> None:
    url = clean_warehouse
    landing = write_landing(tmp_path / "landing")
    real_copy, real_bulk = landing_files._copy_rows, landing_files.bulk.load

    def crash_in_followups(cur, table, columns, rows):
        if "followups" in table.as_string(cur):
            raise RuntimeError("simulated crash")
        return real_copy(cur, table, columns, rows)

    def crash_in_set_based_followups(cur, found, obj, target):
        if obj == "followups":
            raise RuntimeError("simulated crash")
        return real_bulk(cur, found, obj, target)

    if set_based:
        monkeypatch.setattr(landing_files.bulk, "load", crash_in_set_based_followups)
    else:
        monkeypatch.setattr(landing_files, "_copy_rows", crash_in_followups)
    with pytest.raises(RuntimeError):
        load_landing(url, landing, set_based=set_based, workers=1)
    # in sorted order, the files before UR001/followups_2026-05.csv committed; it did not
    landed = query(
        url,
        "select dealer_code || '/' || file_name from ops.landed_files"
        ' order by dealer_code, file_name collate "C"',
    )
    assert [name for (name,) in landed] == [
        "SH001/Stage_Events_2026-05.CSV",
        "SH001/followups_legacy.csv",  # rejected: no raw COPY, so no crash
        "SH001/leads_2026-05.csv",
        "SH002/leads_gbk.csv",
    ]
    assert raw_counts(url)["dealer_export__followups"] == 0
    monkeypatch.setattr(landing_files, "_copy_rows", real_copy)
    monkeypatch.setattr(landing_files.bulk, "load", real_bulk)
    report = load_landing(url, landing, set_based=set_based)
    statuses = {k: e["status"] for k, e in files_by_name(report).items()}
    assert statuses["SH001/Stage_Events_2026-05.CSV"] == "skipped_already_loaded"
    assert raw_counts(url)["dealer_export__stage_events"] == 3
    assert query(url, "select count(*) from ops.landed_files")[0][0] == 6
    assert_conserved(url)


def test_concurrent_loaders_load_each_file_once(clean_warehouse, tmp_path) -> None:
    url = clean_warehouse
    landing = write_landing(tmp_path / "landing")
    reports: list[dict] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            reports.append(load_landing(url, landing))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    statuses = [e["status"] for r in reports for e in files_by_name(r).values()]
    assert len(statuses) == 18
    assert len([s for s in statuses if s != "skipped_already_loaded"]) == 6
    assert raw_counts(url) == {
        "dealer_export__leads": 5,
        "dealer_export__stage_events": 3,
        "dealer_export__followups": 2,
        "dealer_export__activities": 0,
    }
    assert query(url, "select count(*) from ops.load_batches")[0][0] == 6
    assert_conserved(url)


def test_missing_landing_folder_loads_nothing(clean_warehouse, tmp_path) -> None:
    report = load_landing(clean_warehouse, tmp_path / "absent")
    assert report["totals"]["files"] == 0
    assert query(clean_warehouse, "select count(*) from ops.dealers")[0][0] == 6


def test_load_the_synthetic_group(clean_warehouse, tmp_path) -> None:
    url = clean_warehouse
    landing = tmp_path / "landing"
    manifest = generate(landing, n_leads=2000)
    report = load_landing(url, landing)

    expected = manifest["expected"]
    totals = report["totals"]
    assert totals["rows_in"] == manifest["totals"]["rows"]
    assert (totals["rows_loaded"], totals["rows_quarantined"]) == (
        expected["rows_loaded"],
        expected["rows_quarantined"],
    )
    assert totals["files"] == manifest["totals"]["files"]
    assert totals["files_rejected"] == 1
    assert (
        sum(raw_counts(url, RAW_TABLES + SURVEY_TARGET_TABLES).values()) == expected["rows_loaded"]
    )
    assert raw_counts(url)["dealer_export__leads"] == 2000
    assert query(url, "select count(*) from ops.quarantine")[0][0] == expected["rows_quarantined"]
    by_reason = dict(
        query(
            url,
            "select split_part(split_part(reason, ':', 1), ' ''', 1), count(*)"
            " from ops.quarantine group by 1",
        )
    )
    assert by_reason == {
        "unparseable created_at": 4,
        "unparseable occurred_at": 6,
        "unknown stage": 10,
        "missing required column": 5,
        "score 11 out of range 0-10": 2,
        "unknown metric": 1,
    }
    rejected = query(
        url, "select dealer_code, file_name from ops.landed_files where status = 'rejected'"
    )
    assert [f"{d}/{f}" for d, f in rejected] == manifest["rejected_files"]
    assert report["unregistered_dealers"] == ["NB001"] == manifest["unregistered_dealers"]
    assert query(url, "select is_registered from ops.dealers where dealer_code = 'NB001'") == [
        (False,)
    ]
    assert_conserved(url)

    # regenerating rewrites identical bytes: the next load skips everything
    generate(landing, n_leads=2000)
    again = load_landing(url, landing)
    assert again["totals"]["files_skipped"] == manifest["totals"]["files"]
    assert (
        sum(raw_counts(url, RAW_TABLES + SURVEY_TARGET_TABLES).values()) == expected["rows_loaded"]
    )


SURVEYS = """\
lead_id,occurred_at,score,kind,scale_max,comment
SH001-1,2026-05-25 10:00,9,purchase,,很满意
SH001-1,2026-06-20 10:00,4, After_Sales ,5,
SH001-2,2026-05-26,11,purchase,,typo
SH001-3,2026-05-26,8,warranty,,
SH001-4,2026-05-27,,purchase,,
SH001-5,2026-05-27,7.5,,0,
SH001-6,2026-05-28,3,,,
"""
TARGETS = """\
month,metric,target,consultant
2026-05,leads,120,
2026-05-01,won,"1,000", 王 芳
2026-05-15,leads,10,
2026-06,test_drives,40,
2026-13,won,3,
2026-06,amount,-5,
2026-06,amount,2500000.50,
"""


def test_surveys_and_targets_land_with_their_checks(clean_warehouse, tmp_path) -> None:
    """surveys*.csv / targets*.csv: typed, defaulted, checked; bad rows quarantined with their
    reason and line; rows in = loaded + quarantined per file."""
    url = clean_warehouse
    folder = tmp_path / "landing" / "SH001"
    folder.mkdir(parents=True)
    (folder / "Surveys_2026-05.csv").write_text(SURVEYS, encoding="utf-8")
    (folder / "targets_2026.csv").write_text(TARGETS, encoding="utf-8")
    report = load_landing(url, tmp_path / "landing")

    counts = ("object", "status", "rows_in", "rows_loaded", "rows_quarantined")
    by_file = {name: tuple(e[c] for c in counts) for name, e in files_by_name(report).items()}
    assert by_file == {
        "SH001/Surveys_2026-05.csv": ("surveys", "loaded", 7, 3, 4),
        "SH001/targets_2026.csv": ("targets", "loaded", 7, 3, 4),
    }
    assert_conserved(url)
    surveys = query(
        url,
        "select lead_id, occurred_at, score, scale_max, kind, payload->>'comment'"
        " from raw.dealer_export__surveys order by _row_number",
    )
    assert surveys == [
        ("SH001-1", datetime(2026, 5, 25, 2, 0, tzinfo=UTC), 9, 10, "purchase", "很满意"),
        ("SH001-1", datetime(2026, 6, 20, 2, 0, tzinfo=UTC), 4, 5, "after_sales", None),
        ("SH001-6", datetime(2026, 5, 27, 16, 0, tzinfo=UTC), 3, 10, None, None),
    ]
    targets = query(
        url,
        "select month, metric, target, consultant from raw.dealer_export__targets"
        " order by _row_number",
    )
    assert targets == [
        (date(2026, 5, 1), "leads", 120, None),
        (date(2026, 5, 1), "won", 1000, "王 芳"),
        (date(2026, 6, 1), "amount", Decimal("2500000.50"), None),
    ]
    bad = query(
        url,
        "select object, line_number, raw_text, reason from ops.quarantine"
        " order by object, line_number",
    )
    assert bad == [
        ("surveys", 4, "SH001-2,2026-05-26,11,purchase,,typo", "score 11 out of range 0-10"),
        (
            "surveys",
            5,
            "SH001-3,2026-05-26,8,warranty,,",
            "unknown kind 'warranty' (one of purchase, after_sales)",
        ),
        ("surveys", 6, "SH001-4,2026-05-27,,purchase,,", "empty score"),
        ("surveys", 7, "SH001-5,2026-05-27,7.5,,0,", "scale_max must be above 0: '0'"),
        (
            "targets",
            4,
            "2026-05-15,leads,10,",
            "month: not a month (YYYY-MM): '2026-05-15' is not the first day",
        ),
        (
            "targets",
            5,
            "2026-06,test_drives,40,",
            "unknown metric 'test_drives' (one of leads, interested, won, amount)",
        ),
        ("targets", 6, "2026-13,won,3,", "month: not a month (YYYY-MM): '2026-13'"),
        ("targets", 7, "2026-06,amount,-5,", "negative target: '-5'"),
    ]
    # a second run loads nothing again (hash-once)
    again = load_landing(url, tmp_path / "landing")
    assert again["totals"]["files_skipped"] == 2
    assert raw_counts(url, SURVEY_TARGET_TABLES) == {
        "dealer_export__surveys": 3,
        "dealer_export__targets": 3,
    }


def test_unchanged_files_are_listed_without_being_read(clean_warehouse, tmp_path, monkeypatch):
    """The listing skips a file whose stat matches the one taken when it was loaded; a file
    rewritten (same size, new bytes) or whose landed row is gone is read and hashed again."""
    url = clean_warehouse
    landing = write_landing(tmp_path / "landing")
    monkeypatch.setattr(landing_files, "STAT_SETTLE_NS", 0)  # trust stats taken at once
    first = load_landing(url, landing)
    assert first["totals"]["files"] == 6
    listing = landing_files.list_landing(url, landing)
    assert listing["work"] == []
    unchanged = {
        f"{c}/{e['file']}": e for c, d in listing["dealers"].items() for e in d["unchanged"]
    }
    assert {k: (e["status"], e["batch_id"]) for k, e in unchanged.items()} == {
        k: ("skipped_already_loaded", e["batch_id"]) for k, e in files_by_name(first).items()
    }

    def no_reading(path):
        raise AssertionError(f"{path} was read")

    monkeypatch.setattr(landing_files, "read_landing_file", no_reading)
    again = load_landing(url, landing)
    assert again["totals"]["files_skipped"] == 6
    assert again["totals"]["rows_in"] == 0
    assert {k: e["sha256"] for k, e in files_by_name(again).items()} == {
        k: e["sha256"] for k, e in files_by_name(first).items()
    }
    # rehash=True reads every file again (and skips each by its hash)
    with pytest.raises(AssertionError, match="was read"):
        load_landing(url, landing, rehash=True)
    monkeypatch.undo()
    monkeypatch.setattr(landing_files, "STAT_SETTLE_NS", 0)

    # same name, same size, new bytes: listed, read, loaded as new content
    target = landing / "SH002" / "leads_gbk.csv"
    before = target.read_bytes()
    target.write_bytes(before.replace(b"2026-05-04", b"2026-05-03"))
    assert len(target.read_bytes()) == len(before) and target.read_bytes() != before
    # a landed row removed (a reset of ops): its file is read again
    query(url, "delete from ops.landed_files where file_name = 'followups_legacy.csv' returning 1")
    listing = landing_files.list_landing(url, landing)
    assert [(w["dealer_code"], [f["file"] for f in w["files"]]) for w in listing["work"]] == [
        ("SH001", ["followups_legacy.csv"]),
        ("SH002", ["leads_gbk.csv"]),
    ]
    third = files_by_name(load_landing(url, landing))
    assert third["SH002/leads_gbk.csv"]["status"] == "loaded"
    assert third["SH001/followups_legacy.csv"]["status"] == "rejected"  # loaded again
    assert third["SH001/leads_2026-05.csv"]["status"] == "skipped_already_loaded"


def test_a_file_changed_just_before_its_stat_is_never_trusted(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text("lead_id,created_at\n", encoding="utf-8")
    assert landing_files.file_fingerprint(path) is None  # written now: could change unseen
    settled = landing_files.file_fingerprint(path, now_ns=10**19)
    size, *_ = settled.split(":")
    assert int(size) == len("lead_id,created_at\n")

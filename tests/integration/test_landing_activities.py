"""activities*.csv and the follow-up columns outcome / grade / purpose / recorded_at (DESIGN.md
section 3) through the real loader into a real PostgreSQL: good rows land typed, bad rows go to
quarantine with their reason, and every file keeps rows in = loaded + quarantined."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg

from dealerfunnel.landing import load_landing

# SH001 is in Asia/Shanghai (UTC+8): a timestamp without an offset is local time.
ACTIVITIES = """\
lead_id,activity,occurred_at,consultant,outcome,detail,extra_column
SH001-1,appointment,2026-05-05 10:00,王芳,show,,x
SH001-1, Test_Drive ,2026-05-05 11:00,王芳,,Aurora A3,
SH001-1,delivered,2026-05-20 15:30,王芳,,,
SH001-2,oil_change,2026-05-06 10:00,,,,
SH001-3,delivered,not a date,,,,
,quote,2026-05-06 10:00,,,,
"""
# rows 1-3 land; row 4: an activity outside the contract; row 5: a bad time; row 6: no lead id
FOLLOWUPS = """\
lead_id,occurred_at,method,consultant,note,outcome,grade,purpose,recorded_at
SH001-1,2026-05-04 10:00,phone,王芳,,no_answer,,sales,2026-05-04 10:05
SH001-1,2026-05-04 11:00,phone,王芳,,reached,b,Sales,
SH001-1,2026-05-21 10:00,phone,王芳,交车回访,reached,,after_sales,2026-05-22 09:00
SH001-1,2026-05-22 10:00,phone,王芳,,reached,,marketing,
SH001-1,2026-05-23 10:00,phone,王芳,,reached,,,2026-13-01
"""
# rows 1-3 land; row 4: an unknown purpose; row 5: an unparseable recorded_at
ACTIVITIES_WITHOUT_ACTIVITY = """\
lead_id,occurred_at
SH001-1,2026-05-05 10:00
"""


def _landing(root: Path) -> Path:
    (root / "SH001").mkdir(parents=True)
    (root / "SH001" / "activities_2026-05.csv").write_text(ACTIVITIES, encoding="utf-8")
    (root / "SH001" / "Activities_old.CSV").write_text(ACTIVITIES_WITHOUT_ACTIVITY, "utf-8")
    (root / "SH001" / "followups_2026-05.csv").write_text(FOLLOWUPS, encoding="utf-8")
    return root


def _rows(url: str, statement: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(statement).fetchall()


def test_activities_and_followup_columns_land_or_are_quarantined(clean_warehouse, tmp_path):
    url = clean_warehouse
    report = load_landing(url, _landing(tmp_path / "landing"))

    files = {f["file"]: f for f in report["dealers"]["SH001"]["files"]}
    assert {name: (f["object"], f["status"]) for name, f in files.items()} == {
        "Activities_old.CSV": ("activities", "rejected"),
        "activities_2026-05.csv": ("activities", "loaded"),
        "followups_2026-05.csv": ("followups", "loaded"),
    }
    counts = {
        name: (f["rows_in"], f["rows_loaded"], f["rows_quarantined"]) for name, f in files.items()
    }
    assert counts == {
        "Activities_old.CSV": (1, 0, 1),
        "activities_2026-05.csv": (6, 3, 3),
        "followups_2026-05.csv": (5, 3, 2),
    }
    for name, (rows_in, loaded, quarantined) in counts.items():
        assert rows_in == loaded + quarantined, name
    # ops.landed_files says the same
    landed = _rows(
        url,
        "select file_name, rows_in, rows_loaded, rows_quarantined from ops.landed_files"
        " order by file_name",
    )
    assert [(n, *c) for n, c in sorted(counts.items())] == landed

    activities = _rows(
        url,
        "select lead_id, activity, occurred_at, payload ->> 'outcome', payload ->> 'extra_column'"
        " from raw.dealer_export__activities order by _row_number",
    )
    assert activities == [
        # 10:00 in Shanghai = 02:00 UTC; the activity trimmed and lower-cased; columns kept
        ("SH001-1", "appointment", datetime(2026, 5, 5, 2, tzinfo=UTC), "show", "x"),
        ("SH001-1", "test_drive", datetime(2026, 5, 5, 3, tzinfo=UTC), None, None),
        ("SH001-1", "delivered", datetime(2026, 5, 20, 7, 30, tzinfo=UTC), None, None),
    ]
    followups = _rows(
        url,
        "select occurred_at, recorded_at, payload ->> 'outcome', payload ->> 'grade',"
        " payload ->> 'purpose' from raw.dealer_export__followups order by _row_number",
    )
    assert followups == [
        (datetime(2026, 5, 4, 2, tzinfo=UTC), datetime(2026, 5, 4, 2, 5, tzinfo=UTC),
         "no_answer", None, "sales"),
        (datetime(2026, 5, 4, 3, tzinfo=UTC), None, "reached", "b", "Sales"),
        (datetime(2026, 5, 21, 2, tzinfo=UTC), datetime(2026, 5, 22, 1, tzinfo=UTC),
         "reached", None, "after_sales"),
    ]  # fmt: skip

    quarantine = _rows(
        url,
        "select file_name, row_number, line_number, reason from ops.quarantine"
        " order by file_name, row_number",
    )
    assert quarantine == [
        ("Activities_old.CSV", 1, 2, "missing required column 'activity'"),
        ("activities_2026-05.csv", 4, 5, "unknown activity 'oil_change'"),
        ("activities_2026-05.csv", 5, 6, "unparseable occurred_at: 'not a date'"),
        ("activities_2026-05.csv", 6, 7, "empty lead_id"),
        ("followups_2026-05.csv", 4, 5, "unknown purpose 'marketing'"),
        ("followups_2026-05.csv", 5, 6, "unparseable recorded_at: '2026-13-01'"),
    ]


def test_the_registry_manager_reaches_ops_dealers(clean_warehouse, tmp_path):
    url = clean_warehouse
    root = tmp_path / "landing"
    (root / "ZZ001").mkdir(parents=True)
    (root / "ZZ001" / "leads.csv").write_text("lead_id,created_at\nZ1,2026-05-04\n", "utf-8")
    load_landing(url, root)
    managers = dict(_rows(url, "select dealer_code, manager from ops.dealers"))
    # config/dealers.yml names a manager for SH001, none for UR001; an unregistered dealer none
    assert managers["SH001"] == "Zhou Min"
    assert managers["UR001"] is None
    assert managers["ZZ001"] is None

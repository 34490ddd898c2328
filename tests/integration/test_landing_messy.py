"""Messy landing files (issue #11): every defect as a test, and a seeded fuzz test.

Each test loads a landing folder into a real PostgreSQL and checks, per file, that
``rows_in = rows_loaded + rows_quarantined`` (in the report, ``ops.landed_files``, the raw
table and ``ops.quarantine``) and that every quarantined row has a reason, a line number and
its raw text.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from dealerfunnel.landing import load_landing
from dealerfunnel.landing.files import LandingLimits

HEADER = "lead_id,created_at,channel,customer_name,note\n"


def query(url: str, statement: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(statement, params).fetchall()


def entries(report: dict) -> dict[str, dict]:
    return {
        f"{code}/{e['file']}": e
        for code, dealer in report["dealers"].items()
        for e in dealer["files"]
    }


def check_conserved(url: str, report: dict) -> None:
    """Per file: rows_in = loaded + quarantined everywhere; quarantine rows are complete."""
    for where, entry in entries(report).items():
        if entry["status"] in ("duplicate", "skipped_already_loaded"):
            assert entry["rows_in"] == entry["rows_loaded"] == entry["rows_quarantined"] == 0
            continue
        assert entry["rows_in"] == entry["rows_loaded"] + entry["rows_quarantined"], where
        landed = query(
            url,
            "select rows_in, rows_loaded, rows_quarantined from ops.landed_files"
            " where batch_id = %s and duplicate_of is null",
            (entry["batch_id"],),
        )
        assert landed == [(entry["rows_in"], entry["rows_loaded"], entry["rows_quarantined"])]
        obj = entry["object"]
        raw = query(
            url,
            f"select count(*) from raw.dealer_export__{obj} where _batch_id = %s",
            (entry["batch_id"],),
        )[0][0]
        bad = query(
            url,
            "select reason, line_number, raw_text from ops.quarantine where batch_id = %s",
            (entry["batch_id"],),
        )
        assert (raw, len(bad)) == (entry["rows_loaded"], entry["rows_quarantined"]), where
        for reason, line, text in bad:
            assert reason and line and line >= 2 and text is not None, (where, reason, line)


def bad_rows(url: str, file_name: str) -> list[tuple]:
    return query(
        url,
        "select line_number, reason, raw_text, raw_length, record from ops.quarantine"
        " where file_name = %s order by line_number",
        (file_name,),
    )


def loaded_ids(url: str, obj: str = "leads") -> list[str]:
    return [r[0] for r in query(url, f"select lead_id from raw.dealer_export__{obj} order by 1")]


def landing(tmp_path: Path, files: dict[str, bytes | str]) -> Path:
    root = tmp_path / "landing"
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode("utf-8")
        path.write_bytes(content)
    return root


# -- row-level recovery ---------------------------------------------------------------------


def test_a_1mb_field_quarantines_only_its_row(clean_warehouse, tmp_path) -> None:
    big = "x" * (1024 * 1024)
    root = landing(
        tmp_path,
        {
            "SH001/leads_big.csv": HEADER
            + "L1,2026-05-04,walk_in,,ok\n"
            + f"L2,2026-05-04,walk_in,,{big}\n"
            + "L3,2026-05-04,walk_in,,ok\n"
        },
    )
    report = load_landing(clean_warehouse, root)
    entry = entries(report)["SH001/leads_big.csv"]
    assert (entry["status"], entry["rows_in"], entry["rows_loaded"]) == ("loaded", 3, 2)
    [(line, reason, text, length, record)] = bad_rows(clean_warehouse, "leads_big.csv")
    assert line == 3
    assert reason == f"field over the size limit: note has {len(big)} characters (limit 65536)"
    assert text == f"L2,2026-05-04,walk_in,,{big}"[:4096]
    assert length == len(big) + len("L2,2026-05-04,walk_in,,")
    assert record is None
    assert loaded_ids(clean_warehouse) == ["L1", "L3"]
    check_conserved(clean_warehouse, report)


def test_an_unterminated_quote_mid_file(clean_warehouse, tmp_path) -> None:
    root = landing(
        tmp_path,
        {
            "SH001/leads_quote.csv": HEADER
            + "L1,2026-05-04,walk_in,,ok\n"
            + 'L2,"2026-05-04,walk_in,,forgot to close\n'
            + "L3,2026-05-04,walk_in,,ok\n"
            + 'L4,2026-05-04,walk_in,"王, 芳","a ""quoted"" note"\n'
            + 'L5,2026-05-04,walk_in,,"two\nlines"\n'
        },
    )
    report = load_landing(clean_warehouse, root)
    entry = entries(report)["SH001/leads_quote.csv"]
    assert (entry["rows_in"], entry["rows_loaded"], entry["rows_quarantined"]) == (5, 4, 1)
    [(line, reason, text, _, record)] = bad_rows(clean_warehouse, "leads_quote.csv")
    assert line == 3
    assert reason.startswith("unterminated quote: closing it on line 5")
    assert text == 'L2,"2026-05-04,walk_in,,forgot to close'
    assert record is None
    assert loaded_ids(clean_warehouse) == ["L1", "L3", "L4", "L5"]
    payload = query(
        clean_warehouse, "select payload from raw.dealer_export__leads where lead_id = 'L4'"
    )
    assert payload[0][0]["customer_name"] == "王, 芳"
    assert payload[0][0]["note"] == 'a "quoted" note'
    check_conserved(clean_warehouse, report)


def test_an_unterminated_quote_at_the_end_of_the_file(clean_warehouse, tmp_path) -> None:
    root = landing(
        tmp_path,
        {
            "SH001/leads_eof.csv": HEADER
            + "L1,2026-05-04,walk_in,,ok\n"
            + 'L2,2026-05-04,walk_in,,"never closed\n'
            + "L3,2026-05-04,walk_in,,ok\n"
            + "L4,2026-05-04,walk_in,,ok"  # no final line break either
        },
    )
    report = load_landing(clean_warehouse, root)
    entry = entries(report)["SH001/leads_eof.csv"]
    assert (entry["rows_in"], entry["rows_loaded"], entry["rows_quarantined"]) == (4, 3, 1)
    [(line, reason, text, _, _)] = bad_rows(clean_warehouse, "leads_eof.csv")
    assert (line, text) == (3, 'L2,2026-05-04,walk_in,,"never closed')
    assert reason == "unterminated quote: no closing quote before the end of the file"
    assert loaded_ids(clean_warehouse) == ["L1", "L3", "L4"]
    check_conserved(clean_warehouse, report)


def test_ragged_rows(clean_warehouse, tmp_path) -> None:
    root = landing(
        tmp_path,
        {
            "SH001/leads_ragged.csv": HEADER
            + "L1,2026-05-04,walk_in,,ok\n"
            + "L2,2026-05-04,walk_in\n"
            + "L3,2026-05-04,walk_in,,ok,surplus,more\n"
            + "L4,2026-05-04,walk_in,,ok\n"
        },
    )
    report = load_landing(clean_warehouse, root)
    assert entries(report)["SH001/leads_ragged.csv"]["rows_quarantined"] == 2
    rows = bad_rows(clean_warehouse, "leads_ragged.csv")
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (3, "row has 3 fields, header has 5", "L2,2026-05-04,walk_in"),
        (4, "row has 7 fields, header has 5", "L3,2026-05-04,walk_in,,ok,surplus,more"),
    ]
    assert rows[0][4] == {"fields": ["L2", "2026-05-04", "walk_in"]}
    assert loaded_ids(clean_warehouse) == ["L1", "L4"]
    check_conserved(clean_warehouse, report)


def test_a_nul_byte(clean_warehouse, tmp_path) -> None:
    root = landing(
        tmp_path,
        {
            "SH001/leads_nul.csv": HEADER
            + "L1,2026-05-04,walk_in,,ok\n"
            + "L2,2026-05-04,walk_in,,bad\x00byte\n"
            + "L3,2026-05-04,walk_in,,ok\n"
        },
    )
    report = load_landing(clean_warehouse, root)
    [(line, reason, text, length, record)] = bad_rows(clean_warehouse, "leads_nul.csv")
    assert (line, reason) == (3, "NUL character in note")
    assert text == "L2,2026-05-04,walk_in,,bad\ufffdbyte"  # PostgreSQL cannot store NUL
    assert length == len(text)
    assert record["note"] == "bad\ufffdbyte"
    assert loaded_ids(clean_warehouse) == ["L1", "L3"]
    check_conserved(clean_warehouse, report)


# -- encodings ------------------------------------------------------------------------------


def test_a_gbk_file_with_chinese_names(clean_warehouse, tmp_path) -> None:
    text = (
        "lead_id,created_at,channel,customer_name,consultant\r\n"
        "SH002-1,2026-05-04 09:30,汽车之家,李雷,王芳\r\n"
        "SH002-2,2026-05-04 10:00,懂车帝,韩梅梅,张伟\r\n"
        "SH002-3,明天,易车,赵敏,张伟\r\n"
    )
    root = landing(tmp_path, {"SH002/leads_gbk.csv": text.encode("gbk")})
    report = load_landing(clean_warehouse, root)
    entry = entries(report)["SH002/leads_gbk.csv"]
    assert (entry["status"], entry["encoding"]) == ("loaded", "gb18030")
    assert (entry["rows_in"], entry["rows_loaded"], entry["rows_quarantined"]) == (3, 2, 1)
    payloads = query(
        clean_warehouse, "select payload from raw.dealer_export__leads order by lead_id"
    )
    assert [(p["customer_name"], p["consultant"], p["channel"]) for (p,) in payloads] == [
        ("李雷", "王芳", "汽车之家"),
        ("韩梅梅", "张伟", "懂车帝"),
    ]
    [(line, reason, raw, _, _)] = bad_rows(clean_warehouse, "leads_gbk.csv")
    assert (line, reason, raw) == (
        4,
        "unparseable created_at: '明天'",
        "SH002-3,明天,易车,赵敏,张伟",
    )
    assert query(clean_warehouse, "select encoding from ops.landed_files") == [("gb18030",)]
    check_conserved(clean_warehouse, report)


def test_a_doubled_bom(clean_warehouse, tmp_path) -> None:
    bom = b"\xef\xbb\xbf"
    root = landing(
        tmp_path, {"SH001/leads_bom2.csv": bom + bom + b"lead_id,created_at\nL1,2026-05-04\n"}
    )
    report = load_landing(clean_warehouse, root)
    entry = entries(report)["SH001/leads_bom2.csv"]
    assert (entry["status"], entry["encoding"], entry["rows_loaded"]) == ("loaded", "utf-8-sig", 1)
    check_conserved(clean_warehouse, report)


def test_an_undecodable_file_is_rejected_row_by_row(clean_warehouse, tmp_path) -> None:
    data = "lead_id,created_at\nL1,2026-05-04 é\nL2,2026-05-04\n".encode("latin-1")
    report = load_landing(clean_warehouse, landing(tmp_path, {"SH001/leads_latin1.csv": data}))
    entry = entries(report)["SH001/leads_latin1.csv"]
    assert (entry["status"], entry["rows_in"], entry["rows_quarantined"]) == ("rejected", 2, 2)
    assert entry["reason"].startswith(
        "not valid UTF-8 (byte 0xe9 at offset 33, line 2) nor GB18030"
    )
    rows = bad_rows(clean_warehouse, "leads_latin1.csv")
    assert [(r[0], r[2]) for r in rows] == [(2, "L1,2026-05-04 \ufffd"), (3, "L2,2026-05-04")]
    check_conserved(clean_warehouse, report)


# -- landing hygiene ------------------------------------------------------------------------


def test_a_symlinked_file_is_not_followed(clean_warehouse, tmp_path, caplog) -> None:
    root = landing(tmp_path, {"SH001/leads_ok.csv": "lead_id,created_at\nL1,2026-05-04\n"})
    outside = tmp_path / "secret.csv"
    outside.write_text("lead_id,created_at\nSECRET,2026-05-04\n", encoding="utf-8")
    (root / "SH001" / "leads_x.csv").symlink_to("/etc/passwd")
    (root / "SH001" / "leads_y.csv").symlink_to(outside)
    with caplog.at_level(logging.WARNING, logger="dealerfunnel.landing.files"):
        report = load_landing(clean_warehouse, root)
    assert report["refused"] == [
        {"path": "SH001/leads_x.csv", "reason": "symbolic link: not followed"},
        {"path": "SH001/leads_y.csv", "reason": "symbolic link: not followed"},
    ]
    assert list(entries(report)) == ["SH001/leads_ok.csv"]
    assert loaded_ids(clean_warehouse) == ["L1"]
    assert query(clean_warehouse, "select count(*) from ops.quarantine") == [(0,)]
    assert query(clean_warehouse, "select file_name from ops.landed_files") == [("leads_ok.csv",)]
    assert any("leads_x.csv" in r.getMessage() for r in caplog.records)
    check_conserved(clean_warehouse, report)


def test_a_symlinked_dealer_folder_is_not_followed(clean_warehouse, tmp_path) -> None:
    root = landing(tmp_path, {"SH001/leads_ok.csv": "lead_id,created_at\nL1,2026-05-04\n"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "leads.csv").write_text("lead_id,created_at\nX1,2026-05-04\n", encoding="utf-8")
    (root / "XX001").symlink_to(elsewhere, target_is_directory=True)
    report = load_landing(clean_warehouse, root)
    assert report["refused"] == [{"path": "XX001", "reason": "symbolic link: not followed"}]
    assert list(report["dealers"]) == ["SH001"]
    assert query(
        clean_warehouse, "select count(*) from ops.dealers where dealer_code = 'XX001'"
    ) == [(0,)]
    assert loaded_ids(clean_warehouse) == ["L1"]


def test_a_fifo_is_skipped_without_blocking(clean_warehouse, tmp_path) -> None:
    root = landing(tmp_path, {"SH001/leads_ok.csv": "lead_id,created_at\nL1,2026-05-04\n"})
    os.mkfifo(root / "SH001" / "leads_pipe.csv")
    report = load_landing(clean_warehouse, root)
    assert report["refused"] == [
        {
            "path": "SH001/leads_pipe.csv",
            "reason": "not a regular file or folder (fifo, device or socket): not read",
        }
    ]
    assert report["totals"]["refused"] == 1
    assert loaded_ids(clean_warehouse) == ["L1"]
    check_conserved(clean_warehouse, report)


def test_a_byte_identical_copy_leaves_a_trace(clean_warehouse, tmp_path) -> None:
    content = "lead_id,created_at\nL1,2026-05-04\nL2,later\n"
    root = landing(tmp_path, {"SH001/leads_a.csv": content, "SH001/leads_b_copy.csv": content})
    report = load_landing(clean_warehouse, root)
    by_file = entries(report)
    first, copy = by_file["SH001/leads_a.csv"], by_file["SH001/leads_b_copy.csv"]
    assert (first["status"], first["rows_in"]) == ("loaded", 2)
    assert (copy["status"], copy["duplicate_of"], copy["rows_in"]) == (
        "duplicate",
        "leads_a.csv",
        0,
    )
    assert copy["batch_id"] == first["batch_id"]
    assert report["totals"]["files_duplicate"] == 1
    landed = query(
        clean_warehouse,
        "select file_name, status, duplicate_of, rows_in, reason from ops.landed_files order by 1",
    )
    assert landed == [
        ("leads_a.csv", "loaded", None, 2, None),
        (
            "leads_b_copy.csv",
            "duplicate",
            "leads_a.csv",
            0,
            "byte-identical to leads_a.csv: not loaded again",
        ),
    ]
    assert loaded_ids(clean_warehouse) == ["L1"]
    check_conserved(clean_warehouse, report)
    again = load_landing(clean_warehouse, root)  # nothing changes on a re-run
    assert {e["status"] for e in entries(again).values()} == {"skipped_already_loaded"}
    assert query(clean_warehouse, "select count(*) from ops.landed_files") == [(2,)]


def test_a_whitespace_only_file_is_empty(clean_warehouse, tmp_path) -> None:
    root = landing(
        tmp_path,
        {"SH001/leads_blank.csv": " \r\n\t\n  \n", "SH001/followups_zero.csv": b""},
    )
    report = load_landing(clean_warehouse, root)
    by_file = entries(report)
    for where in ("SH001/leads_blank.csv", "SH001/followups_zero.csv"):
        assert (by_file[where]["status"], by_file[where]["rows_in"]) == ("empty", 0)
    assert report["totals"]["files_empty"] == 2
    assert report["totals"]["files_rejected"] == 0
    landed = query(
        clean_warehouse, "select file_name, status, rows_in from ops.landed_files order by 1"
    )
    assert landed == [("followups_zero.csv", "empty", 0), ("leads_blank.csv", "empty", 0)]
    assert query(clean_warehouse, "select count(*) from ops.quarantine") == [(0,)]
    check_conserved(clean_warehouse, report)


def test_dealer_folder_names_are_trimmed_and_case_insensitive(clean_warehouse, tmp_path) -> None:
    root = landing(
        tmp_path,
        {
            "SH001 /leads_a.csv": "lead_id,created_at\nA1,2026-05-04\n",
            "sh001/leads_b.csv": "lead_id,created_at\nB1,2026-05-04\n",
            "zz009/leads.csv": "lead_id,created_at\nZ1,2026-05-04\n",
        },
    )
    report = load_landing(clean_warehouse, root)
    assert sorted(report["dealers"]) == ["SH001", "ZZ009"]
    assert report["dealers"]["SH001"]["folders"] == ["SH001 ", "sh001"]
    assert report["dealers"]["SH001"]["is_registered"] is True
    assert report["unregistered_dealers"] == ["ZZ009"]
    codes = query(
        clean_warehouse, "select distinct _dealer_code from raw.dealer_export__leads order by 1"
    )
    assert codes == [("SH001",), ("ZZ009",)]
    dealers = query(clean_warehouse, "select dealer_code from ops.dealers where not is_registered")
    assert dealers == [("ZZ009",)]
    check_conserved(clean_warehouse, report)


@pytest.mark.parametrize(
    ("folder", "reason"),
    [
        ("a;drop", "dealer folder name may only hold A-Z, a-z, 0-9, '_' and '-'"),
        ("SH 001", "dealer folder name may only hold A-Z, a-z, 0-9, '_' and '-'"),
        ("上海001", "dealer folder name may only hold A-Z, a-z, 0-9, '_' and '-'"),
        ("x" * 40, "dealer folder name longer than 32 characters (40)"),
        ("   ", "dealer folder name is empty after trimming"),
    ],
)
def test_unsafe_dealer_folder_names_are_refused(
    clean_warehouse, tmp_path, caplog, folder: str, reason: str
) -> None:
    root = landing(
        tmp_path,
        {
            f"{folder}/leads.csv": "lead_id,created_at\nBAD1,2026-05-04\n",
            "SH001/leads.csv": "lead_id,created_at\nOK1,2026-05-04\n",
        },
    )
    with caplog.at_level(logging.WARNING, logger="dealerfunnel.landing.files"):
        report = load_landing(clean_warehouse, root)
    assert report["refused"] == [{"path": folder, "reason": reason}]
    assert list(report["dealers"]) == ["SH001"]
    assert loaded_ids(clean_warehouse) == ["OK1"]
    assert any(reason in r.getMessage() for r in caplog.records)


def test_a_path_traversal_name_on_object_storage_is_refused() -> None:
    from dealerfunnel.landing.files import dealer_code_for

    assert dealer_code_for("../x") == (
        None,
        "dealer folder name may only hold A-Z, a-z, 0-9, '_' and '-'",
    )
    assert dealer_code_for(" sh001 ") == ("SH001", None)


# -- time sanity ----------------------------------------------------------------------------


def test_a_future_dated_row_is_quarantined(clean_warehouse, tmp_path) -> None:
    root = landing(
        tmp_path,
        {
            "SH001/leads_future.csv": "lead_id,created_at,assigned_at\n"
            "L1,2026-05-04,\n"
            "L2,2099-01-01,\n"
            "L3,2026-05-04,2099-01-01 10:00\n",
            "SH001/stage_events_future.csv": "lead_id,stage,occurred_at\n"
            "L1,potential,2026-05-04\n"
            "L1,won,2099-01-01T00:00:00Z\n",
        },
    )
    report = load_landing(clean_warehouse, root)
    leads = bad_rows(clean_warehouse, "leads_future.csv")
    assert [(r[0], r[1]) for r in leads] == [
        (3, "timestamp in the future: created_at 2099-01-01 > load time + 10 min"),
        (4, "timestamp in the future: assigned_at 2099-01-01 10:00 > load time + 10 min"),
    ]
    stages = bad_rows(clean_warehouse, "stage_events_future.csv")
    assert [(r[0], r[1]) for r in stages] == [
        (3, "timestamp in the future: occurred_at 2099-01-01T00:00:00Z > load time + 10 min")
    ]
    assert loaded_ids(clean_warehouse) == ["L1"]
    check_conserved(clean_warehouse, report)


def test_clock_skew_is_a_setting_with_a_dealer_override(
    clean_warehouse, tmp_path, monkeypatch
) -> None:
    home = Path(os.environ["DEALERFUNNEL_HOME"])
    project = tmp_path / "dbt_project"
    shutil.copytree(home / "dbt_project" / "seeds", project / "seeds")
    settings = project / "seeds" / "funnel_settings.csv"
    lines = [
        line
        for line in settings.read_text(encoding="utf-8").splitlines()
        if "clock_skew_minutes" not in line
    ]
    lines += [",clock_skew_minutes,5", "SH002,clock_skew_minutes,120"]
    settings.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setenv("DEALERFUNNEL_DBT_PROJECT_DIR", str(project))
    soon = (datetime.now(UTC) + timedelta(minutes=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    content = f"lead_id,created_at\nL1,{soon}\n"
    root = landing(tmp_path, {"SH001/leads.csv": content, "SH002/leads.csv": content})
    report = load_landing(clean_warehouse, root)
    assert entries(report)["SH001/leads.csv"]["rows_quarantined"] == 1
    assert entries(report)["SH002/leads.csv"]["rows_loaded"] == 1
    [(_, reason, _, _, _)] = bad_rows(clean_warehouse, "leads.csv")
    assert reason == f"timestamp in the future: created_at {soon} > load time + 5 min"
    check_conserved(clean_warehouse, report)


# -- fuzz -----------------------------------------------------------------------------------

# (kind, expected reason prefix or None for a good row)
ROW_KINDS = [
    ("good", None, 60),
    ("multiline", None, 6),
    ("unparseable", "unparseable", 4),
    ("future", "timestamp in the future", 3),
    ("empty_id", "empty lead_id", 3),
    ("ragged", "row has", 3),
    ("nul", "NUL character", 2),
    ("big", "field over the size limit", 2),
    ("stray_quote", "unterminated quote", 2),
    ("malformed", "malformed CSV", 2),
    ("unknown_stage", "unknown stage", 2),
    ("blank", "blank", 3),
]
FUZZ_FIELD_LIMIT = 2000
NAMES = ["李雷", "韩梅梅", "王芳", "Zoë", "José", "Smith, J.", "张伟"]


def _fuzz_row(rng: random.Random, kind: str, obj: str, n: int) -> str:
    """One row of ``obj`` (columns: id, ts, x, name, note) of the given kind; no terminator."""
    lead = f"F{n}"
    ts = f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:30"
    x = "potential" if obj == "stage_events" else rng.choice(["walk_in", "autohome", "meta"])
    name = rng.choice(NAMES)
    name = f'"{name}"' if "," in name else name
    note = rng.choice(["ok", "call back", "", "vip"])
    if kind == "multiline":
        note = '"line one\nline ""two"", end"'
    elif kind == "unparseable":
        ts = rng.choice(["yesterday", "2026/05/04", "31.05.2026"])
    elif kind == "future":
        ts = rng.choice(["2099-01-01", "2031-06-01 10:00"])
    elif kind == "empty_id":
        lead = ""
    elif kind == "ragged":
        return rng.choice([f"{lead},{ts}", f"{lead},{ts},{x},{name},{note},extra"])
    elif kind == "nul":
        note = "bad\x00byte"
    elif kind == "big":
        note = "y" * (FUZZ_FIELD_LIMIT + rng.randint(1, 500))
    elif kind == "stray_quote":  # (a quoted name would close it on the same line)
        return f'{lead},"{ts},{x},王芳,{note}'
    elif kind == "malformed":
        return f'{lead},"{ts}"x,{x},{name},{note}'
    elif kind == "unknown_stage" and obj == "stage_events":
        x = "teleported"
    return f"{lead},{ts},{x},{name},{note}"


def _fuzz_file(rng: random.Random, obj: str, rows: int, start: int) -> tuple[str, dict]:
    """A file's text and what loading it must give: records, and (line, reason) of bad rows."""
    column = {"leads": "created_at", "stage_events": "occurred_at", "followups": "occurred_at"}
    second = "stage" if obj == "stage_events" else "channel"
    lines = [f"lead_id,{column[obj]},{second},customer_name,note"]
    bad: list[tuple[int, str]] = []
    records = 0
    kinds = [k for k, _, w in ROW_KINDS for _ in range(w)]
    reasons = {k: r for k, r, _ in ROW_KINDS}
    for n in range(start, start + rows):
        kind = rng.choice(kinds)
        if kind == "unknown_stage" and obj != "stage_events":
            kind = "good"
        line = sum(part.count("\n") + 1 for part in lines) + 1
        if kind == "blank":
            lines.append(rng.choice(["", "   "]))
            continue
        lines.append(_fuzz_row(rng, kind, obj, n))
        records += 1
        if reasons[kind]:
            bad.append((line, reasons[kind]))
    return "\n".join(lines) + "\n", {"records": records, "bad": bad}


def _reason_kind(reason: str) -> str:
    for _, prefix, _ in ROW_KINDS:
        if prefix and reason.startswith(prefix):
            return prefix
    return reason.split(":")[0]


def test_fuzz_every_row_is_counted(clean_warehouse, tmp_path) -> None:
    rng = random.Random(20261201)
    files: dict[str, bytes] = {}
    expected: dict[str, dict] = {}
    folders = ["SH001", "sh002", "BJ001 ", "ZZ777"]
    encodings = ["utf-8", "utf-8-bom", "utf-8-bom2", "gb18030"]
    n = 0
    for i in range(24):
        obj = ("leads", "stage_events", "followups")[i % 3]
        text, want = _fuzz_file(rng, obj, rng.randint(350, 550), n)
        n += want["records"] + 10
        encoding = encodings[i % 4]
        data = text.encode("gb18030" if encoding == "gb18030" else "utf-8")
        data = {"utf-8-bom": b"\xef\xbb\xbf", "utf-8-bom2": b"\xef\xbb\xbf" * 2}.get(
            encoding, b""
        ) + data
        if i % 5 == 4:
            data = data.replace(b"\n", b"\r\n")
        where = f"{folders[i % 4]}/{obj}_{i:02d}.csv"
        files[where] = data
        expected[where] = want
    # the special files: empty, a byte-identical copy, a header without a required column
    files["SH001/leads_empty.csv"] = b" \n\n"
    files["SH001/leads_zz_copy.csv"] = files["SH001/leads_00.csv"]
    rejected = "lead_id,when\n" + "\n".join(f"R{k},2026-05-04" for k in range(40)) + "\n"
    files["sh002/followups_legacy.csv"] = rejected.encode()
    root = landing(tmp_path, files)

    report = load_landing(clean_warehouse, root, limits=LandingLimits(field_chars=FUZZ_FIELD_LIMIT))
    check_conserved(clean_warehouse, report)
    by_file = entries(report)
    code = {"SH001": "SH001", "sh002": "SH002", "BJ001 ": "BJ001", "ZZ777": "ZZ777"}
    for where, want in expected.items():
        folder, name = where.split("/")
        entry = by_file[f"{code[folder]}/{name}"]
        assert entry["status"] == "loaded", where
        assert entry["rows_in"] == want["records"], where
        got = query(
            clean_warehouse,
            "select line_number, reason from ops.quarantine where batch_id = %s"
            " order by line_number",
            (entry["batch_id"],),
        )
        assert [(line, _reason_kind(r)) for line, r in got] == want["bad"], where
    assert by_file["SH001/leads_empty.csv"]["status"] == "empty"
    assert by_file["SH001/leads_zz_copy.csv"]["duplicate_of"] == "leads_00.csv"
    legacy = by_file["SH002/followups_legacy.csv"]
    assert (legacy["status"], legacy["rows_in"], legacy["rows_quarantined"]) == ("rejected", 40, 40)

    totals = report["totals"]
    assert totals["files"] >= 20 and totals["rows_in"] >= 10_000
    assert totals["rows_in"] == totals["rows_loaded"] + totals["rows_quarantined"]
    by_reason = Counter(
        _reason_kind(reason)
        for (reason,) in query(clean_warehouse, "select reason from ops.quarantine")
    )
    assert sum(by_reason.values()) == totals["rows_quarantined"]
    print(
        f"[fuzz] files={totals['files']} rows_in={totals['rows_in']} "
        f"loaded={totals['rows_loaded']} quarantined={totals['rows_quarantined']} "
        f"by reason: {dict(sorted(by_reason.items()))}"
    )

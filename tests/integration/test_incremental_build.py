"""An incremental build equals a full refresh (issue #13, README.md, "Incremental builds").

Warehouse A loads a synthetic dealer group's May files plus a hand-made SH001 file set, builds
(first build: full refresh), audits and publishes, twice; then it loads June's files and a
hand-made increment and builds again, incrementally, starting from the marts published one run
before (write-audit-publish). Warehouse B loads everything at once and builds in full. Every
published mart and every incremental lead-grain intermediate must hold exactly the same rows in
A and B (``refreshed_at`` aside), with the as-of time pinned for both.

The hand-made increment hits what an incremental identity match can get wrong:

- T-G shares T-A's phone and T-B's e-mail: two persons become one lead (T-A's, the earliest);
  T-B's lead vanishes.
- T-D's later export changes its phone: T-D leaves T-C's lead and becomes a lead of its own.
- T-E, known so far only from a stage event, gets its lead row with T-F's phone: it joins T-F's
  lead (created 8 days after T-F was lost, inside the 90-day re-enquiry window).
- T-F is won late (an event for an old lead); T-A gets a late interested event; T-C a follow-up.

And a load that commits late: T-L's file is landed by a transaction that started two hours before
the second build and commits after it (the loader stamps _extracted_at when a file's transaction
starts). The second build cannot see it; the third must read it, however old its _extracted_at
(the staging tables read the load batches they have not seen, not a time window).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import psycopg
import pytest

from dealerfunnel.landing import load_landing
from dealerfunnel.quality.config import load_quality_config
from dealerfunnel.quality.wap import build_candidate, dbt_target, publish, validate_candidate
from dealerfunnel_demo.checksums import compared_tables, table_rows
from dealerfunnel_demo.databases import create_database, drop_database
from dealerfunnel_demo.synth import generate

pytestmark = pytest.mark.timeout(900)

AS_OF = "2026-06-16T12:00:00+08:00"

LEAD_HEADER = (
    "lead_id,created_at,assigned_at,channel,campaign,consultant,grade,customer_name,phone,email,"
    "model_of_interest,utm_source\n"
)
EVENT_HEADER = "lead_id,stage,occurred_at,consultant,amount,currency,lost_reason\n"
FOLLOWUP_HEADER = "lead_id,occurred_at,method,consultant,note,outcome,grade,purpose,recorded_at\n"

BASE_FILES = {
    "leads_tricky_base.csv": LEAD_HEADER
    + "T-A,2026-05-10 10:00:00,,walk_in,,Luo Fang,B,王一,13800000001,,Aurora A5,\n"
    + "T-B,2026-05-11 10:00:00,,walk_in,,Luo Fang,B,王二,,tb@example.com,Aurora A5,\n"
    + "T-C,2026-05-12 10:00:00,,walk_in,,Luo Fang,B,王三,13800000002,,Aurora A5,\n"
    + "T-D,2026-05-13 10:00:00,,walk_in,,Luo Fang,B,王四,13800000002,,Aurora A5,\n"
    + "T-F,2026-05-05 10:00:00,,walk_in,,Luo Fang,B,王六,13800000003,,Aurora A5,\n",
    "stage_events_tricky_base.csv": EVENT_HEADER
    + "T-E,意向客户,2026-05-14 10:00:00,Luo Fang,,,\n"
    + "T-F,战败,2026-05-06 10:00:00,Luo Fang,,,价格\n",
}
INCREMENT_FILES = {
    "leads_tricky_incr.csv": LEAD_HEADER
    + "T-G,2026-06-01 10:00:00,,walk_in,,Luo Fang,B,王七,13800000001,tb@example.com,Aurora A5,\n"
    + "T-D,2026-05-13 10:00:00,,walk_in,,Luo Fang,B,王四,13800000009,,Aurora A5,\n"
    + "T-E,2026-05-14 10:00:00,,walk_in,,Luo Fang,B,王五,13800000003,,Aurora A5,\n",
    "stage_events_tricky_incr.csv": EVENT_HEADER
    + "T-F,成交客户,2026-06-05 10:00:00,Luo Fang,150000,CNY,\n"
    + "T-A,意向客户,2026-06-02 10:00:00,Luo Fang,,,\n",
    "followups_tricky_incr.csv": FOLLOWUP_HEADER
    + "T-C,2026-06-03 10:00,phone,Luo Fang,回访,reached,B,sales,2026-06-03 10:05:00\n",
}


def _split_world(world: Path, base: Path, increment: Path) -> None:
    """May's files (and the yearly targets) are the base; June's files are the increment."""
    for path in world.rglob("*.*"):
        if not path.is_file():
            continue
        target = increment if "2026-06" in path.name else base
        destination = target / path.relative_to(world)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
    for folder, files in ((base, BASE_FILES), (increment, INCREMENT_FILES)):
        for name, text in files.items():
            (folder / "SH001" / name).write_text(text, encoding="utf-8")


def _merge(*folders: Path, into: Path) -> Path:
    for folder in folders:
        shutil.copytree(folder, into, dirs_exist_ok=True)
    return into


def _run(url: str, landing: Path) -> None:
    load_landing(url, landing)
    result, tail = build_candidate(url, vars_={"as_of_at": AS_OF})
    assert result.success, tail
    assert validate_candidate(url).success
    publish(url)


LATE_LEAD = {
    "lead_id": "T-L",
    "created_at": "2026-05-20 10:00:00",
    "assigned_at": "",
    "channel": "walk_in",
    "campaign": "",
    "consultant": "Luo Fang",
    "grade": "B",
    "customer_name": "王八",
    "phone": "13800000008",
    "email": "",
    "model_of_interest": "Aurora A5",
    "utm_source": "",
}


def _land_late_lead(conn: psycopg.Connection) -> None:
    """What the loader writes for a one-row leads file, in the caller's transaction, stamped as
    if the transaction had started two hours ago (a file's rows and its ops.load_batches row)."""
    batch_id = conn.execute("select gen_random_uuid()").fetchone()[0]
    started = conn.execute("select now() - interval '2 hours'").fetchone()[0]
    sha = hashlib.sha256(json.dumps(LATE_LEAD).encode()).hexdigest()
    conn.execute(
        "insert into raw.dealer_export__leads (lead_id, created_at, assigned_at, payload,"
        " _dealer_code, _source, _batch_id, _extracted_at, _file_name, _file_sha256, _row_number)"
        " values (%s, %s::timestamp at time zone 'Asia/Shanghai', null, %s::jsonb, 'SH001',"
        " 'dealer_export', %s, %s, 'leads_late.csv', %s, 1)",
        (
            LATE_LEAD["lead_id"],
            LATE_LEAD["created_at"],
            json.dumps(LATE_LEAD),
            batch_id,
            started,
            sha,
        ),
    )
    conn.execute(
        "insert into ops.load_batches (batch_id, source, dealer_code, object, started_at,"
        " finished_at, status, rows_in, rows_loaded) values"
        " (%s, 'dealer_export', 'SH001', 'leads', %s, now(), 'loaded', 1, 1)",
        (batch_id, started),
    )


def _unique_keys_untested_but_indexed(url: str) -> list[tuple[str, str, list[str]]]:
    """(schema, table, columns) of every model whose config declares a unique index, after
    checking that the index exists in ``url`` and that no data test repeats it (a unique test of
    an indexed key can never fail: the table refuses the duplicate)."""
    manifest = json.loads((dbt_target() / "manifest.json").read_text())
    tested = set()
    for node in manifest["nodes"].values():
        meta = node.get("test_metadata") or {}
        kwargs = meta.get("kwargs", {})
        kwargs = kwargs | kwargs.get("arguments", {})
        if meta.get("name") == "unique":
            tested.add((node["attached_node"], (kwargs["column_name"],)))
        elif meta.get("name") == "unique_combination_of_columns":
            tested.add((node["attached_node"], tuple(kwargs["combination_of_columns"])))
    found = []
    candidate = load_quality_config().candidate_schema
    with psycopg.connect(url) as conn:
        for unique_id, node in manifest["nodes"].items():
            # the candidate schema dbt built has been published as marts
            schema = "marts" if node["schema"] == candidate else node["schema"]
            for index in node["config"].get("indexes") or []:
                if not index.get("unique"):
                    continue
                columns = index["columns"]
                assert (unique_id, tuple(columns)) not in tested, (unique_id, columns)
                indexed = conn.execute(
                    "select array_agg(a.attname::text order by k.n) from pg_index as i"
                    " cross join unnest(i.indkey) with ordinality as k (attnum, n)"
                    " join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = k.attnum"
                    " where i.indisunique and i.indrelid = to_regclass(%s)"
                    " group by i.indexrelid",
                    (f'"{schema}"."{node["alias"]}"',),
                ).fetchall()
                assert [columns] in [list(r) for r in indexed], (unique_id, columns, indexed)
                found.append((schema, node["alias"], columns))
    return found


def _leads(url: str) -> dict[str, tuple]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select source_lead_id, lead_record_count, won_at is not null, interested_at"
            " is not null, followup_count from marts.fct_leads where source_lead_id like 'T-%'"
        ).fetchall()
    return {r[0]: r[1:] for r in rows}


@pytest.fixture
def second_warehouse(server_url):
    url = create_database(server_url, "dealerfunnel_test")
    yield url
    drop_database(server_url, url)


def test_incremental_build_equals_full_refresh(
    clean_warehouse, second_warehouse, data_dir, tmp_path
):
    world, base, increment = tmp_path / "world", tmp_path / "base", tmp_path / "increment"
    generate(world, seed=13, n_leads=400, weeks=6)
    _split_world(world, base, increment)

    # A: the base, built twice (the second build's candidate starts empty: nothing was published
    # before the first), then the increment, built on the marts the first build published
    incremental = clean_warehouse
    _run(incremental, base)
    first = json.loads((dbt_target() / "run_results.json").read_text())["results"]
    assert any(r["unique_id"].startswith("unit_test.") for r in first)  # a full build runs them
    before = _leads(incremental)
    # the second build runs while T-L's load transaction, started two hours ago, is still open
    load_landing(incremental, base)
    with psycopg.connect(incremental) as late:
        _land_late_lead(late)
        result, tail = build_candidate(incremental, vars_={"as_of_at": AS_OF})
        assert result.success, tail
        assert validate_candidate(incremental).success
        publish(incremental)
    assert "T-L" not in _leads(incremental)
    _run(incremental, _merge(base, increment, into=tmp_path / "landing_a"))
    with psycopg.connect(incremental) as conn:
        builds = conn.execute(
            "select is_full_refresh, reason from ops.dbt_builds order by dbt_build_id"
        ).fetchall()
        refreshed, total = conn.execute(
            "select count(*) filter (where refreshed_at = (select max(refreshed_at) from"
            " marts.fct_leads)), count(*) from marts.fct_leads"
        ).fetchone()
        # the dealer-export staging tables wrote only the increment's rows: June's files, the
        # hand-made increment's leads, T-D's later version among them, and the late load's T-L
        staged = conn.execute(
            "select source_lead_id from staging.stg_dealer_export__leads where refreshed_at ="
            " (select max(refreshed_at) from staging.stg_dealer_export__leads)"
        ).fetchall()
        staged_total = conn.execute("select count(*) from staging.stg_dealer_export__leads")
        staged_total = staged_total.fetchone()[0]
        june = conn.execute(
            "select count(distinct (_dealer_code, lead_id)) from raw.dealer_export__leads"
            " where _file_name like %s"
            " or _file_name in ('leads_tricky_incr.csv', 'leads_late.csv')",
            ("%2026-06%",),
        ).fetchone()[0]
    assert builds == [(True, "first build"), (False, "incremental"), (False, "incremental")]
    # the last build really was incremental: leads June's files do not touch kept their row
    # (June holds a third of the leads and follow-ups of most May leads, so most are redone)
    assert 0 < refreshed < total
    assert len(staged) == june and june < staged_total
    assert {("T-D",), ("T-E",), ("T-G",), ("T-L",)} <= set(staged) and ("T-A",) not in staged
    # the incremental build's tests read only the rows it wrote, in incremental models only
    # (macros/test_scope.sql)
    results = json.loads((dbt_target() / "run_results.json").read_text())["results"]
    tests = {
        r["unique_id"].split(".")[2]: r["compiled_code"]
        for r in results
        if r["unique_id"].startswith("test.")
    }
    # dbt's unit tests ran in the first (full) build, on the same SQL: not again
    assert not any(r["unique_id"].startswith("unit_test.") for r in results)
    scoped = "refreshed_at >= "
    assert scoped in tests["not_null_int_leads_resolved_channel"]
    assert scoped in tests["not_null_stg_dealer_export__leads_created_at"]
    assert scoped in tests["not_null_int_leads_joined_to_sla_settings_lead_key"]
    assert scoped in tests["not_null_int_sla_checks_evaluated_check_type"]
    assert scoped not in tests["not_null_int_dealer_calendar_days_numbered_dealer_code"]
    assert not any(scoped in code for name, code in tests.items() if "mart_funnel" in name)
    # and the source tests of a raw table its staging table reads by load batch, only the rows of
    # the batches that table had not read (macro unread_batches_condition)
    # (targets are staged by a view, which reads them whole)
    raw = {n: c for n, c in tests.items() if n.startswith("source_not_null_dealer_export_")}
    targets = [n for n in raw if "dealer_export__targets" in n]
    assert targets and not any("read_xmin" in raw.pop(n) for n in targets)
    for obj in ("leads", "stage_events", "followups", "activities", "surveys"):
        scoped_raw = [c for n, c in raw.items() if f"dealer_export__{obj}_" in n]
        assert scoped_raw and all(f'"stg_dealer_export__{obj}")' in c for c in scoped_raw), obj

    # B: everything at once, in full
    full = second_warehouse
    with psycopg.connect(full) as conn:
        _land_late_lead(conn)
    _run(full, _merge(base, increment, into=tmp_path / "landing_b"))

    # the keys the incremental models index as unique are enforced by the index, not a test
    indexed = _unique_keys_untested_but_indexed(full)
    assert ("staging", "stg_dealer_export__leads", ["dealer_code", "source_lead_id"]) in indexed
    assert ("marts", "fct_leads", ["lead_key"]) in indexed and len(indexed) >= 12
    assert ("intermediate", "int_sla_checks_evaluated", ["sla_check_key"]) in indexed

    tables = compared_tables(full)
    assert len(tables) > 3 and ("marts", "fct_leads") in tables
    for schema, table in tables:
        assert table_rows(incremental, schema, table) == table_rows(full, schema, table), (
            f"{schema}.{table} differs between the incremental and the full build"
        )

    # the hand-made cases, worked out by hand (source_lead_id -> lead_record_count, won,
    # interested, follow-ups)
    assert before["T-A"][0] == 1 and before["T-B"][0] == 1 and before["T-C"][0] == 2
    assert before["T-E"][:3] == (1, False, True)  # inferred from its interested event
    after = _leads(incremental)
    assert "T-B" not in after and "T-E" not in after and "T-G" not in after
    assert after["T-A"][:3] == (3, False, True)  # T-A + T-B + T-G; T-A's late interested event
    assert after["T-C"] == (1, False, False, 1)  # T-D left; T-C's follow-up
    assert after["T-D"][0] == 1
    assert after["T-F"][:2] == (2, True)  # T-F + T-E, won late
    assert after["T-L"] == (1, False, False, 0)  # the late load's lead, on its own

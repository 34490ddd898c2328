"""End to end: ``dealer_exports_extract`` run by Airflow (``dag.test()``), one mapped task per
dealer folder, where one dealer folder fails and the others still load (issue #13).

Three dealer folders: SH001 and SH002 (registered) and BAD01, whose ``ops.dealers`` row names
a time zone that does not exist, so its ``load_dealer_folder`` task fails (after its retries)
while the other two load. ``report_load`` still runs, reports every folder and fails the run
naming BAD01. After the row is fixed, the next run lists only BAD01 (the other folders'
files are unchanged: not read again) and succeeds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from dealerfunnel.warehouse import ensure_schema
from dealerfunnel_demo.databases import with_database

from .airflow_stack import cli_env

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e

# leads per folder: SH001 3, SH002 2, BAD01 4 (all valid rows)
FILES = {
    "SH001": "lead_id,created_at\nA-1,2026-05-01 09:00\nA-2,2026-05-02\nA-3,2026-05-03 09:00\n",
    "SH002": "lead_id,created_at\nB-1,2026-05-01 10:00\nB-2,2026-05-02 10:00\n",
    "BAD01": "lead_id,created_at\nC-1,2026-05-01\nC-2,2026-05-02\nC-3,2026-05-03\nC-4,2026-05-04\n",
}

RUN_DAG = """
import json
from dealerfunnel.cli import dag_bag
from dealerfunnel.warehouse.connection import resolve_warehouse_url

run = dag_bag(resolve_warehouse_url()).get_dag("dealer_exports_extract").test()
print("RESULT " + json.dumps({
    "state": str(run.state),
    "tis": sorted(
        [ti.task_id, ti.rendered_map_index or "", str(ti.state)]
        for ti in run.get_task_instances()
    ),
}))
"""


def _run_dag(env: dict[str, str]) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", RUN_DAG],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def _loaded(url: str) -> dict[str, tuple[int, int]]:
    """Per dealer: raw leads, landed files."""
    with psycopg.connect(url) as conn:
        return {
            code: (leads, files)
            for code, leads, files in conn.execute(
                "select l._dealer_code, count(*),"
                " (select count(*) from ops.landed_files f where f.dealer_code = l._dealer_code)"
                " from raw.dealer_export__leads as l group by 1"
            ).fetchall()
        }


@pytest.fixture(scope="module")
def runs(server_url, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dealer_dag")
    dbname = f"dealerfunnel_dealers_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'create database "{dbname}"')
    url = with_database(server_url, dbname)
    landing = tmp / "landing"
    for code, text in FILES.items():
        (landing / code).mkdir(parents=True)
        (landing / code / "leads_2026-05.csv").write_text(text, encoding="utf-8")
    ensure_schema(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into ops.dealers (dealer_code, dealer_name, region, brand, timezone,"
            " is_registered) values ('BAD01', 'BAD01', 'x', 'x', 'Mars/Olympus', false)"
        )
    time.sleep(2.1)  # the files settle (landing.files.STAT_SETTLE_NS): their stat is trusted
    env = cli_env(url, tmp, landing)
    first = _run_dag(env)
    after_first = _loaded(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "update ops.dealers set timezone = 'Asia/Shanghai' where dealer_code = 'BAD01'"
        )
    second = _run_dag(env)
    yield {"url": url, "first": first, "after_first": after_first, "second": second}
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{dbname}" with (force)')


def _states(run: dict, task_id: str) -> dict[str, str]:
    return {index: state for tid, index, state in run["tis"] if tid == task_id}


def test_one_failing_dealer_folder_does_not_stop_the_others(runs):
    first = runs["first"]
    assert first["state"] == "failed"
    assert _states(first, "load_dealer_folder") == {
        "BAD01": "failed",
        "SH001": "success",
        "SH002": "success",
    }
    assert _states(first, "list_dealer_folders") == {"": "success"}
    assert _states(first, "report_load") == {"": "failed"}  # ran, and named BAD01
    assert runs["after_first"] == {"SH001": (3, 1), "SH002": (2, 1)}  # nothing of BAD01


def test_the_next_run_loads_only_the_failed_folder(runs):
    second = runs["second"]
    assert second["state"] == "success"
    # the folders loaded by the first run are unchanged: no task for them
    assert _states(second, "load_dealer_folder") == {"BAD01": "success"}
    assert _states(second, "report_load") == {"": "success"}
    assert _loaded(runs["url"]) == {"SH001": (3, 1), "SH002": (2, 1), "BAD01": (4, 1)}

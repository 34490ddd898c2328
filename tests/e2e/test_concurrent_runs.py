"""End to end: two ``make run`` started at the same moment on one warehouse, and no mart
period after the current one (issue #11).

Two ``python -m dealerfunnel.cli run`` subprocesses, same ``WAREHOUSE_URL`` database, same data
folder, over a small generated landing folder. One takes the warehouse's run lock and runs;
the other exits at once with exit code 3 and one clear line naming the holder, having started
nothing. Afterwards no candidate schema is left behind, every landed file was loaded once, and
the only log file is the running one's (one file per run, named after its pid).

The landing folder also holds a lead created an hour ago and one dated 2099: the latter is
quarantined, and with data up to now no mart has a period later than the current one.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from dealerfunnel_demo.databases import with_database
from dealerfunnel_demo.synth import generate

from .airflow_stack import cli_env

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def _utc_csv_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def twin_runs(server_url, tmp_path_factory):
    """Two runs started together on one fresh database; what each printed, and the pids."""
    tmp = tmp_path_factory.mktemp("twin")
    dbname = f"dealerfunnel_twin_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'create database "{dbname}"')
    url = with_database(server_url, dbname)
    landing = tmp / "landing"
    manifest = generate(landing, n_leads=400, start=date(2026, 8, 3), weeks=6)
    # data up to now: a lead an hour old, and one dated in 2099 (to be quarantined)
    (landing / "SH001" / "leads_late.csv").write_text(
        "lead_id,created_at,channel\n"
        f"SH001-LATE-1,{_utc_csv_time(datetime.now(UTC) - timedelta(hours=1))},walk_in\n"
        "SH001-LATE-2,2099-01-01T00:00:00Z,walk_in\n",
        encoding="utf-8",
    )
    env = cli_env(url, tmp, landing)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "dealerfunnel.cli", "run"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    # The first to end is the refused one, while the other still runs.
    deadline = time.monotonic() + 300
    while all(p.poll() is None for p in procs):
        assert time.monotonic() < deadline, "neither run ended within 300 s"
        time.sleep(0.1)
    loser = next(p for p in procs if p.poll() is not None)
    winner = next(p for p in procs if p is not loser)
    overlapped = winner.poll() is None
    loser_out, loser_err = loser.communicate()
    winner_out, winner_err = winner.communicate(timeout=1200)
    yield {
        "url": url,
        "data": tmp / "var",
        "files": manifest["totals"]["files"] + 1,
        "overlapped": overlapped,
        "winner": (winner.pid, winner.returncode, winner_out, winner_err),
        "loser": (loser.pid, loser.returncode, loser_out, loser_err),
    }
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{dbname}" with (force)')


def test_two_simultaneous_runs_one_runs_the_other_exits_3(twin_runs):
    assert twin_runs["overlapped"], "both runs ended together: they did not overlap"
    _, loser_code, loser_out, loser_err = twin_runs["loser"]
    winner_pid, winner_code, winner_out, winner_err = twin_runs["winner"]
    assert loser_code == 3, loser_err
    (line,) = loser_err.strip().splitlines()
    assert line.startswith("error: another pipeline run is in progress on this warehouse")
    assert f"dealerfunnel-run pid={winner_pid}" in line  # names the run that holds the lock
    assert "running DAGs" not in loser_out

    assert winner_code == 0, winner_err[-3000:] + winner_out[-3000:]
    for dag_id in ("dealer_exports_extract", "funnel_transform", "funnel_alerts"):
        assert f"{dag_id}: success" in winner_out

    with psycopg.connect(twin_runs["url"]) as conn:
        schemas = {
            s for (s,) in conn.execute("select schema_name from information_schema.schemata")
        }
        files = conn.execute(
            "select count(*), count(distinct (dealer_code, file_name)) from ops.landed_files"
        ).fetchone()
    assert "marts" in schemas and "marts_candidate" not in schemas  # nothing half-built
    assert files == (twin_runs["files"],) * 2  # each file landed once

    logs = sorted((twin_runs["data"] / "logs").iterdir())
    assert len(logs) == 1, logs  # the refused run wrote no log; the winner its own
    assert logs[0].name.startswith("run-") and logs[0].name.endswith(f"-{winner_pid}.log")
    assert f"task logs: {logs[0]}" in winner_out


PERIOD_COLUMNS = ("period_start", "week_start", "month_start")


def test_no_mart_has_a_period_after_the_current_one(twin_runs):
    """The 2099 lead is quarantined, the lead of an hour ago reaches the current week, and no
    period column of any mart is later than the current period in its dealer's time zone."""
    url = twin_runs["url"]
    with psycopg.connect(url) as conn:
        (reason,) = conn.execute(
            "select q.reason from ops.quarantine q join ops.landed_files f using (batch_id)"
            " where f.file_name = 'leads_late.csv'"
        ).fetchone()
        assert reason.startswith("timestamp in the future: created_at 2099-01-01")
        # the current week exists (data up to now) ...
        (latest, this_week) = conn.execute(
            "select max(period_start), date_trunc('week', now() at time zone 'Asia/Shanghai')::date"
            " from marts.mart_funnel_conversion where dealer_code = 'SH001'"
            " and period_grain = 'week'"
        ).fetchone()
        assert latest == this_week
        # ... and no mart has a later period
        columns = conn.execute(
            "select c.table_name, c.column_name,"
            " exists (select from information_schema.columns d where d.table_schema = 'marts'"
            "   and d.table_name = c.table_name and d.column_name = 'dealer_code')"
            " from information_schema.columns c where c.table_schema = 'marts'"
            " and c.column_name = any(%s) and c.data_type = 'date' order by 1, 2",
            (list(PERIOD_COLUMNS),),
        ).fetchall()
        assert len({t for t, *_ in columns}) >= 6, columns  # the period marts were checked
        for table, column, per_dealer in columns:
            tz = "coalesce(d.timezone, 'Asia/Shanghai')" if per_dealer else "'Asia/Shanghai'"
            join = (
                "left join marts.dim_dealerships d on d.dealer_code = m.dealer_code"
                if per_dealer
                else ""
            )
            query = sql.SQL(
                "select m.{col}, "
                + tz
                + " from marts.{table} m "
                + join
                + " where m.{col} > (now() at time zone "
                + tz
                + ")::date limit 3"
            ).format(col=sql.Identifier(column), table=sql.Identifier(table))
            assert conn.execute(query).fetchall() == [], f"{table}.{column} in the future"

"""One pipeline run at a time per warehouse: a second run exits at once with a clear message."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import psycopg
import pytest

from dealerfunnel import cli
from dealerfunnel_demo.databases import with_database


def test_the_run_lock_is_exclusive_and_released(warehouse_url):
    with cli.exclusive_run(warehouse_url):
        busy = pytest.raises(cli.RunInProgress, match="another pipeline run is in progress")
        with busy as exc, cli.exclusive_run(warehouse_url):
            pass
        assert "dealerfunnel-run pid=" in str(exc.value)  # names the holder
    with cli.exclusive_run(warehouse_url):  # released when the holder ends
        pass


def test_the_lock_is_per_warehouse_and_names_this_warehouses_holder(server_url, warehouse_url):
    """Another warehouse database on the same server has its own run lock: a run there does
    not block this one, nor is it named as the holder of this one's lock."""
    other = f"dealerfunnel_other_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'create database "{other}"')
    try:
        other_url = with_database(server_url, other)
        with cli.exclusive_run(other_url):
            here = psycopg.connect(
                warehouse_url, autocommit=True, application_name="dealerfunnel-run pid=here"
            )
            try:
                # this warehouse is free although the other one is busy
                assert here.execute(
                    "select pg_try_advisory_lock(%s)", (cli.RUN_LOCK_KEY,)
                ).fetchone()[0]
                with (
                    pytest.raises(cli.RunInProgress) as exc,
                    cli.exclusive_run(warehouse_url),
                ):
                    pass
            finally:
                here.close()
        assert "(dealerfunnel-run pid=here, started" in str(exc.value)
        assert f"pid={os.getpid()}" not in str(exc.value)  # not the other warehouse's holder
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{other}" with (force)')


def test_a_second_make_run_exits_3_without_touching_anything(warehouse_url, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        WAREHOUSE_URL=warehouse_url,
        DEALERFUNNEL_DATA_DIR=str(tmp_path / "var"),
        LANDING_DIR=str(tmp_path / "landing"),
    )
    with cli.exclusive_run(warehouse_url):
        proc = subprocess.run(
            [sys.executable, "-m", "dealerfunnel.cli", "run"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 3, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: another pipeline run is in progress on this warehouse")
    assert "running DAGs" not in proc.stdout
    assert not (tmp_path / "var" / "logs").exists()  # no log file, no DAG started

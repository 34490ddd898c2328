"""One pipeline run at a time per warehouse: a second run exits at once with a clear message."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dealerfunnel import cli


def test_the_run_lock_is_exclusive_and_released(warehouse_url):
    with cli.exclusive_run(warehouse_url):
        busy = pytest.raises(cli.RunInProgress, match="another pipeline run is in progress")
        with busy as exc, cli.exclusive_run(warehouse_url):
            pass
        assert "dealerfunnel-run pid=" in str(exc.value)  # names the holder
    with cli.exclusive_run(warehouse_url):  # released when the holder ends
        pass


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

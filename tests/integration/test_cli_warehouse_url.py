"""The CLI with a malformed or password-carrying WAREHOUSE_URL: one line, exit 2, masked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Pw_9x"


@pytest.mark.parametrize(
    "url",
    [
        "mysql://alice:Pw_9x@db.example/wh",
        "postgresql://alice:Pw_9x@db.example:99999/wh",
        "postgresql://alice:Pw_9x@/wh",
        "::garbage Pw_9x::",
    ],
)
def test_cli_malformed_url_is_one_line_and_exit_2(tmp_path, url):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT / "tools")]),
        DEALERFUNNEL_HOME=str(ROOT),
        DEALERFUNNEL_DATA_DIR=str(tmp_path / "var"),
        WAREHOUSE_URL=url,
    )
    proc = subprocess.run(
        [sys.executable, "-m", "dealerfunnel.cli", "check-warehouse"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("configuration error: WAREHOUSE_URL: ")
    assert PASSWORD not in proc.stderr + proc.stdout


def test_cli_query_password_is_masked_on_stdout_and_in_the_unreachable_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT / "tools")]),
        DEALERFUNNEL_HOME=str(ROOT),
        DEALERFUNNEL_DATA_DIR=str(tmp_path / "var"),
        WAREHOUSE_URL="postgresql://alice@127.0.0.1:9/wh?password=Pw_9x",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "dealerfunnel.cli", "check-warehouse"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 2
    assert "warehouse unreachable" in proc.stderr and "alice:***@127.0.0.1:9/wh" in proc.stderr
    assert PASSWORD not in proc.stderr + proc.stdout

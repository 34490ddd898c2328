"""The dbt subprocess: connection through DBT_PG_* variables, never on the command line."""

from __future__ import annotations

import subprocess

import pytest

from dealerfunnel.transform import runner


def test_dbt_env_carries_the_connection(monkeypatch, tmp_path):
    env = runner.dbt_env("postgresql://alice:s3cret@db.example:6543/wh")
    assert (env["DBT_PG_HOST"], env["DBT_PG_PORT"], env["DBT_PG_USER"]) == (
        "db.example",
        "6543",
        "alice",
    )
    assert env["DBT_PG_PASSWORD"] == "s3cret" and env["DBT_PG_DBNAME"] == "wh"
    assert env["DBT_SEND_ANONYMOUS_USAGE_STATS"] == "false"


def test_run_dbt_passes_vars_and_keeps_the_password_off_the_command(monkeypatch, tmp_path):
    monkeypatch.setenv("DEALERFUNNEL_DATA_DIR", str(tmp_path))
    seen = {}

    def fake_run(command, **kwargs):
        seen["command"], seen["env"] = command, kwargs["env"]
        return subprocess.CompletedProcess(command, 0, stdout="ok\n", stderr="")

    monkeypatch.setattr(runner.subprocess, "run", fake_run)
    out = runner.run_dbt(["build"], "postgresql://alice:s3cret@h/db", vars_={"a": 1})
    assert out == "ok\n"
    command = seen["command"]
    assert command[1:] == [
        "build", "--target-path", str(tmp_path / "dbt" / "target"), "--vars", '{"a": 1}',
    ]  # fmt: skip
    assert not any("s3cret" in part for part in command)
    assert seen["env"]["DBT_LOG_PATH"] == str(tmp_path / "dbt" / "logs")


def test_run_dbt_raises_with_the_output_tail(monkeypatch, tmp_path):
    monkeypatch.setenv("DEALERFUNNEL_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(
        runner.subprocess,
        "run",
        lambda command, **kw: subprocess.CompletedProcess(command, 2, stdout="x\nbad\n", stderr=""),
    )
    with pytest.raises(runner.DbtFailed, match=r"dbt build failed \(exit 2\):\nx\nbad"):
        runner.run_dbt(["build"], "postgresql://u@h/db")

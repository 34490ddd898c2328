"""The CLI configures Airflow before anything imports it, and keeps what the caller exported."""

from __future__ import annotations

import os
import subprocess
import sys

from dealerfunnel import cli


def test_configure_airflow_owns_the_home_and_keeps_exported_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("DEALERFUNNEL_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("AIRFLOW_HOME", "/somewhere/else")
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "True")
    monkeypatch.delenv("AIRFLOW__CORE__DAGS_FOLDER", raising=False)
    cli.configure_airflow()
    assert os.environ["AIRFLOW_HOME"] == str(tmp_path / "var" / "airflow")
    assert (tmp_path / "var" / "airflow").is_dir()
    assert os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] == "True"  # the caller's choice stays
    assert os.environ["AIRFLOW__CORE__DAGS_FOLDER"].endswith("dags")


def test_every_api_connector_counts_as_configured():
    # `make run` with only one API configured must still run the API DAG
    assert set(cli.API_CONNECTIONS) == {
        "META_ADS",
        "GOOGLE_ADS",
        "SALESFORCE",
        "HUBSPOT",
        "EVENTBRITE",
    }


def test_an_airflow_connection_variable_does_not_make_airflow_read_the_wrong_home(tmp_path):
    """Resolving the warehouse imports Airflow when AIRFLOW_CONN_* is set: by then its home
    and DAG folder must already be the project's."""
    code = (
        "import sys\n"
        "from dealerfunnel import cli\n"
        "rc = cli.main(['check-warehouse'])\n"
        "from airflow import settings\n"
        "print(rc, settings.DAGS_FOLDER)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        DEALERFUNNEL_DATA_DIR=str(tmp_path / "var"),
        WAREHOUSE_URL="postgresql://u@127.0.0.1:1/db",
        AIRFLOW_CONN_HUBSPOT='{"conn_type": "http", "host": "http://127.0.0.1:9"}',
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == f"2 {cli.dags_dir()}"

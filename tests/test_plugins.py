"""The Airflow plugin in plugins/ loads through Airflow's own plugin manager and serves the
report pages."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_airflow_loads_the_report_plugin_and_it_serves_the_report_folder(tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "index.html").write_text("<h1>Funnel SH001</h1>", encoding="utf-8")
    script = textwrap.dedent(
        """
        from airflow import plugins_manager
        from fastapi.testclient import TestClient

        apps, _ = plugins_manager.get_fastapi_plugins()
        external_views, _ = plugins_manager._get_ui_plugins()
        (entry,) = [a for a in apps if a["url_prefix"] == "/dealerfunnel"]
        client = TestClient(entry["app"])
        page = client.get("/reports/")
        missing = client.get("/reports/nope.html")
        print(page.status_code, page.text, missing.status_code)
        print(sorted(v["url_route"] for v in external_views))
        """
    )
    env = dict(
        os.environ,
        AIRFLOW_HOME=str(tmp_path / "airflow"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{tmp_path}/airflow.db",
        DEALERFUNNEL_REPORTS_DIR=str(reports),
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    served, routes = proc.stdout.strip().splitlines()[-2:]
    assert served == "200 <h1>Funnel SH001</h1> 404"
    assert routes == "['funnel-reports']"


def test_the_report_plugin_says_no_report_is_written_yet_when_the_folder_is_missing(tmp_path):
    """Before the first run there is no report folder: a 404 page that says so and how to write
    one, never a 500; once a run writes the folder the same app serves it."""
    reports = tmp_path / "reports"  # not created
    script = textwrap.dedent(
        """
        import os
        from pathlib import Path

        from airflow import plugins_manager
        from fastapi.testclient import TestClient

        apps, _ = plugins_manager.get_fastapi_plugins()
        (entry,) = [a for a in apps if a["url_prefix"] == "/dealerfunnel"]
        client = TestClient(entry["app"], raise_server_exceptions=False)
        for path in ("/reports/", "/reports/SH001.html"):
            answer = client.get(path)
            print("GOT", answer.status_code, "No report has been written yet" in answer.text,
                  "funnel_transform" in answer.text, answer.headers["content-type"])
        folder = Path(os.environ["DEALERFUNNEL_REPORTS_DIR"])
        folder.mkdir()
        (folder / "index.html").write_text("<h1>written</h1>", encoding="utf-8")
        answer = client.get("/reports/")
        print("GOT", answer.status_code, answer.text)
        """
    )
    env = dict(
        os.environ,
        AIRFLOW_HOME=str(tmp_path / "airflow"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{tmp_path}/airflow.db",
        DEALERFUNNEL_REPORTS_DIR=str(reports),
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = [line for line in proc.stdout.splitlines() if line.startswith("GOT ")]
    index, page, written = (line.removeprefix("GOT ") for line in got)
    assert index == "404 True True text/html; charset=utf-8"
    assert page == "404 True True text/html; charset=utf-8"
    assert written == "200 <h1>written</h1>"

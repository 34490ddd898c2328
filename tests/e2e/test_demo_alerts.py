"""End to end, issue #10's "done when": ``make demo`` (the synthetic dealer group's files, the
API sandbox, every DAG through Airflow, the local notification receivers) opens exactly the
planted alerts: the critical potential -> interested breach of the alert-scenario dealer, the
overdue warning of the planted overdue grade-D lead, and at most one data-quality digest. Every
other open graded lead, of the files or of the sandbox CRMs, keeps its grade's cadence.

``python -m dealerfunnel_demo`` runs in a subprocess against a fresh database of the test server;
the planted facts come from the generator's manifest (the same seed and size as the demo's).
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from dealerfunnel_demo.databases import with_database
from dealerfunnel_demo.synth import generate

from .airflow_stack import cli_env

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(2400)]


@pytest.fixture(scope="module")
def demo(tmp_path_factory, server_url):
    tmp = tmp_path_factory.mktemp("demo")
    manifest = generate(tmp / "expected")  # what the demo generates (its defaults)
    dbname = f"dealerfunnel_demo_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'create database "{dbname}"')
    url = with_database(server_url, dbname)
    proc = subprocess.run(
        [sys.executable, "-m", "dealerfunnel_demo"],
        env=cli_env(url, tmp, tmp / "landing"),
        capture_output=True,
        text=True,
        timeout=2200,
        cwd=ROOT,
    )
    yield {"url": url, "manifest": manifest, "proc": proc}
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{dbname}" with (force)')


def test_demo_opens_exactly_the_planted_alerts(demo):
    proc = demo["proc"]
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-3000:]
    with psycopg.connect(demo["url"]) as conn:
        episodes = conn.execute(
            "select rule, severity, dealer_code, coalesce(subject, '') from ops.alerts"
            " where status = 'open' order by rule, dealer_code, subject"
        ).fetchall()
        overdue = conn.execute(
            "select dealer_code, grade, overdue_leads from marts.mart_followup_monitoring"
            " where overdue_leads > 0"
        ).fetchall()
    print(f"\nepisodes opened by the demo: {len(episodes)}: {episodes}")
    scenario = demo["manifest"]["alert_scenario"]["dealer_code"]
    planted = demo["manifest"]["planted_overdue_lead"]
    digests = [e for e in episodes if e[0] == "data_quality"]
    assert len(digests) <= 1
    assert [e for e in episodes if e[0] != "data_quality"] == [
        ("overdue_followups", "warning", planted["dealer_code"], f"grade={planted['grade']}"),
        ("potential_to_interested_low", "critical", scenario, ""),
    ]
    # the overdue episode is the planted lead alone
    assert overdue == [(planted["dealer_code"], planted["grade"], 1)]


def test_the_overdue_lead_is_the_planted_one(demo):
    """The planted lead is open, and past its grade's cadence (the mart's, from the seed)."""
    planted = demo["manifest"]["planted_overdue_lead"]
    with psycopg.connect(demo["url"]) as conn:
        rows = conn.execute(
            "select leads.is_won or leads.is_lost, leads.last_contact_at"
            "   + monitor.cadence_max_days * interval '1 day' < monitor.as_of_at"
            " from intermediate.int_lead_records_matched_to_leads as records"
            " join marts.fct_leads as leads on records.lead_key = leads.lead_key"
            " join marts.mart_followup_monitoring as monitor"
            "   on monitor.dealer_code = leads.dealer_code and monitor.grade = %s"
            " where records.dealer_code = %s and records.source_system = 'dealer_export'"
            "   and records.source_lead_id = %s",
            (planted["grade"], planted["dealer_code"], planted["lead_id"]),
        ).fetchall()
    assert rows == [(False, True)]

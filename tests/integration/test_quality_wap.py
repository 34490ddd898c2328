"""Write-audit-publish with the real dbt project and GX against a real PostgreSQL.

1. Run 1: build the candidate, audit it, publish -> ``marts`` holds it.
2. More leads land; run 2 builds a different candidate (from a copy of the published
   ``fct_leads``: only the new leads are redone), but a blocking expectation fails:
   the run fails (QualityGateFailed) and ``marts`` is row-for-row what run 1 published.
3. The same expectation reconfigured as a warning: the candidate is published and the
   data-quality rule notifies (once) through a local webhook receiver.
"""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import yaml

from dealerfunnel.alerts.episodes import evaluate_rules
from dealerfunnel.alerts.rules import parse_rules
from dealerfunnel.landing import load_landing
from dealerfunnel.notify.config import parse_notifications
from dealerfunnel.quality import QualityGateFailed
from dealerfunnel.quality.tasks import (
    audit_candidate_marts,
    build_candidate_marts,
    publish_marts,
)
from dealerfunnel_demo.receivers import WebhookReceiver
from dealerfunnel_demo.synth import generate

pytestmark = pytest.mark.timeout(300)
ROOT = Path(__file__).resolve().parents[2]


def _snapshot(url: str, schema: str = "marts") -> dict[str, list]:
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(
                f'select * from "{schema}"."{table}" order by 1, 2, 3, 4'
            ).fetchall()
            for table in ("mart_funnel_conversion", "dim_dealerships")
        } | {
            "fct_leads": conn.execute(
                f'select lead_key, channel, current_stage from "{schema}".fct_leads order by 1'
            ).fetchall()
        }


def _suites(tmp_path: Path, severity: str) -> Path:
    """The committed suites, with one mart expectation that this data fails."""
    folder = tmp_path / f"suites_{severity}"
    shutil.copytree(ROOT / "expectations", folder, dirs_exist_ok=True)
    path = folder / "mart_funnel_conversion.yml"
    suite = yaml.safe_load(path.read_text())
    suite["expectations"].append(
        {
            "type": "expect_table_row_count_to_be_between",
            "kwargs": {"max_value": 10},
            "severity": severity,
            "notes": "test: too many rows for this gate",
        }
    )
    path.write_text(yaml.safe_dump(suite))
    return folder


def _more_leads(url: str, n: int = 30) -> None:
    batch = uuid.uuid4()
    now = datetime.now(UTC)
    with psycopg.connect(url) as conn:
        conn.execute(
            "insert into ops.load_batches (batch_id, source, dealer_code, object, started_at,"
            " finished_at, status) values (%s, 'dealer_export', 'SH001', 'leads', %s, %s,"
            " 'loaded')",
            (batch, now, now),
        )
        with conn.cursor().copy(
            "copy raw.dealer_export__leads (lead_id, created_at, payload, _dealer_code, _source,"
            " _batch_id, _extracted_at, _file_name, _file_sha256, _row_number) from stdin"
        ) as copy:
            for i in range(n):
                copy.write_row(
                    (
                        f"WAP{i}",
                        "2026-10-20T02:00:00Z",
                        json.dumps({"lead_id": f"WAP{i}", "channel": "wap_test"}),
                        "SH001",
                        "dealer_export",
                        batch,
                        now,
                        "leads_wap.csv",
                        "wap",
                        i + 1,
                    )
                )


def test_blocking_failure_keeps_published_marts_and_warning_publishes(
    clean_warehouse, data_dir, tmp_path, monkeypatch
):
    url = clean_warehouse
    landing = tmp_path / "landing"
    generate(landing, seed=7, n_leads=300, weeks=6)
    load_landing(url, landing)

    # Run 1: write, audit, publish.
    build_candidate_marts(url)
    audit_candidate_marts(url)
    published = publish_marts(url)
    assert "mart_funnel_conversion" in published["published"]
    before = _snapshot(url)
    assert before["fct_leads"]

    # Run 2: new data, a blocking expectation fails -> the run fails, marts untouched.
    _more_leads(url)
    monkeypatch.setenv("DEALERFUNNEL_EXPECTATIONS_DIR", str(_suites(tmp_path, "blocking")))
    build_candidate_marts(url)
    candidate = _snapshot(url, "marts_candidate")
    assert candidate != before  # the candidate really differs
    # no marts_previous yet: the candidate started as a copy of the published fct_leads, so
    # run 2 redid only the 30 new leads (from empty it would have redone every lead)
    with psycopg.connect(url) as conn:
        redone = conn.execute(
            "select source_lead_id from marts_candidate.fct_leads"
            " where refreshed_at > (select max(refreshed_at) from marts.fct_leads)"
        ).fetchall()
    assert sorted(r[0] for r in redone) == sorted(f"WAP{i}" for i in range(30))
    with pytest.raises(QualityGateFailed, match="expect_table_row_count_to_be_between"):
        audit_candidate_marts(url)
    assert _snapshot(url) == before

    # The same check as a warning: published, and notified as a data-quality warning.
    web = WebhookReceiver().start()
    try:
        monkeypatch.setenv(
            "AIRFLOW_CONN_WAP_HOOK", json.dumps({"conn_type": "http", "host": f"{web.url}/h"})
        )
        monkeypatch.setenv("DEALERFUNNEL_EXPECTATIONS_DIR", str(_suites(tmp_path, "warning")))
        result = audit_candidate_marts(url)
        assert result["success"] and len(result["warnings"]) >= 1
        publish_marts(url)
        assert _snapshot(url) == candidate
        with psycopg.connect(url) as conn:
            assert conn.execute("select count(*) from marts_previous.fct_leads").fetchone()[
                0
            ] == len(before["fct_leads"])

        notifications = parse_notifications(
            {
                "retry": {"attempts": 1},
                "recipients": {"de": {"channels": [{"type": "webhook", "conn_id": "wap_hook"}]}},
                "routes": [{"match": {"rule_type": ["data_quality"]}, "recipients": ["de"]}],
            }
        )
        rules = parse_rules({"rules": [{"rule": "dq", "type": "data_quality"}]})
        for _ in range(2):
            evaluate_rules(url, rules, types=("data_quality",), notifications=notifications)
        names = [r.body["alert"]["metric"] for r in web.requests]
        bodies = " ".join(json.dumps(r.body) for r in web.requests)
        # the run's warnings go out as one digest that lists each check
        assert "expect_table_row_count_to_be_between" in bodies
        assert len(names) == len(set(names))  # notified once
    finally:
        web.stop()

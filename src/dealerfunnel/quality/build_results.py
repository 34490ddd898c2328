"""dbt's own checks feed the same gate: ``run_results.json`` (tests, models) and
``sources.json`` (source freshness) become :class:`GateResult` failures with a severity from
``config/quality.yml``, recorded like GX results and alerted by the data-quality rule.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dealerfunnel.quality.config import QualityConfig
from dealerfunnel.quality.gates import CheckFailure, GateResult

TEST_STATUSES = {"fail", "warn", "error"}


def _load(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _short(unique_id: str) -> str:
    # test.dealer_funnel.not_null_fct_leads_lead_key.5c3e -> not_null_fct_leads_lead_key
    parts = unique_id.split(".")
    return parts[2] if len(parts) > 2 else unique_id


def run_results_gate(path: Path, config: QualityConfig) -> GateResult:
    """Classify ``dbt build`` results: failing tests and failed models."""
    result = GateResult(success=True)
    data = _load(path)
    if data is None:
        result.add_failure(
            CheckFailure(
                source="gate",
                suite="dbt",
                expectation="run_results",
                check_name="dbt produced run_results.json",
                check_key="gate:dbt:run_results",
                kwargs={"path": str(path)},
                severity="blocking",
                observed="missing",
            )
        )
        return result
    for item in data.get("results", []):
        unique_id = item.get("unique_id", "")
        status = str(item.get("status", ""))
        resource = unique_id.split(".", 1)[0]
        is_test = resource in ("test", "unit_test")
        result.evaluated += 1
        if is_test and status in TEST_STATUSES:
            severity = config.dbt_tests.get(status, "blocking")
            source = "dbt_test"
        elif not is_test and status == "error":
            severity = config.dbt_models.get("error", "blocking")
            source = "dbt_model"
        else:
            continue
        if severity == "ignore":
            continue
        result.add_failure(
            CheckFailure(
                source=source,
                suite="dbt",
                expectation=_short(unique_id),
                check_name=f"dbt {resource} {_short(unique_id)}: {status}",
                check_key=f"{source}:{unique_id}",
                kwargs={"unique_id": unique_id},
                severity=severity,
                observed=item.get("failures")
                if item.get("failures") is not None
                else (item.get("message") or status),
            )
        )
    return result


def freshness_gate(
    path: Path, config: QualityConfig, *, configured: set[str] | None = None
) -> GateResult:
    """Classify ``dbt source freshness`` results (``sources.json``).

    With ``configured`` (dbt source names), the results of any other source are skipped: a
    source that is not set up is expected to be empty, not stale."""
    result = GateResult(success=True)
    data = _load(path)
    if data is None:
        severity = config.source_freshness.get("runtime error", "warning")
        if severity == "ignore":
            return result
        result.add_failure(
            CheckFailure(
                source="dbt_freshness",
                suite="dbt_source_freshness",
                expectation="sources_json",
                check_name="dbt source freshness produced sources.json",
                check_key="dbt_freshness:sources_json",
                kwargs={"path": str(path)},
                severity=severity,
                observed="missing",
            )
        )
        return result
    for item in data.get("results", []):
        status = str(item.get("status", ""))
        unique_id = item.get("unique_id", "")
        parts = unique_id.split(".")
        if configured is not None and len(parts) > 2 and parts[2] not in configured:
            continue
        result.evaluated += 1
        severity = config.source_freshness.get(status)
        if status == "pass" or severity in (None, "ignore"):
            continue
        name = ".".join(unique_id.split(".")[2:]) or unique_id
        age = item.get("max_loaded_at_time_ago_in_s")
        result.add_failure(
            CheckFailure(
                source="dbt_freshness",
                suite="dbt_source_freshness",
                expectation="source_freshness",
                check_name=f"source {name} freshness: {status}",
                check_key=f"dbt_freshness:{unique_id}",
                kwargs={"source": name, "criteria": item.get("criteria")},
                severity=severity,
                observed=f"{age / 3600:.1f}h since last load"
                if isinstance(age, int | float)
                else (item.get("error") or status),
            )
        )
    return result

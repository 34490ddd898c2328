"""dbt's own checks feed the same gate: ``run_results.json`` (tests, models) becomes
:class:`GateResult` failures with a severity from ``config/quality.yml``, recorded like GX
results and alerted by the data-quality rule.
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

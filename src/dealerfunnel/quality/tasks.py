"""Task-level wrappers: run a gate, record it in ``ops.quality_runs``, fail loudly on blocking.

Every gate run (GX checkpoint, dbt build results) is recorded, pass or
fail, so the data-quality alert rule can open an episode on a failure and resolve it when the
same check passes again.
"""

from __future__ import annotations

from dealerfunnel.quality.gates import GateResult, QualityGateFailed, record_quality_run, run_gate
from dealerfunnel.warehouse import resolve_warehouse_url


def _run_id() -> str | None:
    try:
        from airflow.sdk import get_current_context

        context = get_current_context()
    except Exception:
        return None
    return f"{context['dag'].dag_id}/{context['run_id']}"


def finish_gate(
    url: str, checkpoint_name: str, result: GateResult, *, raise_on_blocking: bool = True
) -> dict:
    """Record ``result``; raise :class:`QualityGateFailed` listing the blocking failures."""
    record_quality_run(url, checkpoint_name, result, run_id=_run_id())
    if not result.success and raise_on_blocking:
        lines = [
            f"{f.get('check_name') or f['suite'] + ': ' + f['expectation']} "
            f"{f['kwargs']} observed={f['observed']}"
            for f in result.blocking_failures
        ]
        raise QualityGateFailed(
            f"{len(lines)} blocking check(s) failed in {checkpoint_name}:\n"
            + "\n".join(lines)
            + f"\nData Docs: {result.data_docs_index}"
        )
    return result.as_dict()


def validate_raw_layer(url: str | None = None) -> dict:
    """The GX raw suites, recorded; blocking failures raise.

    Source freshness is not a gate: it is a published mart (``mart_source_freshness``) that the
    ``source_freshness`` alert rule reads, so a silent source never blocks the others' data."""
    from dealerfunnel.quality.gates import suite_names_for_schema

    url = url or resolve_warehouse_url()
    raw = run_gate(url, suite_names_for_schema("raw"), checkpoint_name="raw_gate")
    return {"raw_gate": finish_gate(url, "raw_gate", raw)}


def finish_gate_raise(result: GateResult, checkpoint_name: str) -> None:
    lines = [
        f"{f.get('check_name') or f['expectation']} observed={f['observed']}"
        for f in result.blocking_failures
    ]
    raise QualityGateFailed(
        f"{len(lines)} blocking check(s) failed in {checkpoint_name}:\n"
        + "\n".join(lines)
        + (f"\nData Docs: {result.data_docs_index}" if result.data_docs_index else "")
    )


def build_candidate_marts(url: str | None = None, *, full_refresh: bool = False) -> dict:
    """WAP write: dbt build into the candidate schema (incremental unless a full refresh is
    asked or due); dbt tests feed the gate."""
    from dealerfunnel.quality.wap import build_candidate

    url = url or resolve_warehouse_url()
    result, tail = build_candidate(url, full_refresh=full_refresh)
    summary = finish_gate(url, "dbt_build", result, raise_on_blocking=False)
    if not result.success:
        finish_gate_raise(result, f"dbt_build\n{tail[-1500:]}")
    return summary


def audit_candidate_marts(url: str | None = None) -> dict:
    """WAP audit: the GX mart suites on the candidate schema."""
    from dealerfunnel.quality.wap import validate_candidate

    url = url or resolve_warehouse_url()
    return finish_gate(url, "mart_gate", validate_candidate(url))


def publish_marts(url: str | None = None) -> dict:
    """WAP publish: swap the validated candidate in as ``marts``."""
    from dealerfunnel.quality.wap import publish

    return publish(url or resolve_warehouse_url())

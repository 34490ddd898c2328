"""Task-level wrappers: run a gate, record it in ``ops.quality_runs``, fail loudly on blocking.

Every gate run (GX checkpoint, dbt build results) is recorded, pass or
fail, so the data-quality alert rule can open an episode on a failure and resolve it when the
same check passes again.
"""

from __future__ import annotations

from psycopg import sql

from dealerfunnel.quality.gates import GateResult, QualityGateFailed, record_quality_run, run_gate
from dealerfunnel.warehouse import resolve_warehouse_url
from dealerfunnel.warehouse.connection import connect


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


# The rows the incremental raw gate checks: those of the load batches it has not passed yet.
# `= any(array(...))`, not `in (select ...)`: PostgreSQL reads the list first and fetches its
# batches through the raw table's _batch_id index (raw tables have no statistics where autovacuum
# is off, and the semi-join it planned instead scanned the whole table for every expectation).
PENDING_BATCH_ROWS = sql.SQL(
    "_batch_id = any(array(select batch_id from ops.raw_gate_batches where not passed))"
)


def list_raw_gate_batches(url: str) -> bool:
    """List the finished load batches not yet in ``ops.raw_gate_batches`` as pending; return
    whether a gate has passed any batch before (False: the first run, which checks every row).

    Committed before the gate reads: the rows it checks are those of the batches listed now.
    A batch still ``running`` (an API extract commits page by page) waits for the next gate.
    """
    with connect(url) as conn:
        conn.execute(
            """
            insert into ops.raw_gate_batches (batch_id)
            select batch_id from ops.load_batches where status <> 'running'
            on conflict (batch_id) do nothing
            """
        )
        (gated_before,) = conn.execute(
            "select exists (select 1 from ops.raw_gate_batches where passed)"
        ).fetchone()
    return bool(gated_before)


def pass_raw_gate_batches(url: str) -> int:
    """Mark the pending batches passed (the gate found nothing blocking); return how many."""
    with connect(url) as conn:
        cur = conn.execute(
            "update ops.raw_gate_batches set passed = true, passed_at = now() where not passed"
        )
        return cur.rowcount


def validate_raw_layer(url: str | None = None, *, full: bool | None = None) -> dict:
    """The GX raw suites on the rows loaded since the last passing raw gate, recorded;
    blocking failures raise (and the batches stay pending, checked again next time).

    Row-level expectations check the rows of the load batches not yet passed
    (``ops.raw_gate_batches``); table-level ones (columns, row counts) the whole table; a
    table with no such batch is not validated (nothing in it changed since it passed). Every
    row is checked on the first run and when ``full`` (default: ``config/quality.yml``
    ``raw_gate.full``). Source freshness is not a gate: it is a published mart
    (``mart_source_freshness``) that the ``source_freshness`` alert rule reads, so a silent
    source never blocks the others' data."""
    from dealerfunnel.quality.config import load_quality_config
    from dealerfunnel.quality.gates import suite_names_for_schema

    url = url or resolve_warehouse_url()
    full = load_quality_config().raw_gate_full if full is None else full
    gated_before = list_raw_gate_batches(url)
    mode = "full" if full or not gated_before else "incremental"
    raw = run_gate(
        url,
        suite_names_for_schema("raw"),
        checkpoint_name="raw_gate",
        row_filter=None if mode == "full" else PENDING_BATCH_ROWS,
    )
    summary = finish_gate(url, "raw_gate", raw)
    summary["mode"] = mode
    summary["batches_passed"] = pass_raw_gate_batches(url)
    return {"raw_gate": summary}


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

"""Task-level wrapper: run a gate and fail loudly on a blocking failure."""

from __future__ import annotations

from dealerfunnel.quality.gates import QualityGateFailed, run_gate
from dealerfunnel.warehouse import resolve_warehouse_url


def gate(suites: list[str], *, checkpoint_name: str, url: str | None = None) -> dict:
    result = run_gate(url or resolve_warehouse_url(), suites, checkpoint_name=checkpoint_name)
    if not result.success:
        lines = [
            f"{f['suite']}: {f['expectation']} {f['kwargs']} observed={f['observed']}"
            for f in result.blocking_failures
        ]
        raise QualityGateFailed(
            f"{len(lines)} blocking expectation(s) failed in {checkpoint_name}:\n"
            + "\n".join(lines)
            + f"\nData Docs: {result.data_docs_index}"
        )
    return result.as_dict()

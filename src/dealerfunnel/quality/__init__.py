"""Great Expectations gates: suites as code in ``expectations/``, checkpoints and Data Docs."""

from dealerfunnel.quality.gates import GateResult, QualityGateFailed, load_suite_specs, run_gate

__all__ = ["GateResult", "QualityGateFailed", "load_suite_specs", "run_gate"]

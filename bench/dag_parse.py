"""DAG parse time per file, each in a fresh interpreter, timing only the DAG file's own import
(Airflow and the package imported first). Moved here from the test suite, where a slow shared
runner could fail a wall-clock bound: ``python -m bench.dag_parse``."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

DAGS = Path(__file__).resolve().parents[1] / "dags"
BUDGET_SECONDS = 2.0  # Airflow's dag-processor default timeout is 30 s; we want far below


def parse_times() -> dict[str, float]:
    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, AIRFLOW_HOME=home, AIRFLOW__CORE__LOAD_EXAMPLES="False")
        for path in sorted(DAGS.glob("*.py")):
            code = (
                "import time, runpy, airflow.sdk, dealerfunnel\n"
                "t = time.perf_counter()\n"
                f"runpy.run_path({str(path)!r})\n"
                "print(time.perf_counter() - t)\n"
            )
            out = subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            )
            times[path.name] = float(out.stdout.strip().splitlines()[-1])
    return times


def main() -> None:
    for name, seconds in parse_times().items():
        verdict = "ok" if seconds < BUDGET_SECONDS else f"OVER {BUDGET_SECONDS:.0f}s budget"
        print(f"DAG parse {name:32} {seconds:6.3f}s  {verdict}")


if __name__ == "__main__":
    main()

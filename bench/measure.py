"""Run one command and report the peak memory of its process tree.

``python bench/measure.py OUT.json LOG -- command ...``: runs the command with stdout and stderr
appended to ``LOG``, then writes ``{"returncode", "wall_seconds", "maxrss_mb"}`` to
``OUT.json``. ``maxrss_mb`` is ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` of this process, which
runs nothing else: the largest resident set of the command and of every process it waited
for (dbt, for example). Standard library only, so any interpreter can run it.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time


def main() -> None:
    out, log, sep, *command = sys.argv[1:]
    if sep != "--" or not command:
        raise SystemExit(__doc__)
    started = time.perf_counter()
    with open(log, "ab") as handle:
        code = subprocess.run(command, stdout=handle, stderr=handle, check=False).returncode
    wall = time.perf_counter() - started
    maxrss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(
            {"returncode": code, "wall_seconds": round(wall, 3), "maxrss_mb": maxrss_kb / 1024},
            handle,
        )


if __name__ == "__main__":
    main()

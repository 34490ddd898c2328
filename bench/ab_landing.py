"""Interleaved A/B of the landing loader of two source trees against a bare COPY.

``python -m bench.ab_landing LANDING --repeat 3 --tree main=/path/to/export --tree new=.``

Each run is one measured step (:mod:`bench.steps` ``copy`` or ``load``) on a fresh database of
the server ``WAREHOUSE_URL``, schema made by that tree's own ``ensure_schema``, with the tree's
``src``, ``tools`` and root first on ``PYTHONPATH`` and ``DEALERFUNNEL_HOME`` set to it (the
COPY with the first tree). The order of the steps alternates from repeat to repeat. Prints
every time, the medians and each loader's ratio COPY time / loader time. ``LANDING`` is a
folder written by ``python -m bench.generate``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

from dealerfunnel_demo.databases import with_database


def _env(tree: Path) -> dict[str, str]:
    path = os.pathsep.join(str(tree / p) for p in ("src", "tools", ""))
    return dict(os.environ, PYTHONPATH=path, DEALERFUNNEL_HOME=str(tree))


def _fresh(server: str, tree: Path) -> tuple[str, str]:
    name = f"bench_ab_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    url = with_database(server, name)
    code = f"from dealerfunnel.warehouse import ensure_schema; ensure_schema({url!r})"
    subprocess.run([sys.executable, "-c", code], env=_env(tree), check=True)
    return name, url


def _drop(server: str, name: str) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ab_landing")
    parser.add_argument("landing", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tree", action="append", required=True, help="LABEL=PATH")
    args = parser.parse_args()
    server = os.environ.get("WAREHOUSE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    trees = {
        label: Path(path).resolve() for label, path in (item.split("=", 1) for item in args.tree)
    }
    steps = [("copy", next(iter(trees.values()))), *trees.items()]
    times: dict[str, list[float]] = {label: [] for label, _ in steps}
    with tempfile.TemporaryDirectory() as work:
        for attempt in range(args.repeat):
            for label, tree in steps if attempt % 2 == 0 else steps[::-1]:
                name, url = _fresh(server, tree)
                result = Path(work) / f"{label}-{attempt}.json"
                command = [
                    sys.executable,
                    "-m",
                    "bench.steps",
                    "copy" if label == "copy" else "load",
                ]
                command += ["--url", url, "--landing", str(args.landing), "--result", str(result)]
                try:
                    subprocess.run(
                        command, env=_env(tree), cwd=tree, check=True, stdout=subprocess.DEVNULL
                    )
                finally:
                    _drop(server, name)
                data = json.loads(result.read_text())
                times[label].append(data["seconds"])
                print(
                    f"run {attempt} {label}: {data['seconds']:.2f} s, {data['rows']} rows",
                    flush=True,
                )
    medians = {label: statistics.median(t) for label, t in times.items()}
    for label, median in medians.items():
        ratio = "" if label == "copy" else f", COPY/loader {medians['copy'] / median:.3f}"
        runs = ", ".join(f"{t:.2f}" for t in times[label])
        print(f"{label}: median {median:.2f} s (runs {runs}){ratio}")
    print("load average:", Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    main()

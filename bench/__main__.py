"""Benchmark harness: ``python -m bench`` (or ``make bench``).

Measures, in one run and on one database, ratios that do not depend on the machine:

1. **Landing throughput vs a bare PostgreSQL COPY.** The synthetic dealer group (20,000 leads,
   about 150k CSV rows; ``--dealers N`` adds N copies of a dealer for group scale) is loaded
   by ``dealerfunnel.landing.load_landing`` in three modes (set-based on 2 and 1 workers, row
   by row on 1) and by a bare ``COPY ... FROM STDIN (FORMAT csv, HEADER)`` into all-text
   tables, each on a fresh database, interleaved. Reported: rows/s of each and each mode's
   throughput as a fraction of the bare COPY's.
2. **Re-run cost.** A second ``load_landing`` over the same files (all skipped by hash).
3. **dbt build** of the whole project on the loaded data, and ``dbt parse`` alone, so the
   transform cost per run is visible next to the load.
4. **Cosmos overhead**: the same project rendered by Cosmos (manifest load mode, one Airflow
   task per node) and run with ``dag.test()``, against a bare ``dbt build`` in the same run
   (``bench/cosmos_overhead.py``).

5. **DAG parse time** per file (``bench/dag_parse.py``), each in a fresh interpreter.

The warehouse is ``WAREHOUSE_URL`` (a scratch database is created on that server and dropped
afterwards) or, when unset, an embedded PostgreSQL in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql


def _server_url(tmp: Path) -> str:
    url = os.environ.get("WAREHOUSE_URL")
    if url:
        from dealerfunnel.warehouse.connection import to_libpq

        return to_libpq(url)
    import pgserver

    return pgserver.get_server(tmp / "pg", cleanup_mode="stop").get_uri()


def bare_copy(url: str, landing: Path) -> tuple[int, float]:
    """COPY every CSV into an all-text table per file header; return (rows, seconds)."""
    files = sorted(p for p in landing.rglob("*.csv"))
    rows = 0
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        conn.execute("drop schema if exists bench_bare cascade; create schema bench_bare")
        for i, path in enumerate(files):
            data = path.read_bytes()
            header = data.decode("utf-8-sig").split("\n", 1)[0].split(",")
            table = sql.Identifier("bench_bare", f"t{i}")
            conn.execute(
                sql.SQL("create table {} ({})").format(
                    table,
                    sql.SQL(", ").join(
                        sql.SQL("{} text").format(sql.Identifier(f"c{j}"))
                        for j in range(len(header))
                    ),
                )
            )
            with conn.cursor() as cur:
                with cur.copy(
                    sql.SQL("copy {} from stdin (format csv, header true)").format(table)
                ) as copy:
                    copy.write(data.removeprefix(b"\xef\xbb\xbf"))
                rows += cur.rowcount
        conn.commit()
    return rows, time.perf_counter() - started


def replicate_dealers(landing: Path, dealers: int) -> None:
    """Group scale: ``dealers`` more folders, each a copy of SH001's files with its own dealer
    code and lead ids (``SH001-`` -> ``D0001-`` ...): same shapes, distinct rows."""
    source = landing / "SH001"
    for i in range(1, dealers + 1):
        code = f"D{i:04d}"
        target = landing / code
        target.mkdir(exist_ok=True)
        for path in source.iterdir():
            data = path.read_bytes().replace(b"SH001-", f"{code}-".encode())
            (target / path.name).write_bytes(data)


LOADER_MODES = {  # name -> load_landing keyword arguments
    "set-based, 2 workers": {"set_based": True, "workers": 2},
    "set-based, 1 worker": {"set_based": True, "workers": 1},
    "row by row, 1 worker": {"set_based": False, "workers": 1},
}


def _fresh_database(server: str) -> str:
    from dealerfunnel.warehouse import ensure_schema
    from dealerfunnel_demo.databases import with_database

    dbname = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(dbname)))
    url = with_database(server, dbname)
    ensure_schema(url)
    return url


def _drop_database(server: str, url: str) -> None:
    dbname = url.rsplit("/", 1)[-1].split("?")[0]
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(dbname)))


def bench_landing(server: str, landing: Path, repeat: int) -> str:
    """Each loader mode and a bare COPY of the same files, each on a fresh database, modes
    interleaved ``repeat`` times; prints medians and ratios; returns the last database's URL
    (loaded set-based, for the dbt step)."""
    from dealerfunnel.landing import load_landing

    times: dict[str, list[float]] = {name: [] for name in ("bare COPY", *LOADER_MODES)}
    rows = 0
    url = ""
    for attempt in range(repeat):
        order = ["bare COPY", *LOADER_MODES]
        if attempt % 2:  # alternate so that caching favours no side
            order.reverse()
        for name in order:
            if url:
                _drop_database(server, url)
            url = _fresh_database(server)
            if name == "bare COPY":
                rows, seconds = bare_copy(url, landing)
            else:
                started = time.perf_counter()
                report = load_landing(url, landing, **LOADER_MODES[name])
                seconds = time.perf_counter() - started
                assert report["totals"]["rows_in"] == rows or not rows
            times[name].append(seconds)
    _drop_database(server, url)
    url = _fresh_database(server)
    load_landing(url, landing)
    started = time.perf_counter()
    load_landing(url, landing)
    rerun = time.perf_counter() - started
    bare = statistics.median(times["bare COPY"])
    for name, runs in times.items():
        median = statistics.median(runs)
        print(
            f"{name:22s}: {rows} rows, median {median:.2f}s = {rows / median:,.0f} rows/s"
            f" = {bare / median:.2f} of bare COPY's throughput (runs {[round(x, 2) for x in runs]})"
        )
    print(f"re-run over loaded files (all skipped): {rerun:.2f}s")
    return url


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--weeks", type=int, default=26)
    parser.add_argument(
        "--dealers", type=int, default=0, help="add this many copies of a dealer (group scale)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each load")
    parser.add_argument("--skip-dbt", action="store_true")
    parser.add_argument("--skip-cosmos", action="store_true", help="skip the slow Cosmos run")
    args = parser.parse_args()

    from dealerfunnel_demo.synth import generate

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.environ["DEALERFUNNEL_DATA_DIR"] = str(tmp / "var")
        server = _server_url(tmp)
        landing = tmp / "landing"
        t = time.perf_counter()
        manifest = generate(landing, n_leads=args.leads, weeks=args.weeks)
        replicate_dealers(landing, args.dealers)
        gen_s = time.perf_counter() - t
        files = sum(1 for _ in landing.rglob("*.csv"))
        print(
            f"generated {manifest['totals']['rows']} rows (+{args.dealers} dealer copies,"
            f" {files} files) in {gen_s:.2f}s"
        )
        url = bench_landing(server, landing, args.repeat)

        if not args.skip_dbt:
            from dealerfunnel.transform import run_dbt

            t = time.perf_counter()
            run_dbt(["parse"], url)
            parse_s = time.perf_counter() - t
            t = time.perf_counter()
            run_dbt(["build"], url)
            build_s = time.perf_counter() - t
            print(f"dbt parse: {parse_s:.1f}s; dbt build (all models + tests): {build_s:.1f}s")

        if not args.skip_cosmos:
            import json
            import subprocess
            import sys

            proc = subprocess.run(
                [sys.executable, "-m", "bench.cosmos_overhead", "--url", url],
                capture_output=True,
                text=True,
                check=False,
                env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
            )
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
            if not lines:
                print("cosmos benchmark failed:\n" + (proc.stderr or proc.stdout)[-2000:])
            else:
                r = json.loads(lines[-1].removeprefix("RESULT "))
                print(
                    f"Cosmos DbtDag ({r['tasks']} tasks, manifest mode, dag.test): "
                    f"{r['cosmos_run_s']:.1f}s vs bare dbt build {r['bare_build_s']:.1f}s "
                    f"in the same run = {r['cosmos_run_s'] / r['bare_build_s']:.1f}x "
                    f"(DAG render {r['cosmos_dag_build_s']:.2f}s, state {r['state']})"
                )

        from bench.dag_parse import main as dag_parse

        dag_parse()

        dbname = url.rsplit("/", 1)[-1].split("?")[0]
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(dbname)))


if __name__ == "__main__":
    main()

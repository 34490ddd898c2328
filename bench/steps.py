"""One measured step of the bench, in its own process: ``python -m bench.steps STEP ...``.

Run by :mod:`bench.__main__` under :mod:`bench.measure` (which reports the process tree's peak
memory), one process per measured step, so no step's memory or warm caches leak into
another's. Each step writes a JSON result (``--result``) with ``seconds``: the step's own work,
timed inside the process after its imports (the same rule for every loader):

- ``copy``: a bare ``COPY ... FROM STDIN (FORMAT csv, HEADER)`` of every CSV, in one
  transaction, into all-text tables (the floor: no parsing, typing, time zones,
  stage mapping, payload, hashing or quarantine);
- ``load``: ``dealerfunnel.landing.load_landing`` over the landing folder, whatever loader the
  checked-out branch has (report totals included: rows in, loaded, quarantined);
- ``dbt``: the ``dbt build`` of ``funnel_transform``'s ``build_candidate`` task run bare
  (:func:`dealerfunnel.quality.wap.build_candidate` as the transformer role: ``dbt build --vars
  '{marts_schema: marts_candidate}'``, a full refresh with ``--full-refresh``), with no Airflow;
- ``airflow``: DAGs run by Airflow with ``dag.test()`` (:func:`dealerfunnel.cli.run_dags`) on a
  migrated metadata database (migration and DAG parsing not timed); per-DAG and per-task
  durations from the task instances; ``--conf`` is the run's conf (``{"full_refresh": true}``);
- ``checksums``: :func:`dealerfunnel_demo.checksums.checksums` of the published marts and the
  incremental intermediates (not a timed figure).

``--as-of`` pins dbt's ``as_of_at`` var for the builds of ``dbt`` and ``airflow`` (the bench
pins one value for every build of a run, so the checksums of an incremental build and a full
refresh can agree). ``build_candidate`` takes it as ``vars_``; ``funnel_transform`` has no way
to pass dbt vars (its conf carries ``full_refresh`` only), so the ``airflow`` step wraps
``dealerfunnel.quality.wap.build_candidate`` in this process, which is where ``dag.test()`` runs
the tasks (in process, no executor) and where the task imports it from at run time.

After a build, ``dbt`` and ``airflow`` report how it ran (``ops.dbt_builds``: full refresh or
incremental, and why) and how many ``fct_leads`` rows it wrote (``refreshed_at`` at or after
the build's start) of how many.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import psycopg
from psycopg import sql


def bare_copy(url: str, landing: Path) -> dict:
    """COPY every CSV into an all-text table per distinct header (``leads*.csv`` files share
    one), all in one transaction: the cheapest way in, the floor the loader is held to (the
    loader commits once per file); return rows and seconds."""
    files = sorted(landing.rglob("*.csv"))
    rows = 0
    tables: dict[bytes, sql.Identifier] = {}
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        conn.execute("drop schema if exists bench_bare cascade; create schema bench_bare")
        for path in files:
            data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
            header = data.split(b"\n", 1)[0]
            table = tables.get(header)
            if table is None:
                table = tables[header] = sql.Identifier("bench_bare", f"t{len(tables)}")
                columns = sql.SQL(", ").join(
                    sql.SQL("{} text").format(sql.Identifier(f"c{j}"))
                    for j in range(len(header.decode("utf-8").split(",")))
                )
                conn.execute(sql.SQL("create table {} ({})").format(table, columns))
            with conn.cursor() as cur:
                copy_sql = sql.SQL("copy {} from stdin (format csv, header true)").format(table)
                with cur.copy(copy_sql) as copy:
                    copy.write(data)
                rows += cur.rowcount
        conn.commit()
    return {"seconds": time.perf_counter() - started, "rows": rows, "files": len(files)}


def load(url: str, landing: Path) -> dict:
    from dealerfunnel.landing import load_landing

    started = time.perf_counter()
    report = load_landing(url, landing)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": report["totals"]["rows_in"], "totals": report["totals"]}


def _vars(as_of: str | None) -> dict | None:
    return {"as_of_at": as_of} if as_of else None


def last_build(url: str, marts_schema: str) -> dict:
    """How the latest ``dbt build`` ran (``ops.dbt_builds``) and the ``fct_leads`` rows in
    ``marts_schema`` it wrote (``refreshed_at`` = dbt's start, after the row's ``started_at``)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "select started_at, is_full_refresh, reason from ops.dbt_builds"
            " order by dbt_build_id desc limit 1"
        ).fetchone()
        if row is None:
            return {}
        started_at, full, reason = row
        refreshed, total = conn.execute(
            sql.SQL("select count(*) filter (where refreshed_at >= %s), count(*) from {}").format(
                sql.Identifier(marts_schema, "fct_leads")
            ),
            (started_at,),
        ).fetchone()
    return {
        "full_refresh": full,
        "reason": reason,
        "fct_leads_refreshed": refreshed,
        "fct_leads_rows": total,
    }


def dbt_bare(url: str, *, full_refresh: bool, as_of: str | None) -> dict:
    from dealerfunnel.access import ensure_roles
    from dealerfunnel.access.roles import TASK_ROLES
    from dealerfunnel.quality.config import load_quality_config
    from dealerfunnel.quality.wap import build_candidate
    from dealerfunnel.warehouse.connection import with_session_role

    ensure_roles(url)  # as funnel_transform's first task does; not timed
    started = time.perf_counter()
    result, tail = build_candidate(
        with_session_role(url, TASK_ROLES["transformer"]),
        full_refresh=full_refresh,
        vars_=_vars(as_of),
    )
    seconds = time.perf_counter() - started
    if not result.success:
        raise SystemExit(f"dbt build failed:\n{tail}")
    return {"seconds": seconds, "build": last_build(url, load_quality_config().candidate_schema)}


def _pin_as_of(as_of: str) -> None:
    """Make every ``build_candidate`` call of this process pass ``as_of_at`` to dbt."""
    import functools

    from dealerfunnel.quality import wap

    original = wap.build_candidate

    @functools.wraps(original)
    def pinned(*args, vars_: dict | None = None, **kwargs):
        return original(*args, vars_={"as_of_at": as_of, **(vars_ or {})}, **kwargs)

    wap.build_candidate = pinned


def airflow(url: str, dag_ids: list[str], *, conf: dict | None, as_of: str | None) -> dict:
    from dealerfunnel.cli import dag_bag

    if as_of:
        _pin_as_of(as_of)
    bag = dag_bag(url)
    dags: dict[str, dict] = {}
    total = 0.0
    for dag_id in dag_ids:
        started = time.perf_counter()
        run = bag.get_dag(dag_id).test(run_conf=conf)
        seconds = time.perf_counter() - started
        total += seconds
        tasks = {
            ti.task_id: round((ti.end_date - ti.start_date).total_seconds(), 2)
            for ti in run.get_task_instances()
            if ti.start_date and ti.end_date
        }
        dags[dag_id] = {"seconds": seconds, "state": str(run.state), "tasks": tasks}
        if str(run.state) != "success":
            failed = [ti.task_id for ti in run.get_task_instances() if ti.state == "failed"]
            raise SystemExit(f"DAG {dag_id} ended {run.state}; failed tasks: {failed}")
        if dag_id == "funnel_transform":
            dags[dag_id]["build"] = last_build(url, "marts")
    return {"seconds": total, "dags": dags}


def table_checksums(url: str) -> dict:
    from dealerfunnel_demo.checksums import checksums

    started = time.perf_counter()
    tables = checksums(url)
    return {"seconds": time.perf_counter() - started, "tables": tables}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.steps")
    parser.add_argument("step", choices=["copy", "load", "dbt", "airflow", "checksums"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--landing", type=Path)
    parser.add_argument("--dags", default="funnel_transform,funnel_alerts")
    parser.add_argument("--conf", type=json.loads, help="airflow: the DAG runs' conf (JSON)")
    parser.add_argument("--full-refresh", action="store_true", help="dbt: a full refresh")
    parser.add_argument("--as-of", help="dbt var as_of_at for the builds (ISO timestamp)")
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args()
    if args.step == "copy":
        result = bare_copy(args.url, args.landing)
    elif args.step == "load":
        result = load(args.url, args.landing)
    elif args.step == "dbt":
        result = dbt_bare(args.url, full_refresh=args.full_refresh, as_of=args.as_of)
    elif args.step == "checksums":
        result = table_checksums(args.url)
    else:
        result = airflow(args.url, args.dags.split(","), conf=args.conf, as_of=args.as_of)
    args.result.write_text(json.dumps(result, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()

"""Command line: ``python -m dealerfunnel.cli
{run,check-warehouse,stop-warehouse,roles,metabase-setup,airflow}``.

``run`` runs every DAG through Airflow itself (``dag.test()`` on a migrated metadata DB under
``<data_dir>/airflow``) over whatever ``$LANDING_DIR`` holds and the APIs whose Airflow
Connections are configured, then prints the funnel, the open alerts and the report paths.
``make demo`` (``python -m dealerfunnel_demo``, outside this package) wraps :func:`run_pipeline`
with generated data, the API sandbox and local notification receivers.

The warehouse is ``WAREHOUSE_URL`` when set, else an embedded PostgreSQL (see
``dealerfunnel.warehouse.embedded``). An unreachable warehouse exits with status 2 and one line
naming host and database, password masked.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from dealerfunnel.settings import (
    ConfigError,
    dags_dir,
    data_dir,
    plugins_dir,
    reports_dir,
)
from dealerfunnel.warehouse.connection import (
    WarehouseUnreachable,
    airflow_connection_json,
    check_reachable,
    mask_url,
    url_parts,
)

DAG_ORDER = (
    "dealer_exports_extract",
    "extract_ad_platforms",
    "funnel_transform",
    "funnel_alerts",
)
# Airflow Connections of the API connectors; `run` skips the API DAG when none is configured.
API_CONNECTIONS = ("META_ADS", "GOOGLE_ADS", "SALESFORCE", "HUBSPOT", "EVENTBRITE")


# pg_advisory_lock key held for a whole pipeline run: one run at a time per warehouse
RUN_LOCK_KEY = 0x6465616C  # "deal"
RUN_LOCK_APPLICATION = "dealerfunnel-run"


class DagRunFailed(RuntimeError):
    """A DAG run failed; ``states`` holds the state of every DAG run that ran."""

    def __init__(self, message: str, states: dict[str, str] | None = None) -> None:
        super().__init__(" ".join(message.split()))  # one line
        self.states = dict(states or {})


class RunInProgress(RuntimeError):
    """Another pipeline run holds the warehouse's run lock."""


@contextmanager
def exclusive_run(url: str) -> Iterator[None]:
    """Hold the warehouse's run lock for the duration of the block, or raise at once.

    A session-level advisory lock on a dedicated connection: PostgreSQL releases it when the
    holder ends, even on kill -9, so a crashed run never blocks the next one.
    """
    import psycopg

    from dealerfunnel.warehouse.connection import to_libpq

    conn = psycopg.connect(
        to_libpq(url), autocommit=True, application_name=f"{RUN_LOCK_APPLICATION} pid={os.getpid()}"
    )
    try:
        if not conn.execute("select pg_try_advisory_lock(%s)", (RUN_LOCK_KEY,)).fetchone()[0]:
            holder = conn.execute(
                """
                select a.application_name, a.backend_start
                from pg_locks as l
                join pg_stat_activity as a on a.pid = l.pid
                where l.locktype = 'advisory' and l.granted and l.classid = 0
                  and l.objid = %s and l.objsubid = 1
                  and l.database = (select oid from pg_database where datname = current_database())
                """,
                (RUN_LOCK_KEY,),
            ).fetchone()
            who = f"{holder[0]}, started {holder[1]:%Y-%m-%d %H:%M:%S %Z}" if holder else "?"
            raise RunInProgress(
                f"another pipeline run is in progress on this warehouse ({who}); "
                "this run did nothing. Try again when it has finished."
            )
        yield
    finally:
        conn.close()


def airflow_home_environment() -> dict[str, str]:
    """Where the in-process Airflow keeps its state: local metadata DB, our DAGs and plugins."""
    home = data_dir() / "airflow"
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_dir()),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins_dir()),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "DEALERFUNNEL_RETRY_DELAY_SECONDS": "2",
    }


def configure_airflow() -> None:
    """Set Airflow's environment before anything imports Airflow.

    Airflow reads ``AIRFLOW_HOME`` and its folders once, at its first import (which resolving
    the warehouse may trigger when any ``AIRFLOW_CONN_*`` is set), so this runs first.
    ``AIRFLOW_HOME`` is always ours; other settings the caller exported are kept.
    """
    env = airflow_home_environment()
    os.environ["AIRFLOW_HOME"] = env.pop("AIRFLOW_HOME")
    for key, value in env.items():
        os.environ.setdefault(key, value)
    Path(os.environ["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)


@contextmanager
def output_to_log(log_path: Path | None) -> Iterator[TextIO]:
    """Send everything written to fd 1 and 2 (Airflow, dbt and GX logs) to ``log_path``.

    Yields a stream to the original terminal for progress lines. ``None`` captures nothing.
    """
    if log_path is None:
        yield sys.stdout
        return
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    console = os.fdopen(os.dup(saved_out), "w", buffering=1)
    with log_path.open("ab") as log_file:
        os.dup2(log_file.fileno(), 1)
        os.dup2(log_file.fileno(), 2)
        try:
            yield console
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
            console.close()


# A failed run of these DAGs does not stop the cycle: the data that did load still reaches the
# marts (a down API must not hold back the dealer files); the run exits 1 at the end.
ISOLATED_DAGS = ("dealer_exports_extract", "extract_ad_platforms")


def failed_sources(url: str, since: datetime) -> list[str]:
    """One line per API source whose extracts failed since ``since`` (``ops.load_batches``):
    the source, its connection and base URL (masked), how many work items failed, the error."""
    from dealerfunnel.warehouse.connection import connect

    with connect(url, autocommit=True) as conn:
        rows = conn.execute(
            """
            select source, detail->>'conn_id', detail->>'base_url',
                   count(distinct (object, dealer_code)),
                   (array_agg(detail->>'error_class' order by finished_at desc))[1],
                   (array_agg(detail->>'error' order by finished_at desc))[1]
            from ops.load_batches
            where status = 'failed' and detail ? 'conn_id' and started_at >= %s
            group by 1, 2, 3 order by 1
            """,
            (since,),
        ).fetchall()
    return [
        f"API source {source} failed (Airflow connection {conn_id!r}, {base_url}): "
        f"{n} work item(s) (object x dealer) failed; last error {error_class}: {error}"
        for source, conn_id, base_url, n, error_class, error in rows
    ]


def dag_bag(url: str):
    """The project's DAGs, parsed by Airflow against a migrated metadata DB, with the warehouse
    at ``url`` as the ``warehouse`` Connection; :class:`DagRunFailed` on an import error."""
    configure_airflow()
    os.environ["AIRFLOW_CONN_WAREHOUSE"] = airflow_connection_json(url)

    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils import db

    db.initdb()
    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        raise DagRunFailed(f"DAG import errors: {bag.import_errors}")
    return bag


def run_dags(
    url: str, dag_ids: tuple[str, ...] = DAG_ORDER, *, console: TextIO | None = None
) -> dict[str, str]:
    """Run the DAGs in order with ``dag.test()``.

    A failed run of an extract DAG (:data:`ISOLATED_DAGS`) is recorded and the next DAGs run
    anyway; any other failed run stops. At the end :class:`DagRunFailed` names every failed
    run (and, for the API DAG, the failed sources and connections, from ``ops.load_batches``).
    """
    console = console or sys.stdout
    started_at = datetime.now(UTC)
    bag = dag_bag(url)
    states: dict[str, str] = {}
    problems: list[str] = []
    for dag_id in dag_ids:
        started = time.monotonic()
        dag_run = bag.get_dag(dag_id).test()
        state = str(dag_run.state)
        states[dag_id] = state
        print(f"  {dag_id}: {state} in {time.monotonic() - started:.1f}s", file=console)
        if state != "success":
            failed = sorted(
                {ti.task_id for ti in dag_run.get_task_instances() if ti.state == "failed"}
            )
            problems.append(f"DAG {dag_id} ended {state}; failed tasks: {failed}")
            if dag_id not in ISOLATED_DAGS:
                break
            print(f"  {dag_id} failed; continuing with the data that loaded", file=console)
    if problems:
        sources = failed_sources(url, started_at) if "extract_ad_platforms" in states else []
        raise DagRunFailed("; ".join([*sources, *problems]), states)
    return states


def print_summary(url: str) -> None:
    from dealerfunnel.alerts.episodes import format_alert, open_alerts
    from dealerfunnel.reporting import format_funnel, last_weeks_funnel

    print("\nFunnel per dealer, last four weekly cohorts (all channels):\n")
    print(format_funnel(last_weeks_funnel(url)))
    alerts = open_alerts(url)
    print(f"\nOpen alerts: {len(alerts)}")
    for alert in alerts:
        print("  " + format_alert(alert))
    from dealerfunnel.access import HQ_READER

    print("\n" + access_help(url, HQ_READER))
    print("\nReports:")
    gx_docs = data_dir() / "gx" / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    dbt_docs = data_dir() / "dbt" / "docs" / "index.html"
    pages = reports_dir() / "index.html"
    for label, path in (("report pages", pages), ("GX Data Docs", gx_docs), ("dbt docs", dbt_docs)):
        print(f"  {label}: {path}{'' if path.exists() else '  (missing)'}")
    print("  all three on one local address: make docs  (http://127.0.0.1:8765/)")


def run_pipeline(
    command: str,
    *,
    verbose: bool = False,
    prepare: Callable[[str], None] | None = None,
    environment: Callable[[ExitStack], dict[str, str]] | None = None,
    after: Callable[[], None] | None = None,
) -> int:
    """Resolve and check the warehouse, run the DAGs, print the summary; return an exit code.

    ``prepare(url)`` runs once the warehouse is ready (the demo generates its data there);
    ``environment(stack)`` may start services on ``stack`` and returns the environment that
    points Airflow Connections at them (then every DAG runs); ``after()`` prints extra lines.
    An unreachable warehouse or a bad setting exits 2 with one line; a failed DAG exits 1;
    another run in progress on the same warehouse exits 3 (see :func:`exclusive_run`).
    """
    configure_airflow()
    try:
        from dealerfunnel.warehouse import ensure_schema, resolve_warehouse_url

        url = resolve_warehouse_url()
        check_reachable(url)
        print(f"warehouse: {mask_url(url)}", flush=True)
        if command == "check-warehouse":
            return 0
        with ExitStack() as stack:
            stack.enter_context(exclusive_run(url))
            ensure_schema(url)
            from dealerfunnel.sources.loader import mark_abandoned_batches

            abandoned = mark_abandoned_batches(url)
            if abandoned:
                print(
                    f"  {len(abandoned)} load batch(es) of a killed run marked failed", flush=True
                )
            if prepare is not None:
                prepare(url)
            dag_ids = DAG_ORDER
            if environment is not None:
                os.environ.update(environment(stack))
            elif not any(os.environ.get(f"AIRFLOW_CONN_{c}") for c in API_CONNECTIONS):
                print("  no API Connections configured: extract_ad_platforms skipped", flush=True)
                dag_ids = tuple(d for d in DAG_ORDER if d != "extract_ad_platforms")
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            log_name = f"{command}-{stamp}-{os.getpid()}.log"  # one file per run
            log_path = None if verbose else data_dir() / "logs" / log_name
            print("running DAGs through Airflow (dag.test):", flush=True)
            if log_path:
                print(f"  task logs: {log_path}", flush=True)
            failure = None
            with output_to_log(log_path) as console:
                try:
                    run_dags(url, dag_ids, console=console)
                except DagRunFailed as exc:
                    failure = exc
            if failure is None or failure.states.get("funnel_transform") == "success":
                reports_dir().mkdir(parents=True, exist_ok=True)
                print_summary(url)  # the marts were built: show them, then report the failure
                if after is not None:
                    after()
            if failure is not None:
                raise failure
    except WarehouseUnreachable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except RunInProgress as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except DagRunFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def manage_access(
    role: str | None, dealers: str | None, hq: str | None = None, password_env: str | None = None
) -> int:
    """``roles``: create the roles; ``--reader ROLE --dealers A,B`` maps a dealer reader,
    ``--hq ROLE`` makes an HQ reader; with ``--password-env VAR`` that login is created (or its
    password set) from the environment variable ``VAR``, never from the command line."""
    from dealerfunnel.access import (
        HQ_READER,
        ensure_login,
        ensure_roles,
        grant_hq,
        grant_reader,
    )
    from dealerfunnel.warehouse import ensure_schema, resolve_warehouse_url

    try:
        if role and hq:
            raise ConfigError("roles: give --reader or --hq, not both")
        if password_env and not (role or hq):
            raise ConfigError("roles: --password-env names the password of --reader or --hq")
        password = os.environ.get(password_env, "") if password_env else None
        if password_env and not password:
            raise ConfigError(f"roles: the environment variable {password_env} is empty")
        url = resolve_warehouse_url()
        check_reachable(url)
        ensure_schema(url)  # ops.reader_dealers lives in ops
        created = ensure_roles(url)
        if password is not None:
            ensure_login(role or hq, password, url)
        if role:
            grant_reader(role, [d.strip() for d in (dealers or "").split(",") if d.strip()], url)
            created = ensure_roles(url)
        if hq:
            grant_hq(hq, url)
    except (WarehouseUnreachable, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"roles: {', '.join(created['roles'])}")
    print(f"dealer readers: {', '.join(created['dealer_readers']) or '(none)'}")
    if hq:
        print(f"HQ reader: {hq}")
    print(access_help(url, HQ_READER))
    return 0


def access_help(url: str, hq_role: str) -> str:
    """How a BI tool connects as an HQ or a dealer reader (printed by ``make demo``/``roles``)."""
    parts = url_parts(url)
    where = f"host={parts['host']} port={parts['port']} dbname={parts['dbname']}"
    return (
        "How to connect a BI tool (it sees schema marts only):\n"
        f"  HQ (every dealer):   BI_PASSWORD=... make roles HQ=hq_bi PASSWORD_ENV=BI_PASSWORD\n"
        f"                       (an existing login: make roles HQ=hq_bi; or grant {hq_role} "
        "to it)\n"
        "  one dealer's rows:   BI_PASSWORD=... make roles READER=sh001_bi DEALERS=SH001 "
        "PASSWORD_ENV=BI_PASSWORD\n"
        "                       (several dealers: DEALERS=SH001,SH002)\n"
        f"  then connect the BI tool as hq_bi or sh001_bi ({where})"
    )


def metabase_setup() -> int:
    """``metabase-setup``: register the warehouse in Metabase as its HQ reader login
    (``dealerfunnel.access.metabase``; settings and secrets from the environment)."""
    import logging

    from dealerfunnel.access.metabase import MetabaseError, settings_from_env, setup_metabase

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        setup_metabase(settings_from_env())
    except (ConfigError, MetabaseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dealerfunnel")
    parser.add_argument(
        "command",
        choices=["run", "check-warehouse", "stop-warehouse", "roles", "metabase-setup", "airflow"],
    )
    parser.add_argument(
        "--verbose", action="store_true", help="show Airflow/dbt/GX logs instead of a log file"
    )
    parser.add_argument("--reader", help="roles: an existing login role to map to dealers")
    parser.add_argument("--dealers", help="roles: comma-separated dealer codes for --reader")
    parser.add_argument("--hq", help="roles: an existing login role to make an HQ reader")
    parser.add_argument(
        "--password-env",
        help="roles: create the --reader/--hq login with the password in this environment variable",
    )
    parser.add_argument("--port", type=int, default=8080, help="airflow: the UI's port")
    args = parser.parse_args(argv)
    if args.command == "airflow":  # the Airflow UI and its components (dealerfunnel.airflow_ui)
        from dealerfunnel.airflow_ui import serve

        return serve(args.port)
    if args.command == "stop-warehouse":
        from dealerfunnel.warehouse.embedded import stop_embedded

        stop_embedded()
        return 0
    if args.command == "metabase-setup":
        return metabase_setup()
    if args.command == "roles":
        configure_airflow()
        return manage_access(args.reader, args.dealers, args.hq, args.password_env)
    return run_pipeline(args.command, verbose=args.verbose)


if __name__ == "__main__":
    sys.exit(main())

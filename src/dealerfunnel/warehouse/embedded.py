"""An embedded PostgreSQL (the ``pgserver`` package) for machines with no warehouse configured.

The server's data lives in ``<data_dir>/pgdata`` and it listens on a Unix socket in that
folder only (no TCP port), so it never clashes with a system PostgreSQL. It keeps running
after the process that started it exits, so later runs and Airflow task processes reuse it;
``python -m dealerfunnel.cli stop-warehouse`` stops it.
"""

from __future__ import annotations

from dealerfunnel.settings import data_dir

DATABASE = "warehouse"


def embedded_url() -> str:
    import pgserver
    import psycopg

    pgdata = data_dir() / "pgdata"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    admin_url = server.get_uri()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute(
            "select 1 from pg_database where datname = %s", (DATABASE,)
        ).fetchone()
        if not exists:
            conn.execute(f'create database "{DATABASE}"')
    return server.get_uri(DATABASE)


def stop_embedded() -> None:
    import pgserver

    pgdata = data_dir() / "pgdata"
    if (pgdata / "postmaster.pid").exists():
        pgserver.get_server(pgdata, cleanup_mode="stop").cleanup()

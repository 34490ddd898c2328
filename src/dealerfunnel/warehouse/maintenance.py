"""Dead rows an incremental build leaves behind, vacuumed as soon as the build ends.

An incremental model rewrites its changed rows (``delete+insert``): every rewritten row leaves a
dead version in the table until a ``VACUUM``. PostgreSQL's autovacuum gets there within about a
minute where it runs, but the audit and the next build may read the table before it does, and
where it is off (a server tuned for bulk loads, like the benchmark machine's) the dead rows pile
up from run to run: one run that rewrote a 1,000,000-row table left it half dead and the models
reading it twice as slow (BENCHMARKS.md). dbt cannot do it: its PostgreSQL connections always
hold a transaction open, where ``VACUUM`` is refused.

:func:`vacuum_dead_tables` therefore vacuums, after the build, each of the given tables (the
incremental models', :func:`incremental_relations`) that the connected role owns and whose dead
rows exceed autovacuum's own default trigger
(:data:`DEAD_ROWS_BASE` + :data:`DEAD_ROWS_SCALE` x live rows). Planner statistics are not its
business: every dbt model analyzes the table it wrote (macro ``analyze_table``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from psycopg import sql

from dealerfunnel.warehouse.connection import connect

log = logging.getLogger(__name__)

#: autovacuum_vacuum_threshold and autovacuum_vacuum_scale_factor, PostgreSQL's defaults.
DEAD_ROWS_BASE = 50
DEAD_ROWS_SCALE = 0.2

_DEAD_TABLES = """
    select s.schemaname, s.relname, s.n_dead_tup
    from pg_stat_user_tables as s
    join pg_class as c on c.oid = s.relid
    where (s.schemaname, s.relname) in (
            select t.schema_name, t.table_name
            from unnest(%(schemas)s::text[], %(tables)s::text[]) as t (schema_name, table_name)
        )
        and pg_has_role(c.relowner, 'USAGE')
        and s.n_dead_tup > %(base)s + %(scale)s * greatest(s.n_live_tup, 0)
    order by s.schemaname, s.relname
"""


def incremental_relations(manifest: Path) -> list[tuple[str, str]]:
    """(schema, table) of every incremental model in a dbt ``manifest.json``."""
    nodes = json.loads(manifest.read_text(encoding="utf-8")).get("nodes", {})
    return sorted(
        (node["schema"], node.get("alias") or node["name"])
        for node in nodes.values()
        if node.get("resource_type") == "model"
        and node.get("config", {}).get("materialized") == "incremental"
    )


def vacuum_dead_tables(
    url: str,
    tables: list[tuple[str, str]],
    *,
    base: int = DEAD_ROWS_BASE,
    scale: float = DEAD_ROWS_SCALE,
) -> list[dict[str, object]]:
    """``VACUUM`` each of ``tables`` (schema, name) the role owns with more than
    ``base + scale x live`` dead rows; return ``[{"table", "dead_rows"}, ...]`` for those vacuumed.

    The counts are PostgreSQL's cumulative statistics, which a session reports when its
    transaction ends, so run it after the writers have finished."""
    vacuumed: list[dict[str, object]] = []
    with connect(url, autocommit=True) as conn:
        rows = conn.execute(
            _DEAD_TABLES,
            {
                "schemas": [schema for schema, _ in tables],
                "tables": [table for _, table in tables],
                "base": base,
                "scale": scale,
            },
        ).fetchall()
        for schema, table, dead in rows:
            conn.execute(sql.SQL("vacuum {}").format(sql.Identifier(schema, table)))
            vacuumed.append({"table": f"{schema}.{table}", "dead_rows": dead})
    if vacuumed:
        log.info(
            "vacuumed %d table(s) left with dead rows: %s",
            len(vacuumed),
            ", ".join(f"{v['table']} ({v['dead_rows']:,})" for v in vacuumed),
        )
    return vacuumed

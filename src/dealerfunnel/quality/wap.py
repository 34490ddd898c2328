"""Write-audit-publish for the marts: BI never sees marts that failed a blocking check.

1. **Write.** ``dbt build --vars '{marts_schema: marts_candidate}'`` builds staging and
   intermediate in place and every mart into the candidate schema (``generate_schema_name``
   maps the ``marts`` layer to ``var('marts_schema', 'marts')``). dbt tests run against the
   candidate; ``run_results.json`` is classified by ``config/quality.yml``.
2. **Audit.** The GX mart suites validate the candidate schema (``schema_map``).
3. **Publish.** One transaction: ``marts_previous`` dropped, ``marts`` renamed to
   ``marts_previous``, the candidate renamed to ``marts``. Readers see either the old or the
   new marts, never a mix; a failure before this step leaves ``marts`` untouched. The
   previous marts stay in ``marts_previous`` until the next publish (manual rollback: rename
   back).

Schema renames move tables with their privileges, but schema-level grants (``USAGE`` on
``marts``) belong to the schema object: :func:`publish` copies the published schema's ACL onto
the candidate before the swap.
"""

from __future__ import annotations

import logging
from pathlib import Path

from psycopg import sql

from dealerfunnel.quality.build_results import run_results_gate
from dealerfunnel.quality.config import QualityConfig, load_quality_config
from dealerfunnel.quality.gates import GateResult, run_gate, suite_names_for_schema
from dealerfunnel.settings import data_dir
from dealerfunnel.transform.runner import DbtFailed, run_dbt
from dealerfunnel.warehouse.connection import connect

log = logging.getLogger(__name__)

PUBLISHED_SCHEMA = "marts"


class PublishFailed(RuntimeError):
    pass


def dbt_target() -> Path:
    return data_dir() / "dbt" / "target"


def _schema_exists(conn, name: str) -> bool:
    return (
        conn.execute("select 1 from pg_namespace where nspname = %s", (name,)).fetchone()
        is not None
    )


def build_candidate(url: str, config: QualityConfig | None = None) -> tuple[GateResult, str]:
    """Drop any stale candidate, ``dbt build`` the marts into it; classify dbt's results.

    Returns the gate result of the build (dbt tests + model errors) and dbt's output tail.
    """
    config = config or load_quality_config()
    with connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop schema if exists {} cascade").format(
                sql.Identifier(config.candidate_schema)
            )
        )
    target = dbt_target()
    (target / "run_results.json").unlink(missing_ok=True)
    output = ""
    try:
        output = run_dbt(["build"], url, vars_={"marts_schema": config.candidate_schema})
    except DbtFailed as exc:
        output = str(exc)
        log.error("dbt build failed: %s", exc)
    result = run_results_gate(target / "run_results.json", config)
    return result, output[-2000:]


def validate_candidate(
    url: str, config: QualityConfig | None = None, *, folder: Path | None = None
) -> GateResult:
    """The GX mart suites, against the candidate schema."""
    config = config or load_quality_config()
    suites = suite_names_for_schema(PUBLISHED_SCHEMA, folder=folder)
    return run_gate(
        url,
        suites,
        checkpoint_name="mart_gate",
        schema_map={PUBLISHED_SCHEMA: config.candidate_schema},
        folder=folder,
    )


def publish(url: str, config: QualityConfig | None = None) -> dict:
    """Swap the candidate in as ``marts`` in one transaction; keep the old as previous."""
    config = config or load_quality_config()
    candidate = sql.Identifier(config.candidate_schema)
    previous = sql.Identifier(config.previous_schema)
    published = sql.Identifier(PUBLISHED_SCHEMA)
    with connect(url) as conn:
        conn.execute("select pg_advisory_xact_lock(hashtext('dealerfunnel.publish_marts'))")
        conn.execute(
            sql.SQL("set local lock_timeout = {}").format(sql.Literal(config.lock_timeout))
        )
        if not _schema_exists(conn, config.candidate_schema):
            raise PublishFailed(
                f"nothing to publish: schema {config.candidate_schema} does not exist"
            )
        tables = [
            r[0]
            for r in conn.execute(
                "select tablename from pg_tables where schemaname = %s order by 1",
                (config.candidate_schema,),
            ).fetchall()
        ]
        had_published = _schema_exists(conn, PUBLISHED_SCHEMA)
        if had_published:
            acl = conn.execute(
                "select nspacl::text[] from pg_namespace where nspname = %s", (PUBLISHED_SCHEMA,)
            ).fetchone()[0]
            if acl:
                _copy_schema_usage(conn, acl, config.candidate_schema)
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(previous))
            conn.execute(sql.SQL("alter schema {} rename to {}").format(published, previous))
            _close_to_readers(conn, config.previous_schema)  # the rollback copy is unpublished
        conn.execute(sql.SQL("alter schema {} rename to {}").format(candidate, published))
    log.info("published %d mart tables from %s", len(tables), config.candidate_schema)
    kept = config.previous_schema if had_published else None
    return {"published": tables, "previous_kept_in": kept}


def _close_to_readers(conn, schema: str) -> None:
    """Revoke the reader roles' USAGE on ``schema`` (when the roles exist)."""
    from dealerfunnel.access import DEALER_READER, HQ_READER

    readers = [
        r[0]
        for r in conn.execute(
            "select rolname from pg_roles where rolname = any(%s)", ([HQ_READER, DEALER_READER],)
        ).fetchall()
    ]
    if readers:
        conn.execute(
            sql.SQL("revoke usage on schema {} from {}").format(
                sql.Identifier(schema), sql.SQL(", ").join(map(sql.Identifier, readers))
            )
        )


def _copy_schema_usage(conn, acl: list[str], schema: str) -> None:
    """Grant on ``schema`` the USAGE/CREATE privileges an ACL (``grantee=UC/grantor``) lists."""
    for item in acl:
        grantee, _, rest = item.partition("=")
        privileges, _, _grantor = rest.partition("/")
        wanted = [p for flag, p in (("U", "usage"), ("C", "create")) if flag in privileges]
        if not wanted:
            continue
        role = sql.SQL("public") if grantee == "" else sql.Identifier(grantee.strip('"'))
        conn.execute(
            sql.SQL("grant {} on schema {} to {}").format(
                sql.SQL(", ").join(sql.SQL(p) for p in wanted), sql.Identifier(schema), role
            )
        )

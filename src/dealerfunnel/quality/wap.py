"""Write-audit-publish for the marts: BI never sees marts that failed a blocking check.

1. **Write.** ``dbt build --vars '{marts_schema: marts_candidate}'`` builds staging and
   intermediate in place and every mart into the candidate schema (``generate_schema_name``
   maps the ``marts`` layer to ``var('marts_schema', 'marts')``). dbt tests run against the
   candidate; ``run_results.json`` is classified by ``config/quality.yml``.
   The build is incremental (README.md, "Incremental builds"): the candidate starts as the
   schema published one run before (``marts_previous``, renamed), or as the candidate a failed
   run left, or (the build after the first, with no ``marts_previous`` yet) as a copy of the
   published incremental marts, so ``fct_leads`` and the incremental intermediates redo only the
   leads new data changes. A full refresh (``--full-refresh``, candidate dropped first) runs
   when asked, on the first build, and whenever the build fingerprint (:func:`build_fingerprint`:
   the dbt project's files, dbt's version, the dealer registry, the PII key's digest) differs
   from the last successful build's (``ops.dbt_builds``).
2. **Audit.** The GX mart suites validate the candidate schema (``schema_map``).
3. **Publish.** One transaction: ``marts_previous`` dropped, ``marts`` renamed to
   ``marts_previous``, the candidate renamed to ``marts``. Readers see either the old or the
   new marts, never a mix; a failure before this step leaves ``marts`` untouched. The
   previous marts stay in ``marts_previous`` until the next build starts from them (manual
   rollback before then: rename back).

Schema renames move tables with their privileges, but schema-level grants (``USAGE`` on
``marts``) belong to the schema object: :func:`publish` copies the published schema's ACL onto
the candidate before the swap.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from dealerfunnel.quality.build_results import run_results_gate
from dealerfunnel.quality.config import QualityConfig, load_quality_config
from dealerfunnel.quality.gates import GateResult, run_gate, suite_names_for_schema
from dealerfunnel.settings import data_dir
from dealerfunnel.transform.runner import DbtFailed, project_digest, run_dbt
from dealerfunnel.warehouse.connection import connect
from dealerfunnel.warehouse.maintenance import incremental_relations, vacuum_dead_tables

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


# what the models read besides the data: a change to any of it makes the next build a full refresh
FINGERPRINT_FOLDERS = ("models", "macros", "seeds")


#: What an incremental build leaves out: dbt's unit tests check the models' SQL against fixed
#: inputs, not the data, and the SQL is the one the last full build ran them on (a change to the
#: project changes the build fingerprint, so the next build is a full one and runs them; a full
#: build whose unit test failed skipped that model, so it is not recorded and the next is full
#: again). About 7 s of node time per run.
INCREMENTAL_BUILD_ARGS = ("--exclude-resource-type", "unit_test")


def build_fingerprint(url: str) -> str:
    """SHA-256 over what the models depend on besides the data, in a stable order.

    The dbt project's models, macros, seeds and ``dbt_project.yml`` (path and bytes), dbt's
    version, the dealer registry's settings (``ops.dealers``: time zones, names, registration)
    and a digest of the PII hash key (``fct_leads`` keys customers with it; the key itself never
    leaves the process).
    """
    from dealerfunnel.access.pii import pii_key

    digest = project_digest(FINGERPRINT_FOLDERS)
    with connect(url) as conn:
        dealers = conn.execute(
            "select coalesce(string_agg(row(dealer_code, dealer_name, region, brand, timezone,"
            " is_registered, manager)::text, e'\\n' order by dealer_code), '') from ops.dealers"
        ).fetchone()[0]
    digest.update(dealers.encode())
    digest.update(hashlib.sha256(b"dealerfunnel pii key\0" + pii_key()).digest())
    return digest.hexdigest()


def last_build_fingerprint(url: str) -> str | None:
    with connect(url) as conn:
        row = conn.execute(
            "select fingerprint from ops.dbt_builds order by dbt_build_id desc limit 1"
        ).fetchone()
    return row[0] if row else None


def _prepare_candidate(conn, config: QualityConfig, *, full_refresh: bool) -> str:
    """Make the schema dbt builds into; return where it started from."""
    candidate = sql.Identifier(config.candidate_schema)
    if full_refresh:
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(candidate))
        return "empty (full refresh)"
    if _schema_exists(conn, config.candidate_schema):
        return f"the unpublished candidate {config.candidate_schema} of an earlier run"
    if _schema_exists(conn, config.previous_schema):
        conn.execute(
            sql.SQL("alter schema {} rename to {}").format(
                sql.Identifier(config.previous_schema), candidate
            )
        )
        return f"the previously published marts ({config.previous_schema})"
    copied = _copy_published_incremental_marts(conn, config.candidate_schema)
    if copied:
        return f"a copy of the published {', '.join(copied)} (no {config.previous_schema} yet)"
    return "empty (nothing to start from)"


def _tables(conn, schema: str) -> list[str]:
    """The tables of ``schema``, by name."""
    rows = conn.execute(
        "select tablename from pg_tables where schemaname = %s order by 1", (schema,)
    ).fetchall()
    return [r[0] for r in rows]


def _copy_published_incremental_marts(conn, candidate: str) -> list[str]:
    """Start the candidate of the build after the first one (published marts, no
    ``marts_previous`` yet) as a copy of the published incremental marts, so that build redoes
    only the leads that changed, not every lead from an empty ``fct_leads``: at 1,000,000 leads
    that rebuild took longer than the full build itself (BENCHMARKS.md). The tables are those the
    last build's manifest names incremental in the candidate schema; the rest are rebuilt anyway.
    Each copy keeps the columns, defaults and indexes (``like ... including all``) and is
    analyzed. Returns the tables copied; none without a manifest or published marts."""
    manifest = dbt_target() / "manifest.json"
    if not manifest.exists() or not _schema_exists(conn, PUBLISHED_SCHEMA):
        return []
    published = set(_tables(conn, PUBLISHED_SCHEMA))
    tables = [
        table
        for schema, table in incremental_relations(manifest)
        if schema == candidate and table in published
    ]
    if not tables:
        return []
    with conn.transaction():
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(candidate)))
        for table in tables:
            target = sql.Identifier(candidate, table)
            source = sql.Identifier(PUBLISHED_SCHEMA, table)
            conn.execute(sql.SQL("create table {} (like {} including all)").format(target, source))
            conn.execute(sql.SQL("insert into {} select * from {}").format(target, source))
    for table in tables:
        conn.execute(sql.SQL("analyze {}").format(sql.Identifier(candidate, table)))
    return tables


def build_candidate(
    url: str,
    config: QualityConfig | None = None,
    *,
    full_refresh: bool = False,
    vars_: dict | None = None,
) -> tuple[GateResult, str]:
    """``dbt build`` the marts into the candidate schema, incrementally unless a full refresh
    is due (asked, first build, or a new build fingerprint); classify dbt's results.

    ``vars_``: more dbt vars (e.g. ``as_of_at``). Returns the gate result of the build (dbt
    tests + model errors) and dbt's output tail.
    """
    config = config or load_quality_config()
    started_at = datetime.now(UTC)
    fingerprint = build_fingerprint(url)
    last = last_build_fingerprint(url)
    if full_refresh:
        reason = "asked"
    elif last is None:
        reason = "first build"
    elif last != fingerprint:
        reason = "the dbt project, dbt, the dealer registry or the PII key changed"
    else:
        reason = ""
    full = bool(reason)
    with connect(url, autocommit=True) as conn:
        start = _prepare_candidate(conn, config, full_refresh=full)
    log.info(
        "dbt build into %s: %s; candidate starts as %s",
        config.candidate_schema,
        f"full refresh ({reason})" if full else "incremental",
        start,
    )
    target = dbt_target()
    (target / "run_results.json").unlink(missing_ok=True)
    output = ""
    try:
        output = run_dbt(
            ["build", *(["--full-refresh"] if full else INCREMENTAL_BUILD_ARGS)],
            url,
            vars_={**(vars_ or {}), "marts_schema": config.candidate_schema},
        )
    except DbtFailed as exc:
        output = str(exc)
        log.error("dbt build failed: %s", exc)
    _vacuum_incremental_models(url, target / "manifest.json")
    result = run_results_gate(target / "run_results.json", config)
    if _models_all_built(target / "run_results.json"):
        with connect(url) as conn:
            conn.execute(
                "insert into ops.dbt_builds (started_at, fingerprint, is_full_refresh, reason)"
                " values (%s, %s, %s, %s)",
                (started_at, fingerprint, full, reason or "incremental"),
            )
    return result, output[-2000:]


def _vacuum_incremental_models(url: str, manifest: Path) -> None:
    """Vacuum the incremental models the build left with many dead rows (a failed build too:
    it may have rewritten some). A failure to vacuum is logged, never fails the build."""
    if not manifest.exists():
        return
    try:
        vacuum_dead_tables(url, incremental_relations(manifest))
    except psycopg.Error as exc:
        log.warning("vacuum after the build failed (left to autovacuum): %s", exc)


def _models_all_built(run_results: Path) -> bool:
    """Every model and seed of the build succeeded (failing tests are the gates' business)."""
    import json

    if not run_results.exists():
        return False
    results = json.loads(run_results.read_text(encoding="utf-8")).get("results", [])
    built = [r for r in results if r["unique_id"].split(".")[0] in ("model", "seed", "snapshot")]
    return bool(built) and all(r["status"] == "success" for r in built)


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
        tables = _tables(conn, config.candidate_schema)
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

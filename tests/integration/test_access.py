"""Who may read what: connect as each role and check what it can and cannot read.

The fixture of test_dbt_marts (two dealers, SH001 and UR001) is built through the real
write-audit-publish path (dbt build into marts_candidate, publish swap), twice, so the grants
and row-level security are checked on tables dbt recreated and the swap moved. Like the
pipeline's tasks, the build and publish work as ``dealerfunnel_transformer`` and the landing
load as ``dealerfunnel_loader`` (``task_warehouse_url``: the admin login's sessions started as
that role), and each role is checked for what it may and may not do.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import uuid

import psycopg
import pytest
from conftest import PIPELINE_SCHEMAS
from psycopg import errors, sql
from test_dbt_marts import _load_fixture

from dealerfunnel.access import (
    DEALER_READER,
    HQ_READER,
    LOADER,
    TRANSFORMER,
    ensure_roles,
    grant_reader,
)
from dealerfunnel.cli import manage_access
from dealerfunnel.landing import load_landing
from dealerfunnel.quality.tasks import build_candidate_marts
from dealerfunnel.quality.wap import publish
from dealerfunnel.settings import ConfigError
from dealerfunnel.warehouse import ensure_schema, task_warehouse_url
from dealerfunnel.warehouse.connection import url_parts, with_session_role

SUFFIX = uuid.uuid4().hex[:8]
READER = f"t_reader_sh001_{SUFFIX}"  # login roles are cluster-wide: unique per test session
MULTI = f"t_reader_both_{SUFFIX}"
NOBODY = f"t_reader_none_{SUFFIX}"
HQ = f"t_hq_{SUFFIX}"
LOAD = f"t_loader_{SUFFIX}"
BI_HQ = f"t_bi_hq_{SUFFIX}"  # created by the `roles` command under test
BI_DEALER = f"t_bi_ur001_{SUFFIX}"
ODD = f'x"; drop table ops.load_batches; -- ../Ωß {SUFFIX}'  # a login named like an attack


def _as(url: str, role: str) -> psycopg.Connection:
    return psycopg.connect(url, user=role, autocommit=True)


def _publish_build(url: str) -> None:
    """Build and publish as the pipeline's transform tasks do: as the transformer."""
    as_transformer = with_session_role(url, TRANSFORMER)
    build_candidate_marts(as_transformer)  # raises on a blocking failure, with dbt's output
    publish(as_transformer)


@pytest.fixture(scope="module")
def secured(warehouse_url, tmp_path_factory):
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        for schema in (*PIPELINE_SCHEMAS, "access"):  # the session database, as a fresh one
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
    ensure_schema(warehouse_url)
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        for role in (READER, MULTI, NOBODY, HQ, LOAD):
            conn.execute(sql.SQL("create role {} login").format(sql.Identifier(role)))
    ensure_roles(warehouse_url)
    ensure_roles(warehouse_url)  # idempotent
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        for group, member in ((HQ_READER, HQ), (LOADER, LOAD), (DEALER_READER, NOBODY)):
            grant = sql.SQL("grant {} to {}")
            conn.execute(grant.format(sql.Identifier(group), sql.Identifier(member)))
    grant_reader(READER, ["SH001"], warehouse_url)
    grant_reader(MULTI, ["SH001", "UR001"], warehouse_url)
    _load_fixture(warehouse_url)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEALERFUNNEL_DATA_DIR", str(tmp_path_factory.mktemp("var")))
        # the tasks' warehouse: this database, no Airflow Connections (task_warehouse_url)
        mp.setenv("WAREHOUSE_URL", warehouse_url)
        for key in [k for k in os.environ if k.startswith("AIRFLOW_CONN_") or k == "AIRFLOW_HOME"]:
            mp.delenv(key)
        _publish_build(warehouse_url)
        yield warehouse_url
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        for role in (READER, MULTI, NOBODY, HQ, LOAD, BI_HQ, BI_DEALER, ODD):
            if conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone():
                conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(role)))
                conn.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))


def _dealer_marts(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [
            r[0]
            for r in conn.execute(
                "select table_name from information_schema.columns"
                " where table_schema = 'marts' and column_name = 'dealer_code' order by 1"
            )
        ]


def _counts_by_dealer(conn: psycopg.Connection, table: str) -> dict[str, int]:
    query = sql.SQL("select dealer_code, count(*) from marts.{} group by 1").format(
        sql.Identifier(table)
    )
    return dict(conn.execute(query).fetchall())


def _check_visibility(url: str) -> dict[str, dict[str, int]]:
    tables = _dealer_marts(url)
    assert {"fct_leads", "mart_funnel_conversion", "dim_dealerships"} <= set(tables)
    seen: dict[str, dict[str, int]] = {}
    with psycopg.connect(url) as admin:
        truth = {t: _counts_by_dealer(admin, t) for t in tables}
    assert truth["fct_leads"].get("SH001") and truth["fct_leads"].get("UR001")
    for role, allowed in ((READER, {"SH001"}), (MULTI, {"SH001", "UR001"}), (NOBODY, set())):
        with _as(url, role) as conn:
            for table in tables:
                got = _counts_by_dealer(conn, table)
                expected = {d: n for d, n in truth[table].items() if d in allowed}
                assert got == expected, (role, table)
                seen.setdefault(role, {})[table] = sum(got.values())
    with _as(url, HQ) as conn:
        for table in tables:
            assert _counts_by_dealer(conn, table) == truth[table], table
    return seen


def test_dealer_readers_see_only_their_dealers_and_hq_sees_all(secured):
    seen = _check_visibility(secured)
    per_role = {role: tables["fct_leads"] for role, tables in seen.items()}
    print(f"\n[access] fct_leads rows seen per role: {per_role}")


def test_readers_reach_marts_only(secured):
    closed = (
        "raw.dealer_export__leads",
        "ops.reader_dealers",
        "ops.quarantine",
        "staging.stg_dealer_export__leads",
        "intermediate.int_leads_resolved",
    )
    for role in (READER, HQ):
        with _as(secured, role) as conn:
            for table in closed:
                with pytest.raises(errors.InsufficientPrivilege):
                    conn.execute(f"select 1 from {table} limit 1")


def _denied(conn: psycopg.Connection, statement: str) -> None:
    with pytest.raises(errors.InsufficientPrivilege), conn.transaction():  # a savepoint
        conn.execute(statement)


def test_the_loader_writes_raw_and_ops_and_reads_nothing_dbt_built(secured):
    with _as(secured, LOAD) as conn, conn.transaction(force_rollback=True):
        conn.execute("select count(*) from raw.dealer_export__leads").fetchone()
        conn.execute(
            "insert into ops.watermarks (watermark, source, account) values (now(), 't', 't')"
        )
        for table in (
            "marts.fct_leads",
            "marts.dim_dealerships",
            "staging.stg_dealer_export__leads",
            "intermediate.int_leads_resolved",
            "seeds.funnel_settings",
        ):
            _denied(conn, f"select 1 from {table} limit 1")
    with _as(secured, LOAD) as conn:  # nor change what it does not own
        _denied(conn, "drop table raw.dealer_export__leads")
        _denied(conn, "create schema loader_made")
        _denied(conn, "alter table marts.fct_leads disable row level security")


def test_the_transformer_reads_raw_and_owns_only_the_dbt_schemas(secured):
    with psycopg.connect(with_session_role(secured, TRANSFORMER), autocommit=True) as conn:
        assert conn.execute("select current_user").fetchone() == (TRANSFORMER,)
        conn.execute("select count(*) from raw.dealer_export__leads").fetchone()
        conn.execute("select count(*) from ops.load_batches").fetchone()
        _denied(
            conn,
            "insert into raw.dealer_export__followups select * from"
            " raw.dealer_export__followups limit 1",
        )
        _denied(conn, "delete from ops.watermarks")
        _denied(conn, "delete from ops.reader_dealers")
        _denied(conn, "drop table ops.quarantine")
        owners = conn.execute(
            "select schemaname, tableowner, count(*) from pg_tables"
            " where schemaname in ('staging', 'intermediate', 'seeds', 'marts', 'marts_previous')"
            " group by 1, 2 order by 1"
        ).fetchall()
    assert {schema for schema, _, _ in owners} >= {"intermediate", "seeds", "marts"}
    assert {owner for _, owner, _ in owners} == {TRANSFORMER}, owners


def test_pipeline_code_paths_run_as_their_roles(secured, tmp_path):
    """The landing load works as the loader, dbt and the gates as the transformer: recorded
    by the database itself (``current_user`` defaults), not by the code under test."""
    with psycopg.connect(secured) as conn:
        gates = conn.execute(
            "select distinct checked_by from ops.quality_runs where checkpoint = 'dbt_build'"
        ).fetchall()
    assert gates == [(TRANSFORMER,)]
    loader_url = task_warehouse_url("loader")
    assert "role%3Ddealerfunnel_loader" in loader_url
    folder = tmp_path / "landing" / "SH001"
    folder.mkdir(parents=True)
    (folder / "leads_roles.csv").write_text(
        "lead_id,created_at,channel\nSH-ROLE-1,2026-08-03 10:00:00,showroom\n"
    )
    report = load_landing(loader_url, tmp_path / "landing")
    assert report["totals"]["rows_loaded"] == 1, report
    with psycopg.connect(secured) as conn:
        loaded_by = conn.execute(
            "select b.loaded_by from ops.load_batches b join raw.dealer_export__leads r"
            " on r._batch_id = b.batch_id where r.lead_id = 'SH-ROLE-1'"
        ).fetchall()
        conn.execute("delete from raw.dealer_export__leads where lead_id = 'SH-ROLE-1'")
    assert loaded_by == [(LOADER,)]


def test_an_admin_built_dbt_schema_is_handed_to_the_transformer(secured):
    """Marts built before the roles existed (as the admin login) become the transformer's, so
    dbt working as the transformer can replace them."""
    with psycopg.connect(secured, autocommit=True) as conn:
        conn.execute("create schema if not exists dbt_test__audit")
        conn.execute("alter schema dbt_test__audit owner to current_user")
        conn.execute("create table dbt_test__audit.legacy (x int)")
        conn.execute("create view dbt_test__audit.legacy_v as select x from dbt_test__audit.legacy")
    ensure_roles(secured)
    with psycopg.connect(secured, autocommit=True) as conn:
        owners = conn.execute(
            "select c.relname, pg_get_userbyid(c.relowner), pg_get_userbyid(n.nspowner)"
            " from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = 'dbt_test__audit' and c.relname like 'legacy%%' order by 1"
        ).fetchall()
        conn.execute("drop table dbt_test__audit.legacy cascade")
    assert owners == [
        ("legacy", TRANSFORMER, TRANSFORMER),
        ("legacy_v", TRANSFORMER, TRANSFORMER),
    ]


def test_grants_and_policies_survive_a_rebuild_and_publish_swap(secured, tmp_path, monkeypatch):
    monkeypatch.setenv("DEALERFUNNEL_DATA_DIR", str(tmp_path / "var"))
    _publish_build(secured)  # dbt recreates every mart in the candidate; publish swaps it in
    _check_visibility(secured)
    for role in (READER, HQ):  # the previous marts, kept for rollback, are not published
        with _as(secured, role) as conn, pytest.raises(errors.InsufficientPrivilege):
            conn.execute("select 1 from marts_previous.fct_leads limit 1")


def test_reader_mapping_rejects_unsafe_dealer_codes_and_unknown_roles(secured):
    with pytest.raises(ConfigError, match="invalid dealer codes"):
        grant_reader(READER, ["SH001'; drop table ops.reader_dealers; --"], secured)
    with pytest.raises(ConfigError, match="no such database role"):
        grant_reader(f"nobody_{SUFFIX}", ["SH001"], secured)


MAINLAND_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def test_no_clear_phone_or_email_in_any_text_column_of_marts(secured):
    with psycopg.connect(secured) as conn:
        columns = conn.execute(
            "select table_name, column_name from information_schema.columns"
            " where table_schema = 'marts' and data_type in ('text', 'character varying')"
        ).fetchall()
        assert len(columns) > 20
        for table, column in columns:
            query = sql.SQL("select distinct {} from marts.{} where {} is not null").format(
                sql.Identifier(column), sql.Identifier(table), sql.Identifier(column)
            )
            for (value,) in conn.execute(query):
                assert not MAINLAND_MOBILE.search(value), (table, column, value)
                assert not EMAIL.search(value), (table, column, value)


def test_customers_are_a_keyed_hash_and_a_masked_form(secured):
    """SH-L1 came with phone 13800000001: HQ gets the HMAC with the secret key, the consultant
    the masked form; the same phone gives the same key (countable and joinable)."""
    key = os.environ["DEALERFUNNEL_PII_KEY"].encode()
    expected = hmac.new(key, b"13800000001", hashlib.sha256).hexdigest()
    with psycopg.connect(secured) as conn:
        row = conn.execute(
            "select phone_key, phone_masked, email_key from marts.fct_leads"
            " where source_lead_id = 'SH-L1'"
        ).fetchone()
    assert row == (expected, "138****0001", None)


def test_roles_command_creates_bi_logins_and_prints_how_to_connect(secured, monkeypatch, capsys):
    """`make roles HQ=… PASSWORD_ENV=…` / `READER=… DEALERS=…` as the printed help says (the
    same text `make demo` prints): logins with hashed passwords that see what they should."""
    password = "bi-Secret/+=@:%x9"
    monkeypatch.setenv("T_BI_PASSWORD", password)
    assert manage_access(None, None, BI_HQ, "T_BI_PASSWORD") == 0
    assert manage_access(BI_DEALER, "UR001", None, "T_BI_PASSWORD") == 0
    captured = capsys.readouterr()
    out = captured.out
    assert captured.err == ""
    parts = url_parts(secured)
    assert f"host={parts['host']} port={parts['port']} dbname={parts['dbname']}" in out
    assert "make roles HQ=hq_bi PASSWORD_ENV=BI_PASSWORD" in out
    assert "make roles READER=sh001_bi DEALERS=SH001 PASSWORD_ENV=BI_PASSWORD" in out
    assert password not in out and f"HQ reader: {BI_HQ}" in out
    with psycopg.connect(secured) as conn:
        stored = conn.execute(
            "select rolname, rolcanlogin, rolpassword from pg_authid where rolname = any(%s)",
            ([BI_HQ, BI_DEALER],),
        ).fetchall()
        truth = _counts_by_dealer(conn, "fct_leads")
    assert len(stored) == 2
    for _, can_login, verifier in stored:  # a SCRAM verifier, hashed before it was sent
        assert can_login and verifier.startswith("SCRAM-SHA-256$") and password not in verifier
    with _as(secured, BI_HQ) as conn:
        assert _counts_by_dealer(conn, "fct_leads") == truth
    with _as(secured, BI_DEALER) as conn:
        assert _counts_by_dealer(conn, "fct_leads") == {"UR001": truth["UR001"]}


def test_the_roles_command_rejects_bad_input_with_a_clear_error(secured, monkeypatch, capsys):
    monkeypatch.setenv("T_SHORT", "short")
    monkeypatch.delenv("T_UNSET", raising=False)
    cases = [
        ((None, None, BI_HQ, "T_UNSET"), "T_UNSET is empty"),
        ((None, None, BI_HQ, "T_SHORT"), "12 characters or more"),
        ((None, None, "r" * 64, None), "1 to 63 bytes"),
        ((BI_DEALER, "UR001;drop", None, None), "invalid dealer codes"),
        ((BI_DEALER, "UR001", BI_HQ, None), "not both"),
    ]
    for args, message in cases:
        assert manage_access(*args) == 2
        assert message in capsys.readouterr().err, args


def test_role_names_that_look_like_sql_are_only_names(secured, monkeypatch):
    monkeypatch.setenv("T_BI_PASSWORD", "another-long-password")
    assert manage_access(None, None, ODD, "T_BI_PASSWORD") == 0
    with psycopg.connect(secured) as conn:
        assert conn.execute("select 1 from pg_roles where rolname = %s", (ODD,)).fetchone()
        assert conn.execute("select to_regclass('ops.load_batches')").fetchone()[0]
    with _as(secured, ODD) as conn:  # an HQ reader like any other
        assert sum(_counts_by_dealer(conn, "fct_leads").values()) > 0

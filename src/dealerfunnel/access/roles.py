"""Create the warehouse roles and map dealer readers to dealers (see ``roles.sql``)."""

from __future__ import annotations

import re
from importlib.resources import files

from psycopg import sql

from dealerfunnel.settings import DEALER_CODE_PATTERN, ConfigError
from dealerfunnel.warehouse.connection import connect

LOADER = "dealerfunnel_loader"
TRANSFORMER = "dealerfunnel_transformer"
HQ_READER = "dealerfunnel_hq_reader"
DEALER_READER = "dealerfunnel_dealer_reader"
ROLES_LOCK_KEY = 0x726F6C65  # "role": role DDL is cluster-wide, one writer at a time
# the role each kind of pipeline task works as (dealerfunnel.warehouse.task_warehouse_url)
TASK_ROLES = {"loader": LOADER, "transformer": TRANSFORMER}
# the schemas dbt builds: owned by the transformer, which drops, recreates and swaps them
DBT_SCHEMAS = (
    "staging",
    "intermediate",
    "seeds",
    "dbt_test__audit",
    "marts",
    "marts_candidate",
    "marts_previous",
)
_RELATION_KINDS = {"r": "table", "p": "table", "v": "view", "m": "materialized view"}
_DEALER_CODE = re.compile(DEALER_CODE_PATTERN)
MAX_ROLE_NAME_BYTES = 63  # PostgreSQL would silently cut a longer name (NAMEDATALEN - 1)
MIN_PASSWORD_LENGTH = 12


def ensure_roles(url: str | None = None) -> dict[str, list[str]]:
    """Create the roles, ``access`` schema and grants idempotently; return what exists."""
    with connect(url) as conn:
        conn.execute("select pg_advisory_xact_lock(%s)", (ROLES_LOCK_KEY,))
        conn.execute(files("dealerfunnel.access").joinpath("roles.sql").read_text("utf-8"))
        # the transformer creates the dbt schemas (staging, intermediate, seeds, marts*)
        conn.execute(
            sql.SQL("grant create on database {} to {}").format(
                sql.Identifier(conn.info.dbname), sql.Identifier(TRANSFORMER)
            )
        )
        _hand_dbt_schemas_to_transformer(conn)
        readers = [
            r[0]
            for r in conn.execute(
                "select distinct role_name from ops.reader_dealers order by 1"
            ).fetchall()
        ]
    return {"roles": [LOADER, TRANSFORMER, HQ_READER, DEALER_READER], "dealer_readers": readers}


def _hand_dbt_schemas_to_transformer(conn) -> None:
    """The dbt schemas (and what is in them) built by an earlier admin run become the
    transformer's, so dbt, working as the transformer, can replace and swap them."""
    owned = conn.execute(
        "select n.nspname, c.relname, c.relkind from pg_namespace n"
        " left join pg_class c on c.relnamespace = n.oid and c.relkind = any(%s)"
        "  and pg_get_userbyid(c.relowner) <> %s"
        " where n.nspname = any(%s)"
        "  and (pg_get_userbyid(n.nspowner) <> %s or c.oid is not null)",
        (list(_RELATION_KINDS), TRANSFORMER, list(DBT_SCHEMAS), TRANSFORMER),
    ).fetchall()
    for schema in sorted({row[0] for row in owned}):
        conn.execute(
            sql.SQL("alter schema {} owner to {}").format(
                sql.Identifier(schema), sql.Identifier(TRANSFORMER)
            )
        )
    for schema, relation, kind in owned:
        if relation is not None:
            conn.execute(
                sql.SQL("alter {} {} owner to {}").format(
                    sql.SQL(_RELATION_KINDS[kind]),
                    sql.Identifier(schema, relation),
                    sql.Identifier(TRANSFORMER),
                )
            )


def grant_reader(role: str, dealer_codes: list[str], url: str | None = None) -> None:
    """Let the existing login ``role`` read the rows of ``dealer_codes`` in every mart.

    ``role`` becomes a member of the dealer-reader group; ``ops.reader_dealers`` records the
    mapping the row-level security policies read. A reader may hold several dealers.
    """
    bad = [code for code in dealer_codes if not _DEALER_CODE.fullmatch(code)]
    if bad or not dealer_codes:
        raise ConfigError(f"reader {role!r}: invalid dealer codes {bad or dealer_codes!r}")
    with connect(url) as conn:
        if not conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone():
            raise ConfigError(f"reader {role!r}: no such database role (create it first)")
        conn.execute(
            sql.SQL("grant {} to {}").format(sql.Identifier(DEALER_READER), sql.Identifier(role))
        )
        with conn.cursor() as cur:
            cur.executemany(
                "insert into ops.reader_dealers (role_name, dealer_code) values (%s, %s)"
                " on conflict do nothing",
                [(role, code) for code in dealer_codes],
            )


def _login_name(role: str) -> str:
    if not role or len(role.encode("utf-8")) > MAX_ROLE_NAME_BYTES:
        raise ConfigError(
            f"login role {role!r}: a name of 1 to {MAX_ROLE_NAME_BYTES} bytes is required"
        )
    return role


def ensure_login(role: str, password: str, url: str | None = None) -> None:
    """Create the login ``role`` (or set its password): a BI tool's account.

    The password is hashed on this side (libpq's ``PQencryptPasswordConn``, the server's
    ``password_encryption``), so only its verifier travels to the server, never the clear
    password in a statement a server log could keep.
    """
    _login_name(role)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ConfigError(
            f"login role {role!r}: the password must have {MIN_PASSWORD_LENGTH} characters or more"
        )
    with connect(url) as conn:
        conn.execute("select pg_advisory_xact_lock(%s)", (ROLES_LOCK_KEY,))
        verifier = conn.pgconn.encrypt_password(password.encode(), role.encode()).decode()
        exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
        statement = (
            "alter role {} login password {}" if exists else "create role {} login password {}"
        )
        conn.execute(sql.SQL(statement).format(sql.Identifier(role), sql.Literal(verifier)))


def grant_hq(role: str, url: str | None = None) -> None:
    """Let the existing login ``role`` read every row of every mart (an HQ reader)."""
    _login_name(role)
    with connect(url) as conn:
        if not conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone():
            raise ConfigError(f"HQ reader {role!r}: no such database role (create it first)")
        conn.execute(
            sql.SQL("grant {} to {}").format(sql.Identifier(HQ_READER), sql.Identifier(role))
        )


def revoke_reader(role: str, url: str | None = None) -> None:
    """Remove ``role``'s dealer mapping (it then sees no row) and its reader membership."""
    with connect(url) as conn:
        conn.execute("delete from ops.reader_dealers where role_name = %s", (role,))
        conn.execute(
            sql.SQL("revoke {} from {}").format(sql.Identifier(DEALER_READER), sql.Identifier(role))
        )

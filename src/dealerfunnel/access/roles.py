"""Create the warehouse roles and map dealer readers to dealers (see ``roles.sql``)."""

from __future__ import annotations

import re
from importlib.resources import files

from psycopg import sql

from dealerfunnel.settings import ConfigError
from dealerfunnel.warehouse.connection import connect

LOADER = "dealerfunnel_loader"
TRANSFORMER = "dealerfunnel_transformer"
HQ_READER = "dealerfunnel_hq_reader"
DEALER_READER = "dealerfunnel_dealer_reader"
ROLES_LOCK_KEY = 0x726F6C65  # "role": role DDL is cluster-wide, one writer at a time
_DEALER_CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


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
        readers = [
            r[0]
            for r in conn.execute(
                "select distinct role_name from ops.reader_dealers order by 1"
            ).fetchall()
        ]
    return {"roles": [LOADER, TRANSFORMER, HQ_READER, DEALER_READER], "dealer_readers": readers}


def grant_reader(role: str, dealer_codes: list[str], url: str | None = None) -> None:
    """Let the existing login ``role`` read the rows of ``dealer_codes`` in every mart.

    ``role`` becomes a member of the dealer-reader group; ``ops.reader_dealers`` records the
    mapping the row-level security policies read. A reader may hold several dealers.
    """
    bad = [code for code in dealer_codes if not _DEALER_CODE.match(code)]
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


def revoke_reader(role: str, url: str | None = None) -> None:
    """Remove ``role``'s dealer mapping (it then sees no row) and its reader membership."""
    with connect(url) as conn:
        conn.execute("delete from ops.reader_dealers where role_name = %s", (role,))
        conn.execute(
            sql.SQL("revoke {} from {}").format(sql.Identifier(DEALER_READER), sql.Identifier(role))
        )

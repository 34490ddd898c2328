"""Create the pipeline-owned ``raw`` and ``ops`` schemas (idempotent)."""

from __future__ import annotations

from pathlib import Path

from psycopg import sql

from dealerfunnel.warehouse.connection import connect

DDL_PATH = Path(__file__).with_name("schema.sql")

# Every API object lands in raw.<source>__<object> with one shape: the record exactly as the
# API returned it (payload jsonb, the documented wire format), its natural key (record_id)
# within the account, the source's own updated time, and load metadata. Loads merge on
# (account_id, record_id): a re-run or a duplicate is a no-op, a later record_updated_at wins
# (late updates), an older one is ignored.
API_RAW_TABLES: dict[str, str] = {
    "meta__leads": "Meta Lead Ads lead (Graph API /{form_id}/leads); key: id",
    "meta__insights": "Meta Insights day x campaign; key: campaign_id|date_start",
    "google_ads__lead_form_submissions": "Google Ads lead_form_submission_data; key: resourceName",
    "google_ads__campaign_costs": "Google Ads GAQL campaign x segments.date; key: id|date",
    "salesforce__leads": "Salesforce Lead sObject; key: Id",
    "salesforce__opportunities": "Salesforce Opportunity sObject; key: Id",
    "salesforce__lead_history": "Salesforce LeadHistory row; key: Id",
    "salesforce__opportunity_history": "Salesforce OpportunityHistory row; key: Id",
    "salesforce__tasks": "Salesforce Task (follow-up activity); key: Id",
    "salesforce__events": "Salesforce Event (showroom visit, test drive, delivery); key: Id",
    "salesforce__users": "Salesforce User (consultant); key: Id",
    "hubspot__contacts": "HubSpot CRM v3 contact; key: id",
    "hubspot__deals": "HubSpot CRM v3 deal with dealstage history; key: id",
    "hubspot__owners": "HubSpot owner; key: id",
    "hubspot__pipelines": "HubSpot deal pipeline with its stages; key: id",
    "hubspot__calls": "HubSpot call engagement with its contacts; key: id",
    "hubspot__meetings": "HubSpot meeting engagement with its contacts; key: id",
    "hubspot__emails": "HubSpot e-mail engagement with its contacts; key: id",
    "hubspot__notes": "HubSpot note engagement with its contacts; key: id",
    "hubspot__feedback_submissions": "HubSpot survey response (NPS, CSAT), its contacts; key: id",
    "eventbrite__attendees": "Eventbrite attendee; key: id",
}

# Every raw table: the source row as jsonb and the load metadata, after its own columns.
_RAW_LOAD_COLUMNS = """
        payload jsonb not null,
        _dealer_code text not null,
        _source text not null,
        _batch_id uuid not null,
        _extracted_at timestamptz not null,"""

API_RAW_DDL = sql.SQL(
    """
    create table if not exists {table} (
        record_id text not null,
        account_id text not null,
        record_updated_at timestamptz,"""
    + _RAW_LOAD_COLUMNS
    + """
        primary key (account_id, record_id)
    );
    comment on table {table} is {comment};
    """
)

# Dealer CRM export files land in raw.dealer_export__<object>: the typed key columns of the
# object beside the whole file row (payload, every column of the file kept) and load metadata.
# A file lands once by construction: its content (dealer, sha256) is landed once
# (ops.landed_files, unique index landed_files_content_once, in the same transaction as its
# rows), and its rows are numbered 1..n in it. So (_dealer_code, _file_sha256, _row_number) is
# unique without a row-level index, which cost the loader about 2x a bare COPY; the raw GX
# suites keep checking it (expect_compound_columns_to_be_unique).
FILE_RAW_TABLES: dict[str, tuple[str, ...]] = {
    "dealer_export__leads": (
        "lead_id text not null",
        "created_at timestamptz not null",
        "assigned_at timestamptz",
    ),
    "dealer_export__stage_events": (
        "lead_id text not null",
        "stage text not null",
        "occurred_at timestamptz not null",
    ),
    "dealer_export__followups": (
        "lead_id text not null",
        "occurred_at timestamptz not null",
        "recorded_at timestamptz",
    ),
    "dealer_export__activities": (
        "lead_id text not null",
        "activity text not null",
        "occurred_at timestamptz not null",
    ),
    # surveys*.csv: one customer satisfaction answer; score within 0..scale_max (default 10).
    "dealer_export__surveys": (
        "lead_id text not null",
        "occurred_at timestamptz not null",
        "score numeric not null",
        "scale_max numeric not null",
        "kind text",
    ),
    # targets*.csv: a monthly target of the dealer (consultant null) or of one consultant.
    "dealer_export__targets": (
        "month date not null",
        "metric text not null",
        "target numeric not null",
        "consultant text",
    ),
}

FILE_RAW_DDL = (
    """
    create table if not exists {table} (
        {typed},"""
    + _RAW_LOAD_COLUMNS
    + """
        _file_name text not null,
        _file_sha256 text not null,
        _row_number integer not null
    );
    """
)

#: The row-level unique constraints of the dealer-export raw tables created before file-level
#: uniqueness: dropped by :func:`ensure_schema` (rows kept).
_ROW_UNIQUE_COLUMNS = ["_dealer_code", "_file_sha256", "_row_number"]
_ROW_UNIQUE_CONSTRAINTS = """
    select c.conname
    from pg_constraint as c
    where c.conrelid = to_regclass(%s) and c.contype = 'u'
        and array(
            select a.attname::text
            from unnest(c.conkey) with ordinality as k (attnum, position)
            join pg_attribute as a on a.attrelid = c.conrelid and a.attnum = k.attnum
            order by k.position
        ) = %s::text[]
"""


def file_raw_ddl(name: str) -> sql.Composed:
    """``create table if not exists raw.<name>`` for one dealer-export object."""
    typed = sql.SQL(",\n        ").join(sql.SQL(column) for column in FILE_RAW_TABLES[name])
    return sql.SQL(FILE_RAW_DDL).format(table=sql.Identifier("raw", name), typed=typed)


def file_raw_added_columns(name: str) -> list[sql.Composed]:
    """``alter table ... add column if not exists`` for the NULL-able typed columns of a
    dealer-export object, so a table created before such a column existed gets it."""
    return [
        sql.SQL("alter table {} add column if not exists {}").format(
            sql.Identifier("raw", name), sql.SQL(column)
        )
        for column in FILE_RAW_TABLES[name]
        if "not null" not in column
    ]


def drop_row_unique_constraints(conn, name: str) -> list[str]:
    """Drop the unique constraint on (_dealer_code, _file_sha256, _row_number) of
    ``raw.<name>`` if it has one (databases created before file-level uniqueness); the rows
    stay. Returns the constraints dropped (none on a second call)."""
    table = sql.Identifier("raw", name)
    found = conn.execute(
        _ROW_UNIQUE_CONSTRAINTS, (table.as_string(conn), _ROW_UNIQUE_COLUMNS)
    ).fetchall()
    for (constraint,) in found:
        conn.execute(
            sql.SQL("alter table {} drop constraint {}").format(table, sql.Identifier(constraint))
        )
    return [constraint for (constraint,) in found]


def ensure_schema(url: str | None = None) -> None:
    """Apply ``schema.sql`` and the file and API raw tables; safe on every task start (lock)."""
    ddl = DDL_PATH.read_text(encoding="utf-8")
    with connect(url) as conn:
        conn.execute("select pg_advisory_xact_lock(hashtext('dealerfunnel.ensure_schema'))")
        conn.execute(ddl)
        for name in FILE_RAW_TABLES:
            conn.execute(file_raw_ddl(name))
            for statement in file_raw_added_columns(name):
                conn.execute(statement)
            drop_row_unique_constraints(conn, name)
        for name, comment in API_RAW_TABLES.items():
            conn.execute(
                API_RAW_DDL.format(table=sql.Identifier("raw", name), comment=sql.Literal(comment))
            )
        for name in (*FILE_RAW_TABLES, *API_RAW_TABLES):
            conn.execute(raw_batch_index_ddl(name))


def raw_batch_index_ddl(name: str) -> sql.Composed:
    """The index on a raw table's ``_batch_id``: the raw quality gate reads the rows of the load
    batches it has not checked yet (``ops.raw_gate_batches``), not the whole table."""
    return sql.SQL("create index if not exists {} on {} (_batch_id)").format(
        sql.Identifier(f"{name}__batch_idx"), sql.Identifier("raw", name)
    )

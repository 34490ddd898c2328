"""The raw tables' DDL: every dealer-export object and API object gets the shared load columns."""

from __future__ import annotations

from dealerfunnel.landing.parsing import OBJECTS, typed_columns
from dealerfunnel.warehouse.schema import DDL_PATH, FILE_RAW_TABLES, file_raw_ddl

LOAD_COLUMNS = ["payload", "_dealer_code", "_source", "_batch_id", "_extracted_at"]
FILE_COLUMNS = ["_file_name", "_file_sha256", "_row_number"]


def _columns(ddl: str) -> list[str]:
    body = ddl.split("(", 1)[1].rsplit(")", 1)[0]
    return [
        line.split()[0]
        for line in body.strip().splitlines()
        if not line.strip().startswith("unique")
    ]


def test_every_landing_object_has_a_raw_table_with_its_typed_columns():
    assert set(FILE_RAW_TABLES) == {f"dealer_export__{obj}" for obj in OBJECTS}
    for obj in OBJECTS:
        ddl = file_raw_ddl(f"dealer_export__{obj}").as_string(None)
        assert ddl.lstrip().startswith(f'create table if not exists "raw"."dealer_export__{obj}"')
        assert _columns(ddl) == [*typed_columns(obj), *LOAD_COLUMNS, *FILE_COLUMNS]
        # a file lands once by its content (ops.landed_files): no row-level unique index
        assert "unique" not in ddl


def test_schema_sql_leaves_the_raw_tables_to_schema_py():
    text = DDL_PATH.read_text(encoding="utf-8")
    assert "create table if not exists raw." not in text

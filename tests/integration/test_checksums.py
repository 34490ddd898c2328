"""The table checksums of tools/dealerfunnel_demo/checksums.py (bench and incremental tests).

Hand-made tables: rows as text in column-name order, ``refreshed_at`` left out; the digest is
the md5 of the rows' sorted md5s, worked out here in Python from the expected row texts.
"""

from __future__ import annotations

import hashlib

import psycopg

from dealerfunnel_demo.checksums import (
    INCREMENTAL_MODELS,
    compared_tables,
    table_checksum,
    table_rows,
)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def test_checksums_ignore_refreshed_at_and_row_order(clean_warehouse):
    url = clean_warehouse
    with psycopg.connect(url) as conn:
        conn.execute("create schema marts")
        conn.execute("create table marts.fct_a (name text, refreshed_at timestamptz, id int)")
        conn.execute("create table marts.fct_b (name text, refreshed_at timestamptz, id int)")
        conn.execute("create table marts.mart_source_freshness (id int)")
        conn.execute(
            "insert into marts.fct_a values ('b', now(), 2), ('a x', now(), 1), ('a x', now(), 1)"
        )
        conn.execute(
            "insert into marts.fct_b values ('a x', now() - interval '1 day', 1),"
            " ('b', null, 2), ('a x', now() - interval '2 days', 1)"
        )

    expected = ['(1,"a x")', '(1,"a x")', "(2,b)"]  # columns by name: id, name
    assert table_rows(url, "marts", "fct_a") == expected
    assert table_rows(url, "marts", "fct_b") == expected
    digest = _md5("\n".join(sorted(_md5(r) for r in expected)))
    assert table_checksum(url, "marts", "fct_a") == {"rows": 3, "md5": digest}
    assert table_checksum(url, "marts", "fct_b") == {"rows": 3, "md5": digest}
    assert compared_tables(url) == [("marts", "fct_a"), ("marts", "fct_b"), *INCREMENTAL_MODELS]

    with psycopg.connect(url) as conn:  # one row fewer of a duplicate: another multiset
        conn.execute("delete from marts.fct_b where ctid = (select min(ctid) from marts.fct_b"
                     " where id = 1)")  # fmt: skip
        conn.execute("insert into marts.fct_b values ('c', now(), 3)")
    changed = table_checksum(url, "marts", "fct_b")
    assert changed["rows"] == 3 and changed["md5"] != digest
    assert changed["md5"] == _md5("\n".join(sorted(_md5(r) for r in [*expected[1:], "(3,c)"])))

from types import SimpleNamespace

import pytest

from dealerfunnel.warehouse.connection import connection_to_url, mask_url, to_libpq, url_parts


def test_mask_url_hides_password():
    masked = mask_url("postgresql://alice:p%40ss@db.example:5433/wh")
    assert "p%40ss" not in masked and "p@ss" not in masked
    assert masked == "postgresql://alice:***@db.example:5433/wh"


def test_url_parts_tcp_and_socket():
    assert url_parts("postgresql+psycopg://bob:s%2Fx@h:6543/d") == {
        "host": "h",
        "port": "6543",
        "user": "bob",
        "password": "s/x",
        "dbname": "d",
    }
    parts = url_parts("postgresql://postgres:@/warehouse?host=%2Ftmp%2Fpg")
    assert parts["host"] == "/tmp/pg" and parts["dbname"] == "warehouse"


def test_non_postgres_url_is_rejected():
    with pytest.raises(ValueError, match="must start with postgresql://"):
        to_libpq("mysql://x@y/z")


def test_airflow_connection_round_trip():
    conn = SimpleNamespace(login="u", password="p w", host="/tmp/sock", port=None, schema="wh")
    url = connection_to_url(conn)
    assert url_parts(url) == {
        "host": "/tmp/sock",
        "port": "5432",
        "user": "u",
        "password": "p w",
        "dbname": "wh",
    }
    tcp = SimpleNamespace(login="u", password=None, host="db", port=5433, schema="wh")
    assert connection_to_url(tcp) == "postgresql://u@db:5433/wh"

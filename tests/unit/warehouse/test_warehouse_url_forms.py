"""WAREHOUSE_URL: every place a password can be is masked; malformed URLs are one clear
configuration error (exit 2); no embedded warehouse in a deployment (issue #12 item 5)."""

from __future__ import annotations

import json
import os

import pytest

from dealerfunnel.warehouse import connection as wc
from dealerfunnel.warehouse.connection import (
    WarehouseNotConfigured,
    WarehouseUrlInvalid,
    airflow_connection_json,
    mask_url,
    parse_warehouse_url,
    resolve_warehouse_url,
    to_libpq,
    url_parts,
)

PASSWORD = "Pw_9x"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://alice:Pw_9x@db.example:5433/wh",
        "postgresql://alice@db.example:5433/wh?password=Pw_9x",
        "postgresql://alice@db.example:5433/wh?sslmode=require&password=Pw_9x",
        "postgres://alice:se@cret@Pw_9x@db.example:5433/wh",  # unescaped @ in the password
        "postgresql+psycopg://alice:a%40b%3APw_9x@db.example:5433/wh",
        "mysql://alice:Pw_9x@db.example/wh",
    ],
)
def test_mask_url_masks_the_password_wherever_it_is(url):
    masked = mask_url(url)
    assert PASSWORD not in masked and "***" in masked
    assert "db.example" in masked


@pytest.mark.parametrize(
    ("url", "password"),
    [
        ("postgresql://alice:Pw_9x@db.example:5433/wh", "Pw_9x"),
        ("postgresql://alice@db.example:5433/wh?password=Pw_9x", "Pw_9x"),
        ("postgresql://alice:se@cret@Pw_9x@db.example:5433/wh", "se@cret@Pw_9x"),
        ("postgresql://alice:p%2Fw%40x@db.example:5433/wh", "p/w@x"),
    ],
)
def test_password_is_read_from_every_form_and_reaches_the_connection(url, password):
    parts = url_parts(url)
    assert (parts["host"], parts["port"], parts["user"], parts["dbname"]) == (
        "db.example",
        "5433",
        "alice",
        "wh",
    )
    assert parts["password"] == password
    assert json.loads(airflow_connection_json(url))["password"] == password  # to the tasks
    assert url_parts(to_libpq(url))["password"] == password  # libpq URI round trip


def test_socket_folder_and_extra_parameters_are_kept():
    url = "postgresql://postgres:@/warehouse?host=%2Ftmp%2Fpg&sslmode=disable"
    parsed = parse_warehouse_url(url)
    assert (parsed.host, parsed.dbname, parsed.port) == ("/tmp/pg", "warehouse", 5432)
    assert "sslmode=disable" in to_libpq(url) and "host=/tmp/pg" in to_libpq(url)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("mysql://alice:Pw_9x@db.example/wh", "must start with postgresql://"),
        ("postgresql://alice:Pw_9x@db.example:99999/wh", "port must be a number from 1 to 65535"),
        ("postgresql://alice:Pw_9x@db.example:abc/wh", "port must be a number"),
        ("postgresql://alice:Pw_9x@/wh", "no host"),
        ("garbage Pw_9x", "not a URL"),
        ("", "empty"),
    ],
)
def test_malformed_urls_are_one_masked_configuration_error(url, problem):
    with pytest.raises(WarehouseUrlInvalid) as info:
        parse_warehouse_url(url)
    message = str(info.value)
    assert message.startswith("WAREHOUSE_URL: ") and problem in message
    assert PASSWORD not in message and "\n" not in message


def test_deployment_never_starts_the_embedded_warehouse(monkeypatch):
    monkeypatch.setenv("DEALERFUNNEL_DEPLOYMENT", "true")
    monkeypatch.delenv("WAREHOUSE_URL", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_WAREHOUSE", raising=False)

    def unreadable(conn_id):
        raise RuntimeError("secrets backend down")

    from airflow.sdk import BaseHook

    monkeypatch.setattr(BaseHook, "get_connection", staticmethod(unreadable))
    monkeypatch.setattr(
        "dealerfunnel.warehouse.embedded.embedded_url",
        lambda: pytest.fail("embedded warehouse started in a deployment"),
    )
    with pytest.raises(WarehouseNotConfigured, match="'warehouse' cannot be read"):
        resolve_warehouse_url()
    monkeypatch.setenv("WAREHOUSE_URL", "postgresql://u:p@h/d")  # no silent fallback either
    with pytest.raises(WarehouseNotConfigured):
        resolve_warehouse_url()


def test_developer_run_falls_back_to_the_embedded_warehouse(monkeypatch):
    monkeypatch.delenv("DEALERFUNNEL_DEPLOYMENT", raising=False)
    monkeypatch.delenv("WAREHOUSE_URL", raising=False)
    for key in [k for k in os.environ if k.startswith("AIRFLOW_CONN_") or k == "AIRFLOW_HOME"]:
        monkeypatch.delenv(key)
    monkeypatch.setattr(
        "dealerfunnel.warehouse.embedded.embedded_url", lambda: "postgresql://e@/w?host=/tmp/x"
    )
    assert resolve_warehouse_url() == to_libpq("postgresql://e@/w?host=/tmp/x")
    assert wc.is_deployment() is False

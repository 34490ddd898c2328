"""Which role each kind of pipeline task works as (least privilege, DESIGN.md §5)."""

from __future__ import annotations

import json
import os

import pytest

from dealerfunnel.access import LOADER, TRANSFORMER
from dealerfunnel.transform.runner import DBT_SESSION_OPTIONS, dbt_env
from dealerfunnel.warehouse import task_warehouse_url
from dealerfunnel.warehouse.connection import libpq_options, parse_warehouse_url, with_session_role


@pytest.fixture
def admin_only(monkeypatch):
    """WAREHOUSE_URL is the admin login; no Airflow Connection is defined."""
    for key in [k for k in os.environ if k.startswith("AIRFLOW_CONN_") or k == "AIRFLOW_HOME"]:
        monkeypatch.delenv(key)
    monkeypatch.delenv("DEALERFUNNEL_DEPLOYMENT", raising=False)
    monkeypatch.setenv("WAREHOUSE_URL", "postgresql://admin:s3cr%2Ft@db.internal:5433/wh")


def test_without_their_own_connections_tasks_start_the_admin_sessions_as_their_role(admin_only):
    for job, role in (("loader", LOADER), ("transformer", TRANSFORMER)):
        url = task_warehouse_url(job)
        parsed = parse_warehouse_url(url)
        assert (parsed.user, parsed.password, parsed.host, parsed.dbname) == (
            "admin",
            "s3cr/t",
            "db.internal",
            "wh",
        )
        assert libpq_options(url) == f"-c role={role}"
    with pytest.raises(ValueError, match="unknown task job"):
        task_warehouse_url("reader")


def test_a_task_connection_of_its_own_wins(admin_only, monkeypatch):
    own = {"conn_type": "postgres", "host": "db.internal", "port": 5433, "schema": "wh"}
    own |= {"login": "etl_loader", "password": "l0ad/er"}
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_LOADER", json.dumps(own))
    loader = parse_warehouse_url(task_warehouse_url("loader"))
    assert (loader.user, loader.password, loader.query) == ("etl_loader", "l0ad/er", ())
    # the transformer has none: the admin login, started as the transformer
    assert libpq_options(task_warehouse_url("transformer")) == f"-c role={TRANSFORMER}"


def test_the_session_role_joins_the_urls_own_options_and_parameters():
    url = "postgresql://a@h/d?sslmode=require&options=-c%20work_mem%3D8MB"
    with_role = with_session_role(url, TRANSFORMER)
    assert libpq_options(with_role) == f"-c work_mem=8MB -c role={TRANSFORMER}"
    assert ("sslmode", "require") in parse_warehouse_url(with_role).query
    for bad in ("x; drop role y", "Robert'); --", "a b", ""):
        with pytest.raises(ValueError, match="not a role name"):
            with_session_role(url, bad)


def test_dbt_sessions_get_the_role_and_the_pii_key_through_pgoptions(monkeypatch):
    monkeypatch.delenv("PGOPTIONS", raising=False)
    env = dbt_env(with_session_role("postgresql://a:pw@h:5432/d", TRANSFORMER))
    options = env["PGOPTIONS"]
    # the runner's session defaults (JIT off) first, then the role and the keys
    assert DBT_SESSION_OPTIONS == "-c jit=off"
    assert options.startswith(
        f"{DBT_SESSION_OPTIONS} -c role={TRANSFORMER} -c dealerfunnel.pii_ipad="
    )
    assert "-c dealerfunnel.pii_opad=" in options
    assert env["DBT_PG_PASSWORD"] == "pw" and "pw" not in options


def test_pgoptions_and_the_urls_own_options_come_after_the_dbt_defaults(monkeypatch):
    """libpq applies the -c options in order, so PGOPTIONS and then the URL's options win."""
    monkeypatch.setenv("PGOPTIONS", "-c jit=on -c work_mem=16MB")
    url = "postgresql://a@h/d?options=-c%20work_mem%3D8MB"
    options = dbt_env(url)["PGOPTIONS"]
    assert options.index(DBT_SESSION_OPTIONS) < options.index("jit=on")
    assert options.index("work_mem=16MB") < options.index("work_mem=8MB")

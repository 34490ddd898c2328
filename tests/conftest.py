"""Shared fixtures: a real PostgreSQL database per test session.

The server is ``WAREHOUSE_URL`` when set (CI points it at the machine's PostgreSQL), else an
embedded ``pgserver`` instance in a temporary folder. Either way each session gets its own
freshly created database, dropped at the end.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import psycopg
import pytest

# The project folders (config/, dbt_project/, expectations/, dags/) are found through
# DEALERFUNNEL_HOME, as the Makefile sets it; tests may run from any working directory.
os.environ.setdefault("DEALERFUNNEL_HOME", str(Path(__file__).resolve().parents[1]))
# The PII hash key (dealerfunnel.access.pii): a fixed test secret, so expected hashes are known.
os.environ.setdefault("DEALERFUNNEL_PII_KEY", "test-only-pii-key-0123456789")

from dealerfunnel.warehouse import ensure_schema
from dealerfunnel.warehouse.connection import to_libpq
from dealerfunnel_demo.databases import create_database, drop_database


def pytest_configure(config) -> None:
    """Give each pytest process its own temporary root: concurrent runs on one machine would
    otherwise prune each other's ``pytest-N`` folders (and the embedded PostgreSQL in them)."""
    if not config.option.basetemp:
        config.option.basetemp = tempfile.mkdtemp(prefix="dealerfunnel-pytest-")


def require(available: bool, what: str) -> None:
    """Skip a test whose service or tool is missing on a developer's machine; in CI
    (``CI=true``), where ``.ci/run`` starts every service and installs every tool, fail instead
    so a missing piece can never turn CI quietly green."""
    if available:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI: {what} is required but missing", pytrace=False)
    pytest.skip(f"{what} is missing")


PIPELINE_SCHEMAS = (
    "raw",
    "ops",
    "staging",
    "intermediate",
    "marts",
    "marts_candidate",
    "marts_previous",
    "seeds",
    "dbt_test__audit",
)


@pytest.fixture(scope="session")
def server_url(tmp_path_factory) -> str:
    """Admin URL of the PostgreSQL server the tests use."""
    url = os.environ.get("WAREHOUSE_URL")
    if url:
        return to_libpq(url)
    import pgserver

    pgdata = tmp_path_factory.mktemp("pg") / "data"
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    return server.get_uri()


@pytest.fixture(scope="session")
def warehouse_url(server_url) -> str:
    """A fresh database for this test session, with the raw/ops schemas applied."""
    url = create_database(server_url, "dealerfunnel_test")
    yield url
    drop_database(server_url, url)


@pytest.fixture
def clean_warehouse(warehouse_url) -> str:
    """The session database with every pipeline schema dropped and raw/ops re-created."""
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        for schema in PIPELINE_SCHEMAS:
            conn.execute(f'drop schema if exists "{schema}" cascade')
    ensure_schema(warehouse_url)
    return warehouse_url


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    """Point the project's data folder (reports, dbt target, landing) at a temp folder."""
    monkeypatch.setenv("DEALERFUNNEL_DATA_DIR", str(tmp_path / "var"))
    return tmp_path / "var"

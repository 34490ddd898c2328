"""The embedded PostgreSQL: created once in the data folder, its database made on first use."""

from __future__ import annotations

import sys
import types

import pytest

from dealerfunnel.warehouse import embedded


class FakeServer:
    def __init__(self, pgdata, cleanup_mode):
        self.pgdata = pgdata
        self.cleanup_mode = cleanup_mode
        self.cleaned = False

    def get_uri(self, database: str | None = None) -> str:
        return f"postgresql:///{database or 'postgres'}?host={self.pgdata}"

    def cleanup(self) -> None:
        self.cleaned = True


class FakeConn:
    def __init__(self, databases: set[str], statements: list[str]):
        self.databases = databases
        self.statements = statements

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, query, params=None):
        self.statements.append(query)
        found = params is not None and params[0] in self.databases
        return types.SimpleNamespace(fetchone=lambda: (1,) if found else None)


@pytest.fixture
def fakes(monkeypatch, tmp_path):
    monkeypatch.setenv("DEALERFUNNEL_DATA_DIR", str(tmp_path))
    servers: list[FakeServer] = []

    def get_server(pgdata, cleanup_mode):
        servers.append(FakeServer(pgdata, cleanup_mode))
        return servers[-1]

    monkeypatch.setitem(sys.modules, "pgserver", types.SimpleNamespace(get_server=get_server))
    state = {"databases": set(), "statements": []}
    import psycopg

    monkeypatch.setattr(
        psycopg,
        "connect",
        lambda url, autocommit=False: FakeConn(state["databases"], state["statements"]),
    )
    return tmp_path, servers, state


def test_embedded_url_creates_the_database_once(fakes):
    tmp_path, servers, state = fakes
    url = embedded.embedded_url()
    assert url == f"postgresql:///warehouse?host={tmp_path / 'pgdata'}"
    assert servers[0].cleanup_mode is None  # keeps running for later runs
    assert state["statements"][-1] == 'create database "warehouse"'
    state["databases"].add("warehouse")
    state["statements"].clear()
    embedded.embedded_url()
    assert not any(s.startswith("create database") for s in state["statements"])


def test_stop_embedded_only_when_running(fakes):
    tmp_path, servers, _ = fakes
    embedded.stop_embedded()
    assert servers == []
    (tmp_path / "pgdata").mkdir()
    (tmp_path / "pgdata" / "postmaster.pid").write_text("1")
    embedded.stop_embedded()
    assert servers[0].cleanup_mode == "stop" and servers[0].cleaned

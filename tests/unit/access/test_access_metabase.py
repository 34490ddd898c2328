"""``metabase-setup`` against a local Metabase stand-in over real HTTP
(``dealerfunnel_demo.metabase_receiver``): a fresh Metabase is set up once with the warehouse
read as ``metabase_hq`` (schema ``marts``), a set-up one gets the database added once, a
missing variable is named, and no secret reaches the output."""

from __future__ import annotations

import logging

import pytest

from dealerfunnel import cli
from dealerfunnel.access.metabase import DATABASE_NAME, settings_from_env, setup_metabase
from dealerfunnel_demo.metabase_receiver import FakeMetabase

ADMIN_EMAIL = "admin@dealer-group.example"
ADMIN_PASSWORD = "Adm1n-pass/with+chars"
HQ_PASSWORD = "hq-reader-S3cret/+="


@pytest.fixture
def metabase():
    fake = FakeMetabase(initializing_polls=2).start()
    yield fake
    fake.stop()


@pytest.fixture
def env(metabase, monkeypatch):
    values = {
        "MB_URL": metabase.url,
        "MB_ADMIN_EMAIL": ADMIN_EMAIL,
        "MB_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "METABASE_HQ_PASSWORD": HQ_PASSWORD,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def run(**kwargs) -> str:
    return setup_metabase(settings_from_env(), wait_seconds=10, poll_seconds=0.05, **kwargs)


EXPECTED_DETAILS = {
    "host": "warehouse-db",
    "port": 5432,
    "dbname": "warehouse",
    "user": "metabase_hq",
    "password": HQ_PASSWORD,
    "schema-filters-type": "inclusion",
    "schema-filters-patterns": "marts",
    "ssl": False,
}


def test_a_fresh_metabase_is_set_up_once_with_the_warehouse_as_hq_reader(metabase, env):
    assert run() == "setup"
    assert len(metabase.calls("GET", "/api/health")) == 3  # two 503 initializing, then ok
    (setup,) = metabase.calls("POST", "/api/setup")
    assert setup.body["token"] and setup.body["user"]["email"] == ADMIN_EMAIL
    assert setup.body["user"]["password"] == ADMIN_PASSWORD
    assert setup.body["prefs"]["allow_tracking"] is False
    assert setup.body["database"] == {
        "engine": "postgres",
        "name": DATABASE_NAME,
        "details": EXPECTED_DETAILS,
    }
    assert [d["name"] for d in metabase.databases] == [DATABASE_NAME]
    assert metabase.users == {ADMIN_EMAIL: ADMIN_PASSWORD}
    assert not metabase.calls("POST", "/api/database")


def test_a_set_up_metabase_gets_the_database_after_a_login(metabase, env):
    metabase.set_up_already(ADMIN_EMAIL, ADMIN_PASSWORD)
    assert run() == "created"
    assert not metabase.calls("POST", "/api/setup")
    (login,) = metabase.calls("POST", "/api/session")
    assert login.body == {"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    (created,) = metabase.calls("POST", "/api/database")
    assert created.body["details"] == EXPECTED_DETAILS
    assert [d["name"] for d in metabase.databases] == [DATABASE_NAME]


@pytest.mark.parametrize("keep_token", [False, True])
def test_running_twice_adds_no_second_database(metabase, env, keep_token):
    metabase.keep_token_after_setup = keep_token  # a set-up Metabase may still show its token
    assert run() == "setup"
    assert run() == "exists"
    assert run() == "exists"
    assert [d["name"] for d in metabase.databases] == [DATABASE_NAME]
    assert len(metabase.calls("POST", "/api/setup")) == 1
    assert not metabase.calls("POST", "/api/database")


@pytest.mark.parametrize(
    "variable", ["MB_ADMIN_EMAIL", "MB_ADMIN_PASSWORD", "METABASE_HQ_PASSWORD"]
)
def test_a_missing_variable_is_named_and_nothing_is_called(
    metabase, env, monkeypatch, capsys, variable
):
    monkeypatch.delenv(variable)
    assert cli.main(["metabase-setup"]) == 2
    err = capsys.readouterr().err
    assert variable in err and "set the environment variable" in err
    assert metabase.requests == []


def test_a_wrong_admin_password_fails_clearly_without_showing_a_secret(
    metabase, env, monkeypatch, capsys, caplog
):
    metabase.set_up_already(ADMIN_EMAIL, "the-real-admin-password")
    caplog.set_level(logging.DEBUG)
    assert cli.main(["metabase-setup"]) == 2
    out = capsys.readouterr()
    assert "POST /api/session answered HTTP 401" in out.err
    assert metabase.databases == []
    for text in (out.out, out.err, caplog.text):
        assert ADMIN_PASSWORD not in text and HQ_PASSWORD not in text


def test_no_password_reaches_the_logs(metabase, env, capsys, caplog):
    caplog.set_level(logging.DEBUG)  # httpx logs each request at INFO/DEBUG too
    assert cli.main(["metabase-setup"]) == 0
    metabase.set_up_already(ADMIN_EMAIL, ADMIN_PASSWORD)
    metabase.databases.clear()
    assert cli.main(["metabase-setup"]) == 0
    out = capsys.readouterr()
    logged = caplog.text + out.out + out.err
    assert "Metabase set up" in logged and "added, read as metabase_hq" in logged
    for secret in (ADMIN_PASSWORD, HQ_PASSWORD):
        assert secret not in logged


def test_a_metabase_that_never_gets_healthy_fails_with_its_address(env, metabase):
    metabase.initializing_polls = 10**6
    with pytest.raises(Exception, match=r"not healthy after .*initializing"):
        setup_metabase(settings_from_env(), wait_seconds=0.3, poll_seconds=0.05)


def test_the_stand_in_refuses_what_metabase_refuses(metabase):
    """The stand-in's own errors: 401 without a session, 400 naming a missing field."""
    import httpx

    with httpx.Client(base_url=metabase.url) as client:
        assert client.get("/api/database").status_code == 401
        token = client.get("/api/session/properties").json()["setup-token"]
        answer = client.post("/api/setup", json={"token": token, "user": {"email": "a@b.c"}})
        assert answer.status_code == 400 and "password" in answer.json()["errors"]
        assert (
            client.post(
                "/api/setup", json={"token": "wrong", "user": {"email": "a@b.c", "password": "x"}}
            ).status_code
            == 403
        )

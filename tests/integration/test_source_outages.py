"""A source that is down: the failure is recorded without secrets, the next tasks of that
source only probe, the outage opens an alert episode; killed runs' batches are abandoned;
secrets never reach a log in any encoding (issues #11, #12)."""

from __future__ import annotations

import base64
import json
import logging
import socket
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, quote_plus

import psycopg
import pytest
import test_sources_support as h
from mart_fixtures import dbt_ok

from dealerfunnel.alerts.evaluators import evaluate_freshness
from dealerfunnel.alerts.rules import FreshnessRule
from dealerfunnel.redaction import variants
from dealerfunnel.sources import RetriesExhausted, SourceError, SourceUnreachable, registry
from dealerfunnel.sources.config import SourceConnection
from dealerfunnel.sources.httpclient import RetryPolicy
from dealerfunnel.sources.loader import batch_lock_key, mark_abandoned_batches
from dealerfunnel_demo.sandbox import Faults, run_sandbox

pytestmark = pytest.mark.timeout(180)
SECRETS = {
    "developer_token": "dev/Tok+en=@:%42",
    "client_secret": "cl/Sec+ret=@:%17",
    "refresh_token": "1//re+fresh=@:%99/x",
}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _down(conn_id: str = "hubspot") -> SourceConnection:
    return SourceConnection(
        conn_id, f"http://127.0.0.1:{_closed_port()}", "pat-na1-Sec/ret+x=", None, {}
    )


def test_outage_is_recorded_probed_and_alerted(clean_warehouse, data_dir):
    url = clean_warehouse
    items = registry.plan("hubspot__contacts", h.SETTINGS)[:3]
    conn = _down()
    with pytest.raises(SourceUnreachable, match="connection 'hubspot'"):
        registry.extract(
            items[0],
            url,
            connection=conn,
            settings_data=h.SETTINGS,
            client_options={"policy": RetryPolicy(max_total_seconds=3, base_delay=0.1)},
        )
    # the next task of the same source probes once (no client_options: the breaker decides)
    started = datetime.now(UTC)
    with pytest.raises(SourceUnreachable):
        registry.extract(items[1], url, connection=conn, settings_data=h.SETTINGS)
    assert (datetime.now(UTC) - started).total_seconds() < 2
    with psycopg.connect(url) as db:
        rows = db.execute(
            "select dealer_code, object, status, detail from ops.load_batches order by started_at"
        ).fetchall()
    assert [(d, o, s) for d, o, s, _ in rows] == [
        (items[0]["dealer_code"], "contacts", "failed"),
        (items[1]["dealer_code"], "contacts", "failed"),
    ]
    for *_, detail in rows:
        assert detail["error_class"] == "SourceUnreachable" and detail["conn_id"] == "hubspot"
        assert conn.password not in json.dumps(detail)
    # the freshness mart publishes the outage (dealer x source), the rule only reads it
    dbt_ok(["run", "--select", "stg_ops__load_batches", "mart_source_freshness"], url)
    with psycopg.connect(url) as db:
        published = db.execute(
            "select dealer_code, source, is_outage, last_loaded_at, outage_objects,"
            " outage_conn_id, outage_error_class from marts.mart_source_freshness"
        ).fetchall()
    assert sorted(published) == sorted(
        (i["dealer_code"], "hubspot", True, None, "contacts", "hubspot", "SourceUnreachable")
        for i in items[:2]
    )
    rule = FreshnessRule(rule="source_silent", threshold=48)
    with psycopg.connect(url) as db:
        verdicts = evaluate_freshness(db, rule, datetime.now(UTC))
    outages = {(v.dealer_code, v.subject): v for v in verdicts}
    assert set(outages) == {(i["dealer_code"], "source=hubspot") for i in items[:2]}
    assert all(v.breached and v.detail["outage"] for v in outages.values())
    # an unconfigured source is neither extracted nor judged
    assert registry.plan_configured("meta__leads", h.SETTINGS) == []


def test_mark_abandoned_batches_only_when_the_owner_is_gone(clean_warehouse):
    url = clean_warehouse
    alive, gone, legacy_old, legacy_new = (str(uuid.uuid4()) for _ in range(4))
    owner = psycopg.connect(url, autocommit=True)
    owner.execute("select pg_advisory_lock(%s)", (batch_lock_key(alive),))
    with psycopg.connect(url, autocommit=True) as db:
        for batch_id, detail, age in (
            (alive, {"owner_lock": True}, 0),
            (gone, {"owner_lock": True}, 0),
            (legacy_old, {}, 30),
            (legacy_new, {}, 1),
        ):
            db.execute(
                "insert into ops.load_batches (batch_id, source, dealer_code, object,"
                " started_at, status, detail) values (%s, 'meta', 'SH001', 'leads', %s,"
                " 'running', %s)",
                (batch_id, datetime.now(UTC) - timedelta(hours=age), json.dumps(detail)),
            )
    try:
        assert sorted(mark_abandoned_batches(url, older_than_hours=24)) == sorted(
            [gone, legacy_old]
        )
    finally:
        owner.close()
    assert mark_abandoned_batches(url, older_than_hours=24) == [alive]  # its owner has ended
    with psycopg.connect(url) as db:
        states = dict(
            db.execute(
                "select batch_id::text, status || coalesce(':' || (detail->>'abandoned'), '')"
                " from ops.load_batches"
            ).fetchall()
        )
    assert states == {
        alive: "failed:true",
        gone: "failed:true",
        legacy_old: "failed:true",
        legacy_new: "running",
    }


@pytest.mark.parametrize("status", [503, 400])
def test_secrets_never_reach_the_logs_in_any_encoding(clean_warehouse, caplog, status):
    url = clean_warehouse
    world = h.make_world()
    with run_sandbox(h.make_sandbox(world, Faults())) as running:
        base = running.connections()["google_ads"]
        extra = {
            **base["extra"],
            **SECRETS,
            "token_uri": f"{running.base_url}/_sandbox/echo/{status}",
        }
        conn = SourceConnection("google_ads", base["host"], None, None, extra)
        item = registry.plan("google_ads__lead_form_submissions", h.SETTINGS)[0]
        caplog.set_level(logging.DEBUG)
        with pytest.raises(SourceError) as info:
            registry.extract(
                item,
                url,
                connection=conn,
                settings_data=h.SETTINGS,
                client_options=h.client_options(max_attempts=4),
            )
    if status == 503:
        assert isinstance(info.value, RetriesExhausted)
        assert sum("retry" in r.getMessage() for r in caplog.records) >= 3  # it did log
    with psycopg.connect(url) as db:
        details = [json.dumps(d) for (d,) in db.execute("select detail from ops.load_batches")]
    text = "\n".join([str(info.value), *(r.getMessage() for r in caplog.records), *details])
    assert "grant_type=refresh_token" in text or status == 400  # the echo did come back
    for secret in SECRETS.values():
        for encoded in (
            secret,
            quote(secret, safe=""),
            quote_plus(secret),
            base64.b64encode(secret.encode()).decode(),
            json.dumps(secret)[1:-1],
        ):
            assert encoded not in text, (secret, encoded)
    # and Airflow's masker knows every variant (task log and supervisor)
    from airflow.sdk.log import _secrets_masker

    masker = _secrets_masker()
    for secret in SECRETS.values():
        for value in variants(secret):
            assert value not in str(masker.redact(f"x {value} y")), value

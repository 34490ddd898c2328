"""The DingTalk and WeCom notifiers are Airflow notifiers that really post their robots' wire
format to a local HTTP receiver; the DingTalk signature is recomputed here from the secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from alert_fixtures import local_receivers

from dealerfunnel.notify.notifiers import (
    DingTalkNotifier,
    NotifierError,
    OutboxNotifier,
    WeComNotifier,
)


@pytest.fixture
def web(monkeypatch):
    http = {
        "ding_signed": {"host": "/dingtalk/robot/send", "login": "tok123", "password": "SECabc"},
        "ding_plain": {"host": "/dingtalk/robot/send?access_token=tok456"},
        "wecom_key": {"host": "/wecom/cgi-bin/webhook/send", "password": "key-789"},
    }
    with local_receivers(monkeypatch, http, smtp_conn_id="smtp_unused") as (receiver, _):
        yield receiver


def test_dingtalk_notifier_is_an_airflow_callback_with_a_verifiable_signature(web):
    from airflow.sdk import DAG, BaseNotifier

    notifier = DingTalkNotifier(
        dingtalk_conn_id="ding_signed",
        title="DAG {{ dag.dag_id }} failed",
        text="### DAG {{ dag.dag_id }} failed\n- run {{ run_id }}",
    )
    assert isinstance(notifier, BaseNotifier)
    before = int(time.time() * 1000)
    notifier({"dag": DAG("funnel_alerts", schedule=None), "run_id": "manual__1"})
    after = int(time.time() * 1000)

    (request,) = web.on("/dingtalk")
    assert request.path == "/dingtalk/robot/send"
    assert request.query["access_token"] == "tok123"
    timestamp = int(request.query["timestamp"])
    assert before <= timestamp <= after
    # DingTalk: sign = base64(HMAC-SHA256(key=secret, msg="<timestamp>\n<secret>"))
    expected = base64.b64encode(
        hmac.new(b"SECabc", f"{timestamp}\nSECabc".encode(), hashlib.sha256).digest()
    ).decode()
    assert request.query["sign"] == expected  # parse_qs has undone the URL quoting
    assert request.headers["Content-Type"] == "application/json"
    assert request.body == {
        "msgtype": "markdown",
        "markdown": {
            "title": "DAG funnel_alerts failed",
            "text": "### DAG funnel_alerts failed\n- run manual__1",
        },
    }


def test_dingtalk_without_secret_sends_no_signature_and_text_msgtype(web):
    DingTalkNotifier(dingtalk_conn_id="ding_plain", text="plain words", msgtype="text").notify({})
    (request,) = web.on("/dingtalk")
    assert request.query == {"access_token": "tok456"}
    assert request.body == {"msgtype": "text", "text": {"content": "plain words"}}


def test_dingtalk_title_is_cut_to_64_characters(web):
    DingTalkNotifier(dingtalk_conn_id="ding_plain", title="T" * 100, text="x").notify({})
    (request,) = web.on("/dingtalk")
    assert request.body["markdown"]["title"] == "T" * 64


def test_wecom_notifier_posts_markdown_content_with_the_key(web):
    WeComNotifier(wecom_conn_id="wecom_key", text="**GZ001** below threshold").notify({})
    WeComNotifier(wecom_conn_id="wecom_key", text="as text", msgtype="text").notify({})
    markdown, text = web.on("/wecom")
    assert markdown.path == "/wecom/cgi-bin/webhook/send"
    assert markdown.query == {"key": "key-789"}
    assert markdown.body == {
        "msgtype": "markdown",
        "markdown": {"content": "**GZ001** below threshold"},
    }
    assert text.body == {"msgtype": "text", "text": {"content": "as text"}}


@pytest.mark.parametrize(
    ("notifier", "secret"),
    [
        (lambda: DingTalkNotifier(dingtalk_conn_id="ding_signed", text="x"), "tok123"),
        (lambda: WeComNotifier(wecom_conn_id="wecom_key", text="x"), "key-789"),
    ],
)
def test_a_robot_errcode_is_an_error_that_names_no_secret(web, notifier, secret):
    web.robot_error = (310000, "sign not match")
    with pytest.raises(NotifierError, match="errcode 310000: sign not match") as caught:
        notifier().notify({})
    assert secret not in str(caught.value) and "SECabc" not in str(caught.value)
    web.robot_error = None
    web.fail_with(502)
    with pytest.raises(NotifierError, match="HTTP 502"):
        notifier().notify({})
    web.fail_with(None)
    web.stop()
    with pytest.raises(NotifierError, match="ConnectError") as caught:
        notifier().notify({})
    assert secret not in str(caught.value)


def test_bad_msgtype_is_refused():
    with pytest.raises(ValueError, match="msgtype must be markdown or text"):
        WeComNotifier(wecom_conn_id="w", text="x", msgtype="news")


def test_outbox_notifier_appends_one_line_per_notice(tmp_path):
    path = tmp_path / "sub" / "outbox.jsonl"
    OutboxNotifier(path=path, record={"n": 1}).notify({})
    OutboxNotifier(path=path, record={"n": 2, "text": "中文"}).notify({})
    assert path.read_text(encoding="utf-8").splitlines() == ['{"n": 1}', '{"n": 2, "text": "中文"}']

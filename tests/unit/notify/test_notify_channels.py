"""Every channel really sends: local HTTP and SMTP receivers capture the wire format."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, date, datetime
from urllib.parse import unquote_plus

import pytest
from alert_fixtures import local_receivers

from dealerfunnel.notify.channels import DeliveryError, dingtalk_sign, send
from dealerfunnel.notify.config import parse_notifications
from dealerfunnel.notify.message import build_message
from dealerfunnel.settings import ConfigError

ALERT = {
    "alert_id": 7,
    "rule": "potential_to_interested_low",
    "rule_type": "threshold",
    "dealer_code": "GZ001",
    "metric": "rate_potential_to_interested",
    "subject": "",
    "period_start": date(2026, 10, 12),
    "observed": 0.2,
    "threshold": 0.35,
    "severity": "critical",
    "status": "open",
    "first_fired_at": datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
    "resolved_at": None,
    "detail": {
        "direction": "below",
        "consecutive_periods": 2,
        "period_grain": "week",
        "unit": "ratio",
        "run": {"dag_id": "funnel_alerts", "run_id": "manual__2026-11-23T10:00:00+00:00"},
    },
}


@pytest.fixture
def receivers(monkeypatch):
    http = {
        "slack_t": {"host": "/slack", "password": "T1/B2/XYZ"},
        "ding_t": {"host": "/dingtalk/robot/send", "login": "tok123", "password": "SECdingtalk"},
        "wecom_t": {"host": "/wecom/send", "password": "k-1"},
        "hook_t": {"host": "/hook", "login": "u", "password": "p"},
    }
    with local_receivers(monkeypatch, http, smtp_conn_id="smtp_t") as (web, smtp):
        yield web, smtp


def _config(tmp_path):
    return parse_notifications(
        {
            "recipients": {
                "hq": {
                    "channels": [
                        {"type": "slack", "conn_id": "slack_t"},
                        {"type": "email", "conn_id": "smtp_t", "to": ["hq@example.com"]},
                        {"type": "webhook", "conn_id": "hook_t"},
                        {"type": "outbox", "path": str(tmp_path / "outbox.jsonl")},
                    ]
                },
                "sh": {
                    "channels": [
                        {"type": "dingtalk", "conn_id": "ding_t"},
                        {"type": "wecom", "conn_id": "wecom_t"},
                        {
                            "name": "ding_text",
                            "type": "dingtalk",
                            "conn_id": "ding_t",
                            "msgtype": "text",
                        },
                    ]
                },
            },
            "routes": [{"recipients": ["hq", "sh"]}],
            "links": {"airflow_base_url": "http://airflow.local:8080"},
        }
    )


def test_every_channel_delivers_its_wire_format(receivers, tmp_path):
    web, smtp = receivers
    config = _config(tmp_path)
    channels = config.channels_for(ALERT)
    for channel in channels:
        message = build_message(
            ALERT,
            "notify",
            airflow_base_url=config.airflow_base_url,
            data_docs_url="file:///docs/index.html",
            recipient=channel.key,
        )
        send(channel, message, timeout=5)

    (slack,) = web.on("/slack")
    assert slack.path == "/slack/T1/B2/XYZ"
    assert "20.0%" in slack.body["text"] and "35.0%" in slack.body["text"]
    assert slack.body["blocks"][0]["text"]["type"] == "mrkdwn"

    ding_md, ding_text = web.on("/dingtalk")
    assert ding_md.body["msgtype"] == "markdown" and ding_text.body["msgtype"] == "text"
    assert ding_md.query["access_token"] == "tok123"
    ts = ding_md.query["timestamp"]
    expected = base64.b64encode(
        hmac.new(b"SECdingtalk", f"{ts}\nSECdingtalk".encode(), hashlib.sha256).digest()
    ).decode()
    assert ding_md.query["sign"] == expected  # parse_qs already unquoted it
    assert "GZ001" in ding_md.body["markdown"]["text"]

    (wecom,) = web.on("/wecom")
    assert wecom.query["key"] == "k-1"
    assert wecom.body["msgtype"] == "markdown"
    assert "Airflow run" in wecom.body["markdown"]["content"]
    assert "http://airflow.local:8080/dags/funnel_alerts/runs/" in wecom.body["markdown"]["content"]

    (hook,) = web.on("/hook")
    assert hook.headers["Authorization"].startswith("Basic ")
    assert hook.body["event"] == "notify"
    assert hook.body["alert"]["observed"] == 0.2 and hook.body["alert"]["threshold"] == 0.35
    assert hook.body["dedup_key"] == "7:hq/webhook:notify"
    assert hook.body["links"]["Data Docs"] == "file:///docs/index.html"

    (mail,) = smtp.messages
    assert mail.recipients == ["hq@example.com"]
    assert "potential_to_interested_low" in mail.subject
    assert mail.headers["X-Dealerfunnel-Dedup-Key"] == "7:hq/email:notify"

    (line,) = (tmp_path / "outbox.jsonl").read_text().splitlines()
    assert json.loads(line)["recipient"] == "hq/outbox"


def test_message_says_what_where_observed_threshold_since_and_links():
    message = build_message(
        ALERT, "notify", airflow_base_url="http://af", data_docs_url="file:///d/index.html"
    )
    text = message.text
    for part in (
        "[CRITICAL] potential_to_interested_low at GZ001",
        "dealer GZ001",
        "Observed: 20.0%, below threshold 35.0% for 2 consecutive weeks",
        "Since: 2026-10-12",
        "Data Docs: file:///d/index.html",
        "Airflow run: http://af/dags/funnel_alerts/runs/manual__2026-11-23T10",
    ):
        assert part in text, part
    recovery = build_message(
        {
            **ALERT,
            "status": "resolved",
            "observed": 0.6,
            "resolved_at": datetime(2026, 11, 30, tzinfo=UTC),
        },
        "recovery",
    )
    assert recovery.title.startswith("[RESOLVED]") and "Now: 60.0%" in recovery.text


@pytest.mark.parametrize(
    ("channel_index", "recipient", "secret", "refused"),
    [
        (0, "hq", "T1/B2/XYZ", "URLError"),  # Slack provider (slack_sdk)
        (2, "hq", None, "ConnectionError"),  # HTTP provider (requests)
        (0, "sh", "SECdingtalk", "ConnectError"),  # DingTalk notifier (httpx)
    ],
)
def test_outage_raises_delivery_error_without_secrets(
    receivers, tmp_path, channel_index, recipient, secret, refused
):
    web, _ = receivers
    channel = _config(tmp_path).recipients[recipient][channel_index]
    web.fail_with(500)
    with pytest.raises(DeliveryError, match="500") as caught:
        send(channel, build_message(ALERT, "notify"), timeout=2)
    assert secret is None or secret not in str(caught.value)
    web.stop()
    with pytest.raises(DeliveryError, match=refused) as caught:
        send(channel, build_message(ALERT, "notify"), timeout=2)
    assert secret is None or secret not in str(caught.value)


def test_smtp_outage_raises_delivery_error(receivers, tmp_path):
    _, smtp = receivers
    channel = _config(tmp_path).recipients["hq"][1]
    smtp.stop()
    with pytest.raises(DeliveryError, match="email via smtp_t"):
        send(channel, build_message(ALERT, "notify"), timeout=2)


def test_slack_connection_without_token_is_a_delivery_error(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_NO_TOKEN", '{"conn_type": "slackwebhook"}')
    config = parse_notifications(
        {"recipients": {"x": {"channels": [{"type": "slack", "conn_id": "slack_no_token"}]}}}
    )
    with pytest.raises(DeliveryError, match="does not contain password"):
        send(config.recipients["x"][0], build_message(ALERT, "notify"))


def test_missing_connection_is_a_delivery_error():
    config = parse_notifications(
        {"recipients": {"x": {"channels": [{"type": "wecom", "conn_id": "no_such_conn_x"}]}}}
    )
    with pytest.raises(DeliveryError, match="no_such_conn_x"):
        send(config.recipients["x"][0], build_message(ALERT, "notify"))


def test_dingtalk_sign_matches_the_documented_algorithm():
    sign = unquote_plus(dingtalk_sign("SEC000", 1700000000000))
    digest = hmac.new(b"SEC000", b"1700000000000\nSEC000", hashlib.sha256).digest()
    assert sign == base64.b64encode(digest).decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"recipients": {"a": {"channels": [{"type": "fax", "conn_id": "c"}]}}},
            r"recipients.a.channels\[0\].type",
        ),
        (
            {"recipients": {"a": {"channels": [{"type": "slack"}]}}},
            r"recipients.a.channels\[0\].conn_id: required",
        ),
        (
            {"recipients": {"a": {"channels": [{"type": "email", "conn_id": "s"}]}}},
            r"recipients.a.channels\[0\].to: required",
        ),
        (
            {"recipients": {"a": {"channels": [{"type": "slack", "conn_id": "c", "url": "x"}]}}},
            r"recipients.a.channels\[0\].url: unknown setting",
        ),
        (
            {"recipients": {}, "routes": [{"recipients": ["nobody"]}]},
            r"routes\[0\].recipients: unknown recipient 'nobody'",
        ),
        (
            {
                "recipients": {"a": {"channels": [{"type": "slack", "conn_id": "c"}]}},
                "routes": [{"recipients": ["a"], "match": {"colour": ["red"]}}],
            },
            r"routes\[0\].match.colour: unknown key",
        ),
        ({"retry": {"attempts": 0}}, r"retry.attempts"),
        ({"recipientz": {}}, r"recipientz: unknown section"),
    ],
)
def test_bad_notification_config_names_the_key(data, message):
    with pytest.raises(ConfigError, match=message):
        parse_notifications(data)


def test_routing_by_dealer_severity_and_rule():
    config = parse_notifications(
        {
            "recipients": {
                n: {"channels": [{"type": "webhook", "conn_id": n}]} for n in ("hq", "sh_mgr", "de")
            },
            "routes": [
                {"match": {"min_severity": "critical"}, "recipients": ["hq"]},
                {"match": {"dealer": ["SH001"]}, "recipients": ["sh_mgr"]},
                {"match": {"rule_type": ["data_quality"]}, "recipients": ["de", "hq"]},
            ],
        }
    )

    def who(**alert):
        base = {
            "dealer_code": "GZ001",
            "severity": "warning",
            "rule": "r",
            "rule_type": "threshold",
        }
        return [c.recipient for c in config.channels_for({**base, **alert})]

    assert who() == []
    assert who(severity="critical") == ["hq"]
    assert who(dealer_code="SH001") == ["sh_mgr"]
    assert who(dealer_code="SH001", severity="critical") == ["hq", "sh_mgr"]
    assert who(dealer_code="*", rule_type="data_quality", severity="critical") == ["hq", "de"]


def test_committed_notification_config_is_valid():
    from dealerfunnel.notify.config import load_notifications

    config = load_notifications()
    assert "group_hq" in config.recipients and config.pipeline_failures


def test_channel_notifier_is_an_airflow_notifier_for_failure_callbacks(
    receivers, tmp_path, monkeypatch
):
    from types import SimpleNamespace

    from airflow.sdk import DAG, BaseNotifier

    from dealerfunnel.notify.notifier import ChannelNotifier

    web, _ = receivers
    (tmp_path / "notifications.yml").write_text(
        "links: {airflow_base_url: 'http://af'}\n"
        "recipients:\n  de:\n    channels: [{type: webhook, conn_id: hook_t}]\n"
        "pipeline_failures: [de]\n"
    )
    monkeypatch.setenv("DEALERFUNNEL_CONFIG_DIR", str(tmp_path))
    notifier = ChannelNotifier()
    assert isinstance(notifier, BaseNotifier)
    dag = DAG("funnel_transform", schedule=None)
    context = {
        "dag": dag,
        "run_id": "manual__1",
        "ti": SimpleNamespace(task_id="audit_candidate"),
        "exception": "1 blocking check(s) failed in mart_gate",
    }
    notifier.render_template_fields(context)
    notifier.notify(context)
    (hook,) = web.on("/hook")
    assert hook.body["event"] == "pipeline_failure"
    assert hook.body["title"] == (
        "Airflow: DAG funnel_transform run manual__1 failed (task audit_candidate)"
    )
    assert "mart_gate" in hook.body["text"]
    assert hook.body["links"]["Airflow run"] == "http://af/dags/funnel_transform/runs/manual__1"

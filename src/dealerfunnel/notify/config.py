"""Notification routing (``config/notifications.yml``), validated at load.

::

    retry: {attempts: 3, backoff_seconds: 2, max_backoff_seconds: 60, timeout_seconds: 10}
    links:
      airflow_base_url: http://localhost:8080   # the run link: <base>/dags/<dag>/runs/<run>
      data_docs_url: null                       # default: the latest gate run's Data Docs
    recipients:                                 # who is told, through which channels
      group_hq:
        channels:
          - {name: slack, type: slack, conn_id: slack_group_hq}
          - {name: email, type: email, conn_id: smtp_alerts, to: [hq@example.com]}
      sales_manager_SH001:
        channels:
          - {name: dingtalk, type: dingtalk, conn_id: dingtalk_sh001, msgtype: markdown}
    routes:                 # every matching route adds its recipients (each told once)
      - match: {min_severity: critical}
        recipients: [group_hq]
      - match: {dealer: [SH001]}
        recipients: [sales_manager_SH001]
    pipeline_failures: [data_engineering]       # DAG failure callbacks (ChannelNotifier)

Channel types: ``slack`` (incoming webhook), ``email`` (SMTP through the Airflow SMTP
provider), ``dingtalk`` (robot webhook, ``msgtype`` markdown or text, optional signing
secret), ``wecom`` (group robot webhook, ``msgtype`` markdown or text), ``webhook`` (generic
JSON POST), ``outbox`` (appends JSON lines to ``path``; local/demo use). Every network
channel takes its address and secrets from the Airflow Connection ``conn_id``, never from
this file. Match keys: ``dealer``, ``severity``, ``min_severity``, ``rule``, ``rule_type``
(lists, except ``min_severity``); a group-wide episode has dealer ``*``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from dealerfunnel.settings import ConfigError, load_yaml

CHANNEL_TYPES = ("slack", "email", "dingtalk", "wecom", "webhook", "outbox")
SEVERITY_ORDER = {"info": 0, "warning": 1, "critical": 2}
CHANNEL_KEYS = {"name", "type", "conn_id", "to", "msgtype", "path", "from_email"}
MATCH_KEYS = {"dealer", "severity", "min_severity", "rule", "rule_type"}
NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class Channel:
    recipient: str
    name: str
    type: str
    conn_id: str | None = None
    to: tuple[str, ...] = ()
    msgtype: str = "markdown"
    path: str | None = None
    from_email: str | None = None

    @property
    def key(self) -> str:
        """The recipient identity of a delivery: ``<recipient>/<channel name>``."""
        return f"{self.recipient}/{self.name}"


@dataclass(frozen=True)
class Route:
    recipients: tuple[str, ...]
    match: dict[str, Any] = field(default_factory=dict)

    def matches(self, alert: dict[str, Any]) -> bool:
        m = self.match
        if "dealer" in m and alert["dealer_code"] not in m["dealer"]:
            return False
        if "severity" in m and alert["severity"] not in m["severity"]:
            return False
        if (
            "min_severity" in m
            and SEVERITY_ORDER.get(alert["severity"], 0) < SEVERITY_ORDER[m["min_severity"]]
        ):
            return False
        if "rule" in m and alert["rule"] not in m["rule"]:
            return False
        return not ("rule_type" in m and alert.get("rule_type", "threshold") not in m["rule_type"])


@dataclass(frozen=True)
class Retry:
    attempts: int = 3
    backoff_seconds: float = 2.0
    max_backoff_seconds: float = 60.0
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class NotificationConfig:
    recipients: dict[str, tuple[Channel, ...]]
    routes: tuple[Route, ...]
    retry: Retry = Retry()
    airflow_base_url: str | None = None
    data_docs_url: str | None = None
    pipeline_failures: tuple[str, ...] = ()

    def channels_for(self, alert: dict[str, Any]) -> list[Channel]:
        """Every channel of every recipient routed to ``alert`` (each recipient once)."""
        names: list[str] = []
        for route in self.routes:
            if route.matches(alert):
                names += [n for n in route.recipients if n not in names]
        return [ch for n in names for ch in self.recipients[n]]


def _list(where: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: must be a list of names")
    return tuple(value)


def _number(where: str, value: Any, minimum: float) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or value < minimum:
        raise ConfigError(f"{where}: must be a number >= {minimum}, got {value!r}")
    return float(value)


def parse_notifications(
    data: dict[str, Any], source: str = "notifications.yml"
) -> NotificationConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: top level must be a mapping")
    for key in data:
        if key not in ("retry", "links", "recipients", "routes", "pipeline_failures"):
            raise ConfigError(f"{source}: {key}: unknown section")
    retry_data = data.get("retry") or {}
    if not isinstance(retry_data, dict):
        raise ConfigError(f"{source}: retry: must be a mapping")
    retry_kwargs: dict[str, Any] = {}
    for key, value in retry_data.items():
        if key not in Retry.__dataclass_fields__:
            raise ConfigError(f"{source}: retry.{key}: unknown setting")
        if key == "attempts":
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{source}: retry.attempts: must be an integer >= 1")
            retry_kwargs[key] = value
        else:
            retry_kwargs[key] = _number(f"{source}: retry.{key}", value, 0)
    links = data.get("links") or {}
    if not isinstance(links, dict):
        raise ConfigError(f"{source}: links: must be a mapping")
    for key in links:
        if key not in ("airflow_base_url", "data_docs_url"):
            raise ConfigError(f"{source}: links.{key}: unknown setting")

    recipients: dict[str, tuple[Channel, ...]] = {}
    raw_recipients = data.get("recipients") or {}
    if not isinstance(raw_recipients, dict):
        raise ConfigError(f"{source}: recipients: must be a mapping")
    for rname, entry in raw_recipients.items():
        where = f"{source}: recipients.{rname}"
        if not NAME.match(str(rname)):
            raise ConfigError(f"{where}: names may use letters, digits, '_', '.', '-'")
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: must be a mapping")
        for key in entry:
            if key not in ("channels", "description"):
                raise ConfigError(f"{where}.{key}: unknown setting")
        specs = entry.get("channels")
        if not isinstance(specs, list) or not specs:
            raise ConfigError(f"{where}.channels: must be a non-empty list")
        channels = []
        for i, spec in enumerate(specs):
            cwhere = f"{where}.channels[{i}]"
            if not isinstance(spec, dict):
                raise ConfigError(f"{cwhere}: must be a mapping")
            for key in spec:
                if key not in CHANNEL_KEYS:
                    raise ConfigError(f"{cwhere}.{key}: unknown setting")
            ctype = spec.get("type")
            if ctype not in CHANNEL_TYPES:
                raise ConfigError(f"{cwhere}.type: must be one of {CHANNEL_TYPES}, got {ctype!r}")
            if ctype == "outbox":
                if not spec.get("path"):
                    raise ConfigError(f"{cwhere}.path: required for an outbox channel")
            elif not spec.get("conn_id"):
                raise ConfigError(f"{cwhere}.conn_id: required (an Airflow Connection id)")
            if ctype == "email" and not spec.get("to"):
                raise ConfigError(f"{cwhere}.to: required for an email channel")
            msgtype = spec.get("msgtype", "markdown")
            if msgtype not in ("markdown", "text"):
                raise ConfigError(f"{cwhere}.msgtype: must be markdown or text")
            name = str(spec.get("name") or ctype)
            if any(c.name == name for c in channels):
                raise ConfigError(f"{cwhere}.name: duplicate channel name {name!r}")
            channels.append(
                Channel(
                    recipient=str(rname),
                    name=name,
                    type=ctype,
                    conn_id=spec.get("conn_id"),
                    to=_list(f"{cwhere}.to", spec["to"]) if spec.get("to") else (),
                    msgtype=msgtype,
                    path=spec.get("path"),
                    from_email=spec.get("from_email"),
                )
            )
        recipients[str(rname)] = tuple(channels)

    routes = []
    raw_routes = data.get("routes") or []
    if not isinstance(raw_routes, list):
        raise ConfigError(f"{source}: routes: must be a list")
    for i, entry in enumerate(raw_routes):
        where = f"{source}: routes[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: must be a mapping")
        for key in entry:
            if key not in ("match", "recipients"):
                raise ConfigError(f"{where}.{key}: unknown setting")
        names = _list(f"{where}.recipients", entry.get("recipients") or [])
        if not names:
            raise ConfigError(f"{where}.recipients: required")
        for n in names:
            if n not in recipients:
                raise ConfigError(f"{where}.recipients: unknown recipient {n!r}")
        match = entry.get("match") or {}
        if not isinstance(match, dict):
            raise ConfigError(f"{where}.match: must be a mapping")
        parsed: dict[str, Any] = {}
        for key, value in match.items():
            if key not in MATCH_KEYS:
                raise ConfigError(f"{where}.match.{key}: unknown key; one of {sorted(MATCH_KEYS)}")
            if key == "min_severity":
                if value not in SEVERITY_ORDER:
                    raise ConfigError(f"{where}.match.min_severity: one of {list(SEVERITY_ORDER)}")
                parsed[key] = value
            else:
                parsed[key] = _list(f"{where}.match.{key}", value)
                if key == "severity":
                    for sev in parsed[key]:
                        if sev not in SEVERITY_ORDER:
                            raise ConfigError(f"{where}.match.severity: unknown severity {sev!r}")
        routes.append(Route(recipients=names, match=parsed))
    failures = _list(f"{source}: pipeline_failures", data.get("pipeline_failures") or [])
    for n in failures:
        if n not in recipients:
            raise ConfigError(f"{source}: pipeline_failures: unknown recipient {n!r}")
    return NotificationConfig(
        recipients=recipients,
        routes=tuple(routes),
        retry=Retry(**retry_kwargs),
        airflow_base_url=links.get("airflow_base_url"),
        data_docs_url=links.get("data_docs_url"),
        pipeline_failures=failures,
    )


def load_notifications() -> NotificationConfig:
    return parse_notifications(load_yaml("notifications.yml"))

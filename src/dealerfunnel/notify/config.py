"""Notification routing (``config/notifications.yml``), validated at load.

::

    retry: {attempts: 3, backoff_seconds: 2, max_backoff_seconds: 60, timeout_seconds: 10}
    links:
      airflow_base_url: http://localhost:8080   # the run link: <base>/dags/<dag>/runs/<run>
      data_docs_url: null                       # default: the latest gate run's Data Docs
      reports_base_url: null                    # the report pages: <base>/<dealer>.html
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

Channel types (each an Airflow notifier, :mod:`dealerfunnel.notify.channels`): ``slack``
(incoming webhook, Slack provider), ``email`` (SMTP provider), ``dingtalk`` (robot webhook,
``msgtype`` markdown or text, optional signing secret), ``wecom`` (group robot webhook,
``msgtype`` markdown or text), ``webhook`` (generic JSON POST, HTTP provider), ``outbox``
(appends JSON lines to ``path``; local/demo use). Every network
channel takes its address and secrets from the Airflow Connection ``conn_id``, never from
this file. Match keys: ``dealer``, ``severity``, ``min_severity``, ``rule``, ``rule_type``
(lists, except ``min_severity``); a group-wide episode has dealer ``*``.

The weekly digest of a dealer (:mod:`dealerfunnel.notify.digest`) goes to the recipients of the
routes that ask for it by name, ``rule_type: [..., weekly_digest]``, and match the dealer
(severity ``info``, rule ``weekly_digest``): a route without that rule type, a catch-all route
included, never receives digests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from dealerfunnel.settings import ConfigError, StrictModel, load_yaml, validate

CHANNEL_TYPES = ("slack", "email", "dingtalk", "wecom", "webhook", "outbox")
SEVERITY_ORDER = {"info": 0, "warning": 1, "critical": 2}
MATCH_KEYS = {"dealer", "severity", "min_severity", "rule", "rule_type"}
NAME_PATTERN = r"^[A-Za-z0-9_.-]+$"
DIGEST_RULE_TYPE = "weekly_digest"

Names = tuple[str, ...]
Severity = Literal["info", "warning", "critical"]


def _as_names(value: Any) -> Any:
    """A single name stands for a one-element list."""
    return [value] if isinstance(value, str) else value


# -- the file, as pydantic models ----------------------------------------------------------------


class RetrySpec(StrictModel):
    attempts: Annotated[int, Field(strict=True, ge=1)] = 3
    backoff_seconds: Annotated[float, Field(strict=True, ge=0)] = 2.0
    max_backoff_seconds: Annotated[float, Field(strict=True, ge=0)] = 60.0
    timeout_seconds: Annotated[float, Field(strict=True, ge=0)] = 10.0


class LinksSpec(StrictModel):
    airflow_base_url: str | None = None
    data_docs_url: str | None = None
    reports_base_url: str | None = None


class ChannelSpec(StrictModel):
    name: str | None = None
    type: Literal["slack", "email", "dingtalk", "wecom", "webhook", "outbox"]
    conn_id: str | None = None
    to: Names = ()
    msgtype: Literal["markdown", "text"] = "markdown"
    path: str | None = None
    from_email: str | None = None

    _names = field_validator("to", mode="before")(classmethod(lambda cls, v: _as_names(v)))


class RecipientSpec(StrictModel):
    description: str = ""
    channels: Annotated[list[dict[str, Any]], Field(min_length=1)]


class MatchSpec(StrictModel):
    dealer: Names | None = None
    severity: tuple[Severity, ...] | None = None
    min_severity: Severity | None = None
    rule: Names | None = None
    rule_type: Names | None = None

    _names = field_validator("dealer", "severity", "rule", "rule_type", mode="before")(
        classmethod(lambda cls, v: _as_names(v))
    )


class RouteSpec(StrictModel):
    recipients: Annotated[Names, Field(min_length=1)]
    match: dict[str, Any] = Field(default_factory=dict)

    _names = field_validator("recipients", mode="before")(classmethod(lambda cls, v: _as_names(v)))


class NotificationsFile(StrictModel):
    retry: RetrySpec = RetrySpec()
    links: LinksSpec = LinksSpec()
    recipients: dict[Annotated[str, Field(pattern=NAME_PATTERN)], dict[str, Any]] = Field(
        default_factory=dict
    )
    routes: list[dict[str, Any]] = Field(default_factory=list)
    pipeline_failures: Names = ()

    @field_validator("retry", "links", "recipients", "routes", "pipeline_failures", mode="before")
    @classmethod
    def _empty_is_default(cls, value: Any, info) -> Any:
        if value is None:
            return [] if info.field_name in ("routes", "pipeline_failures") else {}
        return _as_names(value) if info.field_name == "pipeline_failures" else value


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
    reports_base_url: str | None = None

    def channels_for(self, alert: dict[str, Any]) -> list[Channel]:
        """Every channel of every recipient routed to ``alert`` (each recipient once)."""
        return self._channels([r for r in self.routes if r.matches(alert)])

    def digest_channels(self, dealer_code: str) -> list[Channel]:
        """Every channel routed to ``dealer_code``'s weekly digest: the routes that name the
        rule type ``weekly_digest`` and match the dealer (each recipient once)."""
        digest = {
            "dealer_code": dealer_code,
            "severity": "info",
            "rule": DIGEST_RULE_TYPE,
            "rule_type": DIGEST_RULE_TYPE,
        }
        return self._channels(
            [
                r
                for r in self.routes
                if DIGEST_RULE_TYPE in r.match.get("rule_type", ()) and r.matches(digest)
            ]
        )

    def _channels(self, routes: list[Route]) -> list[Channel]:
        """The channels of the recipients of ``routes``, each recipient once."""
        names = list(dict.fromkeys(n for route in routes for n in route.recipients))
        return [ch for n in names for ch in self.recipients[n]]


# -- from the file to the runtime objects ------------------------------------------------------


def _channel(recipient: str, spec: ChannelSpec, where: str, source: str) -> Channel:
    if spec.type == "outbox":
        if not spec.path:
            raise ConfigError(f"{source}: {where}.path: required for an outbox channel")
    elif not spec.conn_id:
        raise ConfigError(f"{source}: {where}.conn_id: required (an Airflow Connection id)")
    if spec.type == "email" and not spec.to:
        raise ConfigError(f"{source}: {where}.to: required for an email channel")
    return Channel(
        recipient=recipient,
        name=spec.name or spec.type,
        type=spec.type,
        conn_id=spec.conn_id,
        to=spec.to,
        msgtype=spec.msgtype,
        path=spec.path,
        from_email=spec.from_email,
    )


def _recipient(name: str, data: dict[str, Any], source: str) -> tuple[Channel, ...]:
    where = f"recipients.{name}"
    entry: RecipientSpec = validate(RecipientSpec, data, source, where)
    channels: list[Channel] = []
    for i, raw in enumerate(entry.channels):
        at = f"{where}.channels[{i}]"
        channel = _channel(name, validate(ChannelSpec, raw, source, at), at, source)
        if any(c.name == channel.name for c in channels):
            raise ConfigError(f"{source}: {at}.name: duplicate channel name {channel.name!r}")
        channels.append(channel)
    return tuple(channels)


def _known(names: tuple[str, ...], recipients: dict[str, Any], where: str, source: str) -> None:
    for n in names:
        if n not in recipients:
            raise ConfigError(f"{source}: {where}: unknown recipient {n!r}")


def _route(i: int, data: dict[str, Any], recipients: dict[str, Any], source: str) -> Route:
    where = f"routes[{i}]"
    spec: RouteSpec = validate(RouteSpec, data, source, where)
    _known(spec.recipients, recipients, f"{where}.recipients", source)
    match: MatchSpec = validate(
        MatchSpec,
        spec.match,
        source,
        f"{where}.match",
        unknown=f"unknown key; one of {sorted(MATCH_KEYS)}",
    )
    return Route(recipients=spec.recipients, match=match.model_dump(exclude_none=True))


def parse_notifications(
    data: dict[str, Any], source: str = "notifications.yml"
) -> NotificationConfig:
    parsed: NotificationsFile = validate(NotificationsFile, data, source)
    recipients = {
        str(name): _recipient(str(name), entry, source) for name, entry in parsed.recipients.items()
    }
    routes = tuple(_route(i, entry, recipients, source) for i, entry in enumerate(parsed.routes))
    _known(parsed.pipeline_failures, recipients, "pipeline_failures", source)
    return NotificationConfig(
        recipients=recipients,
        routes=routes,
        retry=Retry(**parsed.retry.model_dump()),
        airflow_base_url=parsed.links.airflow_base_url,
        data_docs_url=parsed.links.data_docs_url,
        pipeline_failures=parsed.pipeline_failures,
        reports_base_url=parsed.links.reports_base_url,
    )


def load_notifications() -> NotificationConfig:
    return parse_notifications(load_yaml("notifications.yml"))

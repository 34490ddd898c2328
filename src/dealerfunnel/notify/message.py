"""The words of a notification: what breached, where, observed vs threshold, since when, links.

One :class:`Message` per (episode, kind); each channel renders it in its own format.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

DIRECTION_WORDS = {"below": "below", "above": "above"}


@dataclass(frozen=True)
class Message:
    kind: str  # notify | recovery | pipeline_failure
    title: str
    lines: tuple[str, ...]
    links: tuple[tuple[str, str], ...] = ()
    data: dict[str, Any] = field(default_factory=dict)
    dedup_key: str = ""

    @property
    def text(self) -> str:
        parts = [self.title, *self.lines]
        parts += [f"{label}: {url}" for label, url in self.links]
        return "\n".join(parts)

    @property
    def markdown(self) -> str:
        parts = [f"### {self.title}", *[f"- {line}" for line in self.lines]]
        if self.links:
            parts.append(" | ".join(f"[{label}]({url})" for label, url in self.links))
        return "\n".join(parts)

    @property
    def slack_mrkdwn(self) -> str:
        parts = [f"*{self.title}*", *[f"• {line}" for line in self.lines]]
        if self.links:
            parts.append(" | ".join(f"<{url}|{label}>" for label, url in self.links))
        return "\n".join(parts)

    @property
    def html(self) -> str:
        items = "".join(f"<li>{html.escape(line)}</li>" for line in self.lines)
        links = " | ".join(
            f'<a href="{html.escape(url)}">{html.escape(label)}</a>' for label, url in self.links
        )
        return f"<h3>{html.escape(self.title)}</h3><ul>{items}</ul><p>{links}</p>"


def format_value(alert: dict[str, Any], value: Any) -> str:
    if value is None:
        return "n/a"
    detail = alert.get("detail") or {}
    unit = detail.get("unit") or (
        "ratio" if str(alert.get("metric", "")).startswith("rate_") else ""
    )
    number = float(value)
    if unit == "ratio":
        return f"{number:.1%}"
    if unit == "hours":
        return f"{number:.1f} h"
    if number.is_integer():
        return f"{int(number)}"
    return f"{number:.2f}"


def _period(alert: dict[str, Any], detail: dict[str, Any]) -> str | None:
    """The latest period judged, e.g. ``week of 2026-10-26`` (None when not periodic)."""
    periods = detail.get("periods") or detail.get("days") or []
    grain = detail.get("period_grain")
    if periods and grain:
        first = periods[0]
        start = first.get("period_start") or first.get("day")
        return f"{grain} of {start}" if grain != "day" else str(start)
    if detail.get("checked_at"):
        return f"gate run of {detail['checked_at']}"
    if detail.get("as_of"):
        return f"as of {detail['as_of']}"
    if detail.get("last_loaded_at"):
        return f"last load {detail['last_loaded_at']}"
    return None


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def links_for(
    alert: dict[str, Any],
    *,
    airflow_base_url: str | None,
    data_docs_url: str | None,
    reports_base_url: str | None = None,
) -> tuple[tuple[str, str], ...]:
    """Data Docs, the Airflow run and, with ``reports_base_url``, the report page of the
    alert's dealer (the group page for a group-wide episode)."""
    detail = alert.get("detail") or {}
    links = []
    page = report_page_url(reports_base_url, alert.get("dealer_code"))
    if page:
        links.append(("Report page", page))
    docs = detail.get("data_docs_url") or data_docs_url
    if docs:
        links.append(("Data Docs", docs))
    run = detail.get("run") or {}
    if airflow_base_url and run.get("dag_id") and run.get("run_id"):
        base = airflow_base_url.rstrip("/")
        links.append(
            ("Airflow run", f"{base}/dags/{run['dag_id']}/runs/{quote(run['run_id'], safe='')}")
        )
    return tuple(links)


def build_message(
    alert: dict[str, Any],
    kind: str,
    *,
    airflow_base_url: str | None = None,
    data_docs_url: str | None = None,
    recipient: str = "",
    reports_base_url: str | None = None,
) -> Message:
    """The notice (``notify``) or recovery notice (``recovery``) of an episode."""
    detail = alert.get("detail") or {}
    where = "group-wide" if alert["dealer_code"] == "*" else f"dealer {alert['dealer_code']}"
    if alert.get("subject"):
        where += f", {alert['subject']}"
    what = detail.get("check_name") or alert["metric"]
    direction = detail.get("direction")
    observed = format_value(alert, alert.get("observed"))
    threshold = format_value(alert, alert.get("threshold"))
    lines = []
    if kind == "recovery":
        title = f"[RESOLVED] {alert['rule']} at {alert['dealer_code']}: {what} is back to normal"
        lines.append(f"Where: {where}")
        if alert.get("rule_type") == "data_quality":
            lines.append("The check passes again in the latest gate run")
        else:
            lines.append(f"Now: {observed} (threshold {threshold})")
        lines.append(
            f"Open from {_when(alert['first_fired_at'])} to {_when(alert.get('resolved_at'))}"
        )
    else:
        title = (
            f"[{str(alert['severity']).upper()}] {alert['rule']} at {alert['dealer_code']}: {what}"
        )
        if detail.get("description"):
            lines.append(str(detail["description"]))
        lines.append(f"Where: {where}")
        if detail.get("digest"):
            lines.append(
                f"Observed: {observed} warning check(s) failing (threshold: any failing check)"
            )
            for check in detail.get("checks", []):
                lines.append(
                    f"- {check.get('check_name')} ({check.get('checkpoint')}):"
                    f" observed {check.get('observed')}"
                )
        elif alert.get("rule_type") == "data_quality":
            lines.append(
                f"Check failed in {detail.get('checkpoint')} ({detail.get('gate_severity')}):"
                f" observed {detail.get('observed_text')} (threshold: the check must pass)"
            )
        else:
            rel = DIRECTION_WORDS.get(direction or "", "vs")
            extra = ""
            if detail.get("consecutive_periods", 1) > 1:
                extra = (
                    f" for {detail['consecutive_periods']} consecutive "
                    f"{detail.get('period_grain', 'period')}s"
                )
            if detail.get("unit") == "z" and detail.get("baseline") is not None:
                extra += (
                    f" (robust z-score: {detail.get('leads')} leads in the week vs a median"
                    f" of {detail['baseline']:g} over the previous"
                    f" {detail.get('history_weeks')} weeks)"
                )
            lines.append(f"Observed: {observed}, {rel} threshold {threshold}{extra}")
            if detail.get("bound"):
                lines.append(f"Judged on the confidence bound {detail['bound']}")
        period = _period(alert, detail)
        if period:
            lines.append(f"Period: {period}")
        lines.append(
            f"Since: {alert['period_start']} (first fired {_when(alert['first_fired_at'])})"
        )
        if detail.get("source"):
            lines.append(f"Open: {detail['source']}")
    links = links_for(
        alert,
        airflow_base_url=airflow_base_url,
        data_docs_url=data_docs_url,
        reports_base_url=reports_base_url,
    )
    return Message(
        kind=kind,
        title=title,
        lines=tuple(lines),
        links=links,
        data={
            "alert_id": alert.get("alert_id"),
            "rule": alert["rule"],
            "rule_type": alert.get("rule_type"),
            "dealer_code": alert["dealer_code"],
            "subject": alert.get("subject") or "",
            "metric": alert["metric"],
            "observed": None if alert.get("observed") is None else float(alert["observed"]),
            "threshold": None if alert.get("threshold") is None else float(alert["threshold"]),
            "severity": alert["severity"],
            "status": alert["status"],
            "period_start": str(alert["period_start"]),
            "first_fired_at": _when(alert["first_fired_at"]),
        },
        dedup_key=f"{alert.get('alert_id')}:{recipient}:{kind}",
    )


def report_page_url(reports_base_url: str | None, dealer_code: str | None) -> str | None:
    """``<reports_base_url>/<page>``: the dealer's report page (the group page for ``*``/None)."""
    if not reports_base_url:
        return None
    from dealerfunnel.reports.pages import page_filename

    page = "group.html" if dealer_code in (None, "*") else page_filename(str(dealer_code))
    return f"{reports_base_url.rstrip('/')}/{page}"


def _rate_line(label: str, value: float | None, final: bool | None) -> str:
    if value is None:
        return f"{label}: n/a (no lead reached the earlier stage)"
    if final is None:
        return f"{label}: {value:.1%} (maturity not published)"
    return f"{label}: {value:.1%} " + (
        "(final)" if final else "(not mature yet: the rate may still rise)"
    )


def build_digest_message(
    digest: dict[str, Any], *, recipient: str = "", reports_base_url: str | None = None
) -> Message:
    """A dealer's weekly digest: the week's headline figures as the marts publish them (see
    :func:`dealerfunnel.notify.digest.week_figures`) and the link to its report page."""
    code = digest["dealer_code"]
    week = digest["week_start"]
    name = digest.get("dealer_name") or code
    title = f"Weekly funnel report, {name} ({code}): week {week} – {digest['week_end']}"
    lines = [f"Week {week} – {digest['week_end']} ({digest.get('timezone') or 'UTC'})"]
    if digest.get("leads") is None:
        lines.append("Leads: not available (marts.mart_funnel_monitoring is not built)")
    elif not digest["leads"]:
        lines.append("Leads created in the week: 0")
    else:
        lines.append(
            f"Leads created in the week: {digest['leads']:,}; of them won so far: "
            f"{digest['won']:,} (cohort view)"
        )
        lines += [_rate_line(label, value, final) for label, value, final in digest["rates"]]
    if digest.get("won_in_period") is not None:
        lines.append(f"Won in the week: {digest['won_in_period']:,} (activity view, any lead)")
    checks = digest.get("sla")
    if checks is None:
        lines.append("SLA compliance: not available (marts.mart_sla_compliance is not built)")
    elif not any(due for _, _, due in checks):
        lines.append("SLA compliance: no check was due in the week")
    else:
        lines += [f"{label}: {met:,} of {due:,} met" for label, met, due in checks if due]
    url = report_page_url(reports_base_url, code)
    if url is None:
        lines.append("Report page: not linked (links.reports_base_url is not set)")
    return Message(
        kind="weekly_digest",
        title=title,
        lines=tuple(lines),
        links=(("Report page", url),) if url else (),
        data={
            "dealer_code": code,
            "week_start": str(week),
            "leads": digest.get("leads"),
            "won": digest.get("won"),
            "won_in_period": digest.get("won_in_period"),
            "rates": {label: value for label, value, _ in digest.get("rates", ())},
            "sla": {label: {"met": met, "due": due} for label, met, due in checks or ()},
            "report_page": url,
        },
        dedup_key=f"digest:{code}:{week}:{recipient}",
    )

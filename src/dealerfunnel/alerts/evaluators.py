"""One evaluator per rule type: read the warehouse, return :class:`Verdict` objects.

A verdict is for one (dealer_code, subject) the rule could judge this run. A key the rule
cannot judge (too little data, incomplete periods) gets no verdict: its episode, if any,
stays as it is. An evaluator whose source table (or a column it needs) does not exist raises
:class:`SourceMissing`; the caller skips the rule and reports it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from psycopg import sql

from dealerfunnel.alerts.rules import FUNNEL_MARTS, FUNNEL_RATES, Rule

PERIOD_LENGTH = {"week": "7 days", "month": "1 month", "quarter": "3 months"}
GROUP = "*"  # dealer_code of a group-wide episode


@dataclass(frozen=True)
class Period:
    """One period (or day) of a key's series, newest first in a series."""

    period_start: date
    value: Any
    judged: bool
    denominator: Any = None
    count: int | None = None
    baseline: float | None = None
    bound: Any = None  # the confidence bound on the threshold's side (rates), else None


@dataclass(frozen=True)
class Assessment:
    """The breach decision over a key's window (see :func:`assess`)."""

    breached: bool
    observed: Any
    period_start: date
    periods: list[dict[str, Any]]


@dataclass(frozen=True)
class Verdict:
    """What a rule found for one (dealer_code, subject) this run."""

    dealer_code: str
    subject: str
    metric: str
    breached: bool
    observed: Any
    threshold: float | None
    period_start: date
    detail: dict[str, Any] = field(default_factory=dict)
    severity: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return jsonable(self.__dict__)


class SourceMissing(LookupError):
    """The table or a column a rule reads does not exist (yet)."""


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, Decimal | float | int) else None


def columns_of(conn, schema: str, table: str) -> set[str]:
    rows = conn.execute(
        "select column_name from information_schema.columns"
        " where table_schema = %s and table_name = %s",
        (schema, table),
    ).fetchall()
    return {r[0] for r in rows}


def _require(conn, schema: str, table: str, needed: list[str]) -> set[str]:
    present = columns_of(conn, schema, table)
    if not present:
        raise SourceMissing(f"{schema}.{table} does not exist")
    missing = [c for c in needed if c and c not in present]
    if missing:
        raise SourceMissing(f"{schema}.{table} has no column {', '.join(missing)}")
    return present


def _subject(dims: tuple[str, ...], values: tuple) -> str:
    return ",".join(f"{d}={v}" for d, v in zip(dims, values, strict=True))


def assess(rule: Rule, periods: list[Period]) -> Assessment | None:
    """Decide breach / ok / undecided from a key's periods (newest first).

    Periods too small or too young to judge are skipped, not counted as a recovery or a
    breach: a nearly empty latest week neither hides nor fakes a trend. A period with a
    confidence ``bound`` breaches only where the bound is beyond the threshold (the breach is
    real) and clears only where its value is back on the right side; in between (noise) it
    says nothing and is skipped too. The window is the newest ``consecutive_periods`` periods
    that say something. Returns None when there are fewer of them than the window, else the
    ``breached`` decision, the ``observed``
    latest value and the ``period_start`` of the first period of the breaching streak (the
    streak may be longer than the window).
    """

    def value(v: Any) -> float | None:
        return float(v) if v is not None else None

    def breaches(p: Period) -> bool:
        return rule.breaches(value(p.bound if p.bound is not None else p.value))

    def clears(p: Period) -> bool:
        return not rule.breaches(value(p.value))

    # a noise period (its value on the wrong side, its bound not) is skipped like a too-small
    # one: two weeks in a row means the last two weeks that say something
    judged = [p for p in periods if p.judged and (breaches(p) or clears(p))]
    window = judged[: rule.consecutive_periods]
    if len(window) < rule.consecutive_periods:
        return None
    breached = all(breaches(p) for p in window)
    streak = window
    if breached:
        streak = judged[: next((i for i, p in enumerate(judged) if not breaches(p)), len(judged))]
    return Assessment(
        breached=breached,
        observed=window[0].value,
        period_start=streak[-1].period_start,
        periods=[
            {
                "period_start": p.period_start.isoformat(),
                "value": _num(p.value),
                **({"bound": _num(p.bound)} if p.bound is not None else {}),
                **({"denominator": _num(p.denominator)} if p.denominator is not None else {}),
            }
            for p in window
        ],
    )


# -- threshold and sla_breach: a metric per complete period -------------------------------


def period_series(
    conn,
    rule: Rule,
    as_of: datetime,
    *,
    num_sql: sql.Composable,
    den_sql: sql.Composable | None,
    grain_filter: bool,
) -> dict[tuple[str, str], list[Period]]:
    """Per (dealer, subject), the complete periods newest first with value and judged flag."""
    dims = rule.dimensions
    period_grain = rule.period_grain
    period = sql.SQL("{}::date").format(sql.Identifier(rule.period_column))
    query = sql.SQL(
        """
        select dealer_code, {dims} {period} as period_start, {num} as num, {den} as den
        from {table}
        where {grain} {period} + %(length)s::interval <= %(as_of)s::date
        group by dealer_code, {dims} {period}
        order by dealer_code, {dims} {period} desc
        """
    ).format(
        dims=sql.SQL("").join(sql.SQL("{}, ").format(sql.Identifier(d)) for d in dims),
        period=period,
        num=num_sql,
        den=den_sql if den_sql is not None else sql.SQL("null::numeric"),
        table=sql.Identifier("marts", rule.mart),
        grain=sql.SQL("period_grain = %(grain)s and") if grain_filter else sql.SQL(""),
    )
    rows = conn.execute(
        query,
        {
            "grain": period_grain,
            "length": PERIOD_LENGTH[period_grain],
            "as_of": as_of,
        },
    ).fetchall()
    series: dict[tuple[str, str], list[Period]] = {}
    for row in rows:
        dealer_code = row[0]
        subject = _subject(dims, tuple(row[1 : 1 + len(dims)]))
        period_start, num, den = row[1 + len(dims) :]
        if den_sql is None:
            value, judged = num, True
        else:
            value = (num / den) if den else None
            judged = den is not None and den >= rule.for_dealer(dealer_code).min_denominator
        series.setdefault((dealer_code, subject), []).append(
            Period(period_start=period_start, value=value, judged=judged, denominator=den)
        )
    return series


def _verdicts_from_series(rule: Rule, series, unit: str) -> list[Verdict]:
    verdicts = []
    for (dealer_code, subject), periods in series.items():
        dealer_rule = rule.for_dealer(dealer_code)
        assessment = assess(dealer_rule, periods)
        if assessment is None:
            continue
        verdicts.append(
            Verdict(
                dealer_code=dealer_code,
                subject=subject,
                metric=rule.metric,
                breached=assessment.breached,
                observed=assessment.observed,
                threshold=dealer_rule.threshold,
                period_start=assessment.period_start,
                detail={
                    "periods": assessment.periods,
                    "direction": dealer_rule.direction,
                    "period_grain": dealer_rule.period_grain,
                    "consecutive_periods": dealer_rule.consecutive_periods,
                    "source": f"marts.{rule.mart}",
                    "unit": unit,
                },
            )
        )
    return verdicts


RATE_DENOMINATORS = {
    "rate_potential_to_interested": "leads_potential",
    "rate_interested_to_needs_defined": "leads_interested",
    "rate_needs_defined_to_decision": "leads_needs_defined",
    "rate_decision_to_won": "leads_decision",
    "rate_lead_to_won": "leads_potential",
}  # which published count a rate's sample size is (shown in the message, not recomputed)


def funnel_series(conn, rule: Rule, as_of: datetime) -> dict[tuple[str, str], list[Period]]:
    """Per (dealer, subject), a funnel mart's periods newest first, judged as the mart says.

    A period is judged where it is complete (``is_period_complete``, and ended by ``as_of``);
    a rate also where the cohort is mature for it (``is_<rate>_mature``) and has a bound.
    The bound is the rate's Wilson bound on the threshold's side (``_upper`` for a rule
    ``below``, ``_lower`` for ``above``): the breach is real only where it is beyond.
    """
    dims = rule.dimensions
    metric = rule.metric
    is_rate = metric in FUNNEL_RATES
    name = metric.removeprefix("rate_")
    side = "upper" if rule.direction == "below" else "lower"
    needed = ["dealer_code", "period_grain", "period_start", "is_period_complete", metric]
    needed += list(dims)
    if is_rate:
        needed += [f"is_{name}_mature", f"{metric}_{side}", RATE_DENOMINATORS[metric]]
    _require(conn, "marts", rule.mart, needed)
    ident = sql.Identifier
    dim_sql = sql.SQL("").join(sql.SQL("{}, ").format(ident(d)) for d in dims)
    if is_rate:
        value = sql.SQL("max({m})::numeric, max({b})::numeric, max({d})::numeric").format(
            m=ident(metric), b=ident(f"{metric}_{side}"), d=ident(RATE_DENOMINATORS[metric])
        )
        judged = sql.SQL("bool_and(is_period_complete and {mature})").format(
            mature=ident(f"is_{name}_mature")
        )
    else:
        value = sql.SQL("sum({m})::numeric, null::numeric, null::numeric").format(m=ident(metric))
        judged = sql.SQL("bool_and(is_period_complete)")
    query = sql.SQL(
        """
        select dealer_code, {dims} period_start::date, {value}, {judged}
        from {table}
        where period_grain = %(grain)s and period_start + %(length)s::interval <= %(as_of)s::date
        group by dealer_code, {dims} period_start
        order by dealer_code, {dims} period_start desc
        """
    ).format(dims=dim_sql, value=value, judged=judged, table=ident("marts", rule.mart))
    rows = conn.execute(
        query,
        {"grain": rule.period_grain, "length": PERIOD_LENGTH[rule.period_grain], "as_of": as_of},
    ).fetchall()
    series: dict[tuple[str, str], list[Period]] = {}
    for row in rows:
        dealer_code = row[0]
        subject = _subject(dims, tuple(row[1 : 1 + len(dims)]))
        period_start, val, bound, den, ok = row[1 + len(dims) :]
        judged_here = bool(ok) and val is not None and (bound is not None or not is_rate)
        series.setdefault((dealer_code, subject), []).append(
            Period(
                period_start=period_start,
                value=val,
                judged=judged_here,
                denominator=den,
                bound=bound,
            )
        )
    return series


def evaluate_threshold(conn, rule: Rule, as_of: datetime) -> list[Verdict]:
    if rule.mart in FUNNEL_MARTS and not rule.numerator:
        unit = "ratio" if rule.metric in FUNNEL_RATES else "count"
        verdicts = _verdicts_from_series(rule, funnel_series(conn, rule, as_of), unit)
        if rule.metric in FUNNEL_RATES:
            side = "upper" if rule.direction == "below" else "lower"
            for v in verdicts:
                v.detail["bound"] = f"{rule.metric}_{side} (one-sided 95 % Wilson)"
                v.detail["maturity"] = f"is_{rule.metric.removeprefix('rate_')}_mature"
        return verdicts
    present = columns_of(conn, "marts", rule.mart)
    if not present:
        raise SourceMissing(f"marts.{rule.mart} does not exist")
    needed = ["dealer_code", rule.period_column, *rule.dimensions]
    needed += [rule.numerator, rule.denominator] if rule.numerator else [rule.metric]
    _require(conn, "marts", rule.mart, needed)
    if rule.numerator:
        num_sql = sql.SQL("sum({})::numeric").format(sql.Identifier(rule.numerator))
        den_sql = (
            sql.SQL("sum({})::numeric").format(sql.Identifier(rule.denominator))
            if rule.denominator
            else None
        )
        unit = "ratio" if rule.denominator else "count"
    else:
        num_sql = sql.SQL("{}({})::numeric").format(
            sql.SQL(rule.aggregate), sql.Identifier(rule.metric)
        )
        den_sql = None
        unit = "ratio" if rule.metric.startswith("rate_") else "value"
    series = period_series(
        conn,
        rule,
        as_of,
        num_sql=num_sql,
        den_sql=den_sql,
        grain_filter="period_grain" in present,
    )
    return _verdicts_from_series(rule, series, unit)


def evaluate_sla_breach(conn, rule: Rule, as_of: datetime) -> list[Verdict]:
    _require(
        conn,
        "marts",
        "mart_sla_compliance",
        ["dealer_code", rule.period_column, rule.due_column, rule.met_column],
    )
    due, met = sql.Identifier(rule.due_column), sql.Identifier(rule.met_column)
    series = period_series(
        conn,
        rule,
        as_of,
        num_sql=sql.SQL("(sum({}) - sum({}))::numeric").format(due, met),
        den_sql=sql.SQL("sum({})::numeric").format(due),
        grain_filter=False,
    )
    return _verdicts_from_series(rule, series, "ratio")


# -- volume anomaly ---------------------------------------------------------------------------


def evaluate_volume(conn, rule: Rule, as_of: datetime) -> list[Verdict]:
    """Weekly leads per dealer against its own recent weeks: ``robust_z`` of
    ``marts.mart_volume_monitoring`` (median/MAD computed in dbt) beyond ``threshold``."""
    _require(
        conn,
        "marts",
        "mart_volume_monitoring",
        ["dealer_code", "period_start", "leads", "baseline_median", "robust_z", "is_judgeable"],
    )
    rows = conn.execute(
        """select dealer_code, period_start, leads, baseline_median, robust_z, is_judgeable,
                  history_weeks
           from marts.mart_volume_monitoring
           where period_start + 7 <= %s::date
           order by dealer_code, period_start desc""",
        (as_of,),
    ).fetchall()
    series: dict[str, list[Period]] = {}
    history: dict[tuple[str, date], int] = {}
    for dealer_code, start, leads, median, z, judgeable, weeks in rows:
        series.setdefault(dealer_code, []).append(
            Period(
                period_start=start,
                value=z,
                judged=bool(judgeable) and z is not None,
                count=leads,
                baseline=_num(median),
            )
        )
        history[(dealer_code, start)] = weeks
    verdicts = []
    for dealer_code, periods in series.items():
        dealer_rule = rule.for_dealer(dealer_code)
        assessment = assess(dealer_rule, periods)
        if assessment is None:
            continue
        latest = next(p for p in periods if p.judged)
        verdicts.append(
            Verdict(
                dealer_code=dealer_code,
                subject="",
                metric=rule.metric,
                breached=assessment.breached,
                observed=latest.value,
                threshold=dealer_rule.threshold,
                period_start=assessment.period_start,
                detail={
                    "direction": dealer_rule.direction,
                    "leads": latest.count,
                    "baseline": latest.baseline,
                    "history_weeks": history[(dealer_code, latest.period_start)],
                    "periods": [
                        {
                            **p,
                            "leads": next(
                                x.count
                                for x in periods
                                if x.period_start.isoformat() == p["period_start"]
                            ),
                        }
                        for p in assessment.periods
                    ],
                    "consecutive_periods": dealer_rule.consecutive_periods,
                    "period_grain": "week",
                    "source": "marts.mart_volume_monitoring",
                    "unit": "z",
                },
            )
        )
    return verdicts


# -- overdue follow-ups by grade --------------------------------------------------------------

OVERDUE_MART = "mart_followup_monitoring"


def evaluate_overdue(conn, rule: Rule, as_of: datetime) -> list[Verdict]:
    """Overdue open leads per dealer and grade: ``overdue_leads`` of
    ``marts.mart_followup_monitoring`` (computed in dbt from the grade history and the grade
    cadences of ``funnel_settings.csv``, as of the dealer's latest data, however old the lead)
    above ``threshold``. ``as_of`` is not used: the mart judges at each dealer's data horizon."""
    del as_of
    _require(
        conn,
        "marts",
        OVERDUE_MART,
        ["dealer_code", "grade", "as_of_at", "as_of_date", "cadence_max_days", "open_leads",
         "overdue_leads", "max_days_overdue"],
    )  # fmt: skip
    rows = conn.execute(
        sql.SQL(
            """
            select dealer_code, grade, as_of_at, as_of_date, cadence_max_days, open_leads,
                   overdue_leads, max_days_overdue
            from {}
            where grade = any(%s)
            order by dealer_code, grade
            """
        ).format(sql.Identifier("marts", OVERDUE_MART)),
        (list(rule.grades),),
    ).fetchall()
    verdicts = []
    for dealer_code, grade, as_of_at, as_of_date, cadence, open_leads, overdue, worst in rows:
        dealer_rule = rule.for_dealer(dealer_code)
        verdicts.append(
            Verdict(
                dealer_code=dealer_code,
                subject=f"grade={grade}",
                metric=rule.metric,
                breached=dealer_rule.breaches(overdue),
                observed=overdue,
                threshold=dealer_rule.threshold,
                period_start=as_of_date,
                detail={
                    "direction": "above",
                    "open_leads": open_leads,
                    "cadence_days": _num(cadence),
                    "max_days_overdue": _num(worst),
                    "as_of": as_of_at.isoformat(),
                    "source": f"marts.{OVERDUE_MART}",
                    "unit": "count",
                },
            )
        )
    return verdicts


# -- source freshness ---------------------------------------------------------------------------


FRESHNESS_COLUMNS = (
    "dealer_code",
    "source",
    "last_loaded_at",
    "hours_since_last_load",
    "is_outage",
    "outage_failed_at",
    "outage_objects",
    "outage_conn_id",
    "outage_error_class",
    "outage_error_message",
)


def evaluate_freshness(conn, rule: Rule, as_of: datetime) -> list[Verdict]:
    """``hours_since_last_load`` of ``marts.mart_source_freshness`` above the threshold, or an
    outage there: the mart computes both (as of the run), this only compares."""
    _require(conn, "marts", "mart_source_freshness", list(FRESHNESS_COLUMNS))
    query = sql.SQL("select {} from marts.mart_source_freshness order by 1, 2").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in FRESHNESS_COLUMNS)
    )
    verdicts = []
    for row in conn.execute(query).fetchall():
        fresh = dict(zip(FRESHNESS_COLUMNS, row, strict=True))
        dealer_rule = rule.for_dealer(fresh["dealer_code"])
        hours = _num(fresh["hours_since_last_load"])
        last = fresh["last_loaded_at"]
        detail: dict[str, Any] = {
            "direction": "above",
            "last_loaded_at": last.isoformat() if last else None,
            "source_name": fresh["source"],
            "source": "marts.mart_source_freshness",
            "unit": "hours",
        }
        if fresh["is_outage"]:
            detail.update(
                outage=True,
                failed_at=fresh["outage_failed_at"].isoformat(),
                error_class=fresh["outage_error_class"],
                error=fresh["outage_error_message"],
                conn_id=fresh["outage_conn_id"],
                failed_objects=(fresh["outage_objects"] or "").split(", "),
            )
        verdicts.append(
            Verdict(
                dealer_code=fresh["dealer_code"],
                subject=f"source={fresh['source']}",
                metric=rule.metric,
                breached=bool(fresh["is_outage"]) or (hours or 0.0) > dealer_rule.threshold,
                observed=hours,
                threshold=dealer_rule.threshold,
                period_start=(last or as_of).date(),
                detail=detail,
            )
        )
    return verdicts


# -- data quality -------------------------------------------------------------------------------


_LATEST_FAILURES = """
    with latest as (
        select distinct on (checkpoint) quality_run_id, checkpoint, checked_at,
               data_docs_url, run_id
        from ops.quality_runs order by checkpoint, quality_run_id desc
    )
    select l.checkpoint, f.check_key, f.check_name, f.severity, f.observed, l.checked_at,
           l.data_docs_url, l.run_id, f.source, f.suite
    from latest l join ops.quality_failures f using (quality_run_id)
    order by l.checkpoint, f.check_key
"""


def _failure_verdict(row) -> Verdict:
    checkpoint, key, name, severity, observed, checked_at, docs, run_id, source, suite = row
    return Verdict(
        dealer_code=GROUP,
        subject=checkpoint,
        metric=key,
        breached=True,
        observed=_try_float(observed),
        threshold=None,
        period_start=checked_at.date(),
        severity="critical" if severity == "blocking" else "warning",
        detail={
            "check_name": name,
            "gate_severity": severity,
            "observed_text": observed,
            "checkpoint": checkpoint,
            "check_source": source,
            "suite": suite,
            "checked_at": checked_at.isoformat(),
            "data_docs_url": docs,
            "gate_run": run_id,
            "unit": "check",
        },
    )


DIGEST_SUBJECT = "warnings"
DIGEST_METRIC = "failing_warning_checks"


def _digest_verdict(warnings: list[Verdict], as_of: datetime) -> Verdict:
    """All warning-level failures of the latest gate runs as ONE verdict (one message)."""
    checks = [
        {
            "check_name": v.detail["check_name"],
            "checkpoint": v.detail["checkpoint"],
            "observed": v.detail["observed_text"],
            "checked_at": v.detail["checked_at"],
            "data_docs_url": v.detail["data_docs_url"],
        }
        for v in warnings
    ]
    docs = next((c["data_docs_url"] for c in checks if c["data_docs_url"]), None)
    return Verdict(
        dealer_code=GROUP,
        subject=DIGEST_SUBJECT,
        metric=DIGEST_METRIC,
        breached=True,
        observed=len(checks),
        threshold=0,
        period_start=min(v.period_start for v in warnings),
        severity="warning",
        detail={
            "check_name": f"{len(checks)} data-quality warning(s) in the latest gate runs",
            "checks": checks,
            "data_docs_url": docs,
            "direction": "above",
            "unit": "check",
            "digest": True,
            "source": "ops.quality_failures (GX Data Docs)",
        },
    )


def evaluate_data_quality(conn, rule: Rule, as_of: datetime) -> list[Verdict]:
    """Blocking failures one episode each (critical); warnings of the latest runs together as
    one digest episode (``subject`` ``warnings``), so one run's warnings are one message."""
    failures = [_failure_verdict(row) for row in conn.execute(_LATEST_FAILURES).fetchall()]
    verdicts = [v for v in failures if v.severity == "critical"]
    warnings = [v for v in failures if v.severity != "critical"]
    if warnings and rule.include_warnings:
        verdicts.append(_digest_verdict(warnings, as_of))
    failing = {(v.subject, v.metric) for v in verdicts}
    open_rows = conn.execute(
        "select subject, metric from ops.alerts where rule = %s and status = 'open'",
        (rule.rule,),
    ).fetchall()
    for checkpoint, key in open_rows:
        if (checkpoint, key) not in failing:
            verdicts.append(
                Verdict(
                    dealer_code=GROUP,
                    subject=checkpoint,
                    metric=key,
                    breached=False,
                    observed=0 if key == DIGEST_METRIC else None,
                    threshold=0 if key == DIGEST_METRIC else None,
                    period_start=as_of.date(),
                    detail={"checkpoint": checkpoint, "unit": "check", "passed": True},
                )
            )
    return verdicts


def _try_float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


EVALUATORS = {
    "threshold": evaluate_threshold,
    "volume_anomaly": evaluate_volume,
    "sla_breach": evaluate_sla_breach,
    "overdue_followups": evaluate_overdue,
    "source_freshness": evaluate_freshness,
    "data_quality": evaluate_data_quality,
}


def jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))

"""Alert rule configuration and the breach decision (plain functions, no database)."""

from datetime import date

import pytest

from dealerfunnel.alerts.episodes import assess
from dealerfunnel.alerts.evaluators import Period
from dealerfunnel.alerts.rules import parse_rules
from dealerfunnel.settings import ConfigError

BASE = {
    "defaults": {"period_grain": "week", "consecutive_periods": 2, "min_denominator": 10},
    "rules": [
        {
            "rule": "p2i_low",
            "metric": "rate_potential_to_interested",
            "direction": "below",
            "threshold": 0.35,
            "overrides": {"GZ001": {"threshold": 0.5}},
        }
    ],
}


def test_defaults_and_overrides_apply():
    (rule,) = parse_rules(BASE)
    assert rule.consecutive_periods == 2
    assert rule.threshold == 0.35
    assert rule.for_dealer("GZ001").threshold == 0.5
    assert rule.for_dealer("SH001").threshold == 0.35


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["rules"][0].update(threshold="low"),
            "alert_rules.yml: rules[0].threshold: Input should be a valid number",
        ),
        (lambda d: d["rules"][0].update(metric="nope"), "rules[0].metric: unknown metric 'nope'"),
        (lambda d: d["rules"][0].update(direction="sideways"), "rules[0].direction"),
        (lambda d: d["rules"][0].update(colour="red"), "rules[0].colour: unknown setting"),
        (lambda d: d["rules"][0].pop("threshold"), "rules[0].threshold: required"),
        (lambda d: d["defaults"].update(period_grain="day"), "defaults.period_grain"),
        (
            lambda d: d["rules"][0]["overrides"]["GZ001"].update(threshhold=1),
            "rules[0].overrides.GZ001.threshhold: unknown setting",
        ),
        (lambda d: d["rules"].append(dict(d["rules"][0])), "rules[1].rule: duplicate"),
    ],
)
def test_bad_config_names_the_key(mutate, message):
    import copy

    data = copy.deepcopy(BASE)
    mutate(data)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_rules(data)


def _periods(*values, den=100):
    # newest first, weekly
    return [
        Period(
            period_start=date(2026, 10, 26 - 7 * i) if 26 - 7 * i > 0 else date(2026, 9, 28),
            value=v,
            denominator=den,
            judged=den >= 10,
        )
        for i, v in enumerate(values)
    ]


def test_breach_needs_every_period_in_the_window():
    (rule,) = parse_rules(BASE)
    assert assess(rule, _periods(0.2, 0.3, 0.9)).breached is True
    assert assess(rule, _periods(0.2, 0.4)).breached is False  # only one week below
    assert assess(rule, _periods(0.35, 0.2)).breached is False  # equal is not below


def test_breach_reports_latest_value_and_streak_start():
    (rule,) = parse_rules(BASE)
    verdict = assess(rule, _periods(0.2, 0.3, 0.9))
    assert verdict.observed == 0.2
    assert verdict.period_start == date(2026, 10, 19)


def test_small_or_missing_periods_are_not_judged():
    (rule,) = parse_rules(BASE)
    assert assess(rule, _periods(0.1, 0.1, den=5)) is None
    assert assess(rule, _periods(0.1)) is None


def test_small_latest_period_is_skipped_not_a_veto():
    (rule,) = parse_rules(BASE)
    periods = [
        Period(date(2026, 11, 2), value=0.0, denominator=2, judged=False),
        Period(date(2026, 10, 26), value=0.19, denominator=150, judged=True),
        Period(date(2026, 10, 19), value=0.18, denominator=145, judged=True),
        Period(date(2026, 10, 12), value=0.25, denominator=170, judged=True),
        Period(date(2026, 10, 5), value=0.55, denominator=160, judged=True),
    ]
    verdict = assess(rule, periods)
    assert verdict.breached is True
    assert verdict.observed == 0.19
    # the streak below 35% started with the week of 10-12, not just the 2-week window
    assert verdict.period_start == date(2026, 10, 12)
    assert [p["period_start"] for p in verdict.periods] == ["2026-10-26", "2026-10-19"]


def test_a_noise_week_is_skipped_like_a_small_one():
    """The demo's GZ001: the latest week has 2 leads at 0 % (one-sided upper bound 0.575 > 35 %:
    noise). It neither breaches nor clears, so the two weeks before it decide."""
    (rule,) = parse_rules(BASE)
    periods = [
        Period(date(2026, 11, 2), value=0.0, denominator=2, bound=0.575, judged=True),
        Period(date(2026, 10, 26), value=0.1933, denominator=150, bound=0.2516, judged=True),
        Period(date(2026, 10, 19), value=0.1793, denominator=145, bound=0.2374, judged=True),
        Period(date(2026, 10, 12), value=0.2471, denominator=170, bound=0.3051, judged=True),
        Period(date(2026, 10, 5), value=0.5230, denominator=174, bound=0.5844, judged=True),
    ]
    verdict = assess(rule, periods)
    assert verdict.breached is True
    assert verdict.observed == 0.1933
    assert verdict.period_start == date(2026, 10, 12)
    # a week on the breaching side but within noise, then a clear recovery: resolved
    recovered = [Period(date(2026, 11, 9), value=0.52, bound=0.58, judged=True), *periods]
    assert assess(rule, recovered).breached is False


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rules": [{"rule": "r", "type": "magic"}]}, "alert_rules.yml: rules[0].type: must be"),
        ({"rules": [5]}, "alert_rules.yml: rules[0]: Input should be a valid dictionary"),
        ({"rules": {}}, "alert_rules.yml: rules: Input should be a valid list"),
        ({"defaults": {"threshold": 1}}, "alert_rules.yml: defaults.threshold: unknown setting"),
        ({"defaults": {"metric": "x"}}, "alert_rules.yml: defaults.metric: unknown setting"),
        ({"rulez": []}, "alert_rules.yml: rulez: unknown section"),
        (
            {
                "rules": [
                    {"rule": "r", "type": "overdue_followups", "threshold": 5, "cadence_days": {}}
                ]
            },
            "alert_rules.yml: rules[0].cadence_days: unknown setting",
        ),
        (
            {"rules": [{"rule": "r", "type": "data_quality", "threshold": 1}]},
            "alert_rules.yml: rules[0].threshold: unknown setting",
        ),
        (
            {"rules": [{"rule": "r", "type": "data_quality", "include_warnings": "yes"}]},
            "alert_rules.yml: rules[0].include_warnings: Input should be a valid boolean",
        ),
        (
            {"rules": [{"rule": "r", "type": "sla_breach", "threshold": 1, "sla": "x"}]},
            "alert_rules.yml: rules[0].sla: Input should be",
        ),
        (
            {"rules": [{"rule": "r", "type": "volume_anomaly", "threshold": 1, "min_volume": 1}]},
            "alert_rules.yml: rules[0].min_volume: unknown setting",
        ),
        (
            {"rules": [{**BASE["rules"][0], "overrides": {"GZ001": {"metric": "leads_won"}}}]},
            "alert_rules.yml: rules[0].overrides.GZ001.metric: unknown setting",
        ),
        (
            {"rules": [{**BASE["rules"][0], "overrides": {"GZ001": {"threshold": "x"}}}]},
            "alert_rules.yml: rules[0].overrides.GZ001.threshold: Input should be a valid number",
        ),
        (
            {"rules": [{**BASE["rules"][0], "overrides": ["GZ001"]}]},
            "alert_rules.yml: rules[0].overrides: must map dealer codes to settings",
        ),
        (
            {"rules": [{**BASE["rules"][0], "consecutive_periods": True}]},
            "alert_rules.yml: rules[0].consecutive_periods: Input should be a valid integer",
        ),
        (
            {"rules": [{**BASE["rules"][0], "mart": "m", "metric": "x", "denominator": "d"}]},
            "alert_rules.yml: rules[0].numerator: required with denominator",
        ),
        (
            {"rules": [{**BASE["rules"][0], "dimensions": ["Channel"]}]},
            "alert_rules.yml: rules[0].dimensions[0]: String should match pattern",
        ),
        (
            {"rules": [{**BASE["rules"][0], "rule": " "}]},
            "alert_rules.yml: rules[0].rule: must be a non-empty",
        ),
    ],
)
def test_bad_rule_settings_name_file_and_key(data, message):
    with pytest.raises(ConfigError) as info:
        parse_rules(data)
    assert str(info.value).startswith(message), str(info.value)


def test_one_model_per_rule_type_with_its_defaults():
    rules = parse_rules(
        {
            "defaults": {"consecutive_periods": 3, "min_denominator": 9},
            "rules": [
                {"rule": "v", "type": "volume_anomaly", "threshold": 0.5},
                {"rule": "s", "type": "sla_breach", "threshold": 0.2, "sla": "assignment"},
                {"rule": "q", "type": "data_quality"},
                {"rule": "o", "type": "overdue_followups", "threshold": 5},
            ],
        }
    )
    volume, sla, quality, overdue = rules
    assert (volume.consecutive_periods, volume.metric) == (3, "weekly_leads_robust_z")
    assert sla.min_denominator == 9
    assert (sla.due_column, sla.met_column, sla.metric) == (
        "assignments_due",
        "assignments_met",
        "assignment_sla_breach_rate",
    )
    assert sla.direction == "above" and sla.period_column == "week_start"
    assert quality.metric == "failed_check" and quality.include_warnings is True
    # no lookback limit and no second copy of the cadences: the mart has them
    assert overdue.grades == ("A", "B", "C", "D")
    assert not hasattr(overdue, "max_lead_age_days") and not hasattr(overdue, "cadence_days")


def test_committed_alert_rules_are_valid():
    from dealerfunnel.alerts.rules import load_rules

    rules = {r.rule: r for r in load_rules()}
    assert rules["potential_to_interested_low"].threshold == 0.35
    assert rules["lead_volume_drop"].threshold == -3.5


def test_overdue_rule_holds_no_cadence_and_no_lookback():
    from dealerfunnel.alerts import evaluators
    from dealerfunnel.settings import ConfigError

    # the grade cadences live in funnel_settings.csv, read by dbt only
    assert not hasattr(evaluators, "grade_cadence_days")
    with pytest.raises(ConfigError, match="max_lead_age_days"):
        parse_rules(
            {"rules": [{"rule": "o", "type": "overdue_followups", "threshold": 0,
                        "max_lead_age_days": 30}]}
        )  # fmt: skip
    with pytest.raises(ConfigError, match="grades"):
        parse_rules(
            {"rules": [{"rule": "o", "type": "overdue_followups", "threshold": 0,
                        "grades": ["E"]}]}
        )  # fmt: skip


def test_data_quality_runs_in_one_dag_only():
    from pathlib import Path

    from dealerfunnel.alerts.rules import BUSINESS_TYPES, PIPELINE_TYPES

    assert "data_quality" in PIPELINE_TYPES and "data_quality" not in BUSINESS_TYPES
    dags = Path(__file__).resolve().parents[3] / "dags"
    assert "types=BUSINESS_TYPES" in (dags / "funnel_alerts.py").read_text()
    assert 'types=("data_quality",)' in (dags / "funnel_transform.py").read_text()


def test_rates_are_read_from_the_monitoring_mart():
    from dealerfunnel.alerts.rules import parse_rules
    from dealerfunnel.settings import ConfigError

    (rule,) = parse_rules(
        {"rules": [{"rule": "r", "metric": "rate_potential_to_interested",
                    "direction": "below", "threshold": 0.35}]}
    )  # fmt: skip
    assert rule.mart == "mart_funnel_monitoring"
    with pytest.raises(ConfigError, match="confidence bounds"):
        parse_rules(
            {"rules": [{"rule": "r", "mart": "mart_funnel_conversion", "direction": "below",
                        "metric": "rate_potential_to_interested", "threshold": 0.35}]}
        )  # fmt: skip
    with pytest.raises(ConfigError, match="per dealer"):
        parse_rules(
            {"rules": [{"rule": "r", "metric": "leads_won", "dimensions": ["channel"],
                        "direction": "below", "threshold": 1}]}
        )  # fmt: skip

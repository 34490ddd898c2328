"""Alert rule configuration and the breach decision (plain functions, no database)."""

from datetime import date

import pytest

from dealerfunnel.alerts.episodes import assess
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
        (lambda d: d["rules"][0].update(threshold="low"), "rules[0].threshold: must be a number"),
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
        {
            "period_start": date(2026, 10, 26 - 7 * i) if 26 - 7 * i > 0 else date(2026, 9, 28),
            "value": v,
            "denominator": den,
            "judged": den >= 10,
        }
        for i, v in enumerate(values)
    ]


def test_breach_needs_every_period_in_the_window():
    (rule,) = parse_rules(BASE)
    assert assess(rule, _periods(0.2, 0.3, 0.9))["breached"] is True
    assert assess(rule, _periods(0.2, 0.4))["breached"] is False  # only one week below
    assert assess(rule, _periods(0.35, 0.2))["breached"] is False  # equal is not below


def test_breach_reports_latest_value_and_streak_start():
    (rule,) = parse_rules(BASE)
    verdict = assess(rule, _periods(0.2, 0.3, 0.9))
    assert verdict["observed"] == 0.2
    assert verdict["period_start"] == date(2026, 10, 19)


def test_small_or_missing_periods_are_not_judged():
    (rule,) = parse_rules(BASE)
    assert assess(rule, _periods(0.1, 0.1, den=5)) is None
    assert assess(rule, _periods(0.1)) is None


def test_small_latest_period_is_skipped_not_a_veto():
    (rule,) = parse_rules(BASE)
    periods = [
        {"period_start": date(2026, 11, 2), "value": 0.0, "denominator": 2, "judged": False},
        {"period_start": date(2026, 10, 26), "value": 0.19, "denominator": 150, "judged": True},
        {"period_start": date(2026, 10, 19), "value": 0.18, "denominator": 145, "judged": True},
        {"period_start": date(2026, 10, 12), "value": 0.25, "denominator": 170, "judged": True},
        {"period_start": date(2026, 10, 5), "value": 0.55, "denominator": 160, "judged": True},
    ]
    verdict = assess(rule, periods)
    assert verdict["breached"] is True
    assert verdict["observed"] == 0.19
    # the streak below 35% started with the week of 10-12, not just the 2-week window
    assert verdict["period_start"] == date(2026, 10, 12)
    assert [p["period_start"] for p in verdict["periods"]] == ["2026-10-26", "2026-10-19"]

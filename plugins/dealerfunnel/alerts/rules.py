"""Alert rule configuration (``config/alert_rules.yml``), validated at load.

Every error names the offending key, e.g. ``alert_rules.yml: rules[0].threshold: must be a
number``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from dealerfunnel.settings import ConfigError, load_yaml

# metric -> (numerator column, denominator column) in marts.mart_funnel_conversion.
# Rates are recomputed from summed counts so a dealer-level rate weighs every channel fairly.
FUNNEL_METRICS: dict[str, tuple[str, str | None]] = {
    "rate_potential_to_interested": ("leads_interested", "leads_potential"),
    "rate_interested_to_needs_defined": ("leads_needs_defined", "leads_interested"),
    "rate_needs_defined_to_decision": ("leads_decision", "leads_needs_defined"),
    "rate_decision_to_won": ("leads_won", "leads_decision"),
    "rate_lead_to_won": ("leads_won", "leads_potential"),
    "leads_potential": ("leads_potential", None),
    "leads_won": ("leads_won", None),
}
GRAINS = ("week", "month", "quarter")
DIRECTIONS = ("below", "above")
SEVERITIES = ("info", "warning", "critical")
RULE_KEYS = {
    "rule",
    "metric",
    "direction",
    "threshold",
    "severity",
    "period_grain",
    "consecutive_periods",
    "min_denominator",
    "overrides",
}
OVERRIDABLE = RULE_KEYS - {"rule", "metric", "overrides"}


@dataclass(frozen=True)
class Rule:
    rule: str
    metric: str
    direction: str
    threshold: float
    severity: str = "warning"
    period_grain: str = "week"
    consecutive_periods: int = 2
    min_denominator: int = 0
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)

    def for_dealer(self, dealer_code: str) -> Rule:
        """The rule with the dealer's overrides applied."""
        override = self.overrides.get(dealer_code)
        return replace(self, **override) if override else self

    def breaches(self, value: float | None) -> bool:
        if value is None:
            return False
        return value < self.threshold if self.direction == "below" else value > self.threshold


def _check(where: str, key: str, value: Any) -> None:
    if key == "threshold" and not isinstance(value, int | float):
        raise ConfigError(f"{where}.threshold: must be a number, got {value!r}")
    if key == "direction" and value not in DIRECTIONS:
        raise ConfigError(f"{where}.direction: must be one of {DIRECTIONS}, got {value!r}")
    if key == "severity" and value not in SEVERITIES:
        raise ConfigError(f"{where}.severity: must be one of {SEVERITIES}, got {value!r}")
    if key == "period_grain" and value not in GRAINS:
        raise ConfigError(f"{where}.period_grain: must be one of {GRAINS}, got {value!r}")
    if key in ("consecutive_periods", "min_denominator") and (
        not isinstance(value, int)
        or isinstance(value, bool)
        or value < (key == "consecutive_periods")
    ):
        raise ConfigError(f"{where}.{key}: must be a non-negative integer, got {value!r}")


def parse_rules(data: dict[str, Any], source: str = "alert_rules.yml") -> list[Rule]:
    defaults = data.get("defaults") or {}
    for key, value in defaults.items():
        if key not in OVERRIDABLE:
            raise ConfigError(f"{source}: defaults.{key}: unknown setting")
        _check(f"{source}: defaults", key, value)
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, entry in enumerate(data.get("rules") or []):
        where = f"{source}: rules[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: must be a mapping")
        for key in entry:
            if key not in RULE_KEYS:
                raise ConfigError(f"{where}.{key}: unknown setting")
        for key in ("rule", "metric", "direction", "threshold"):
            if key not in entry:
                raise ConfigError(f"{where}.{key}: required")
        if entry["metric"] not in FUNNEL_METRICS:
            raise ConfigError(
                f"{where}.metric: unknown metric {entry['metric']!r}; "
                f"one of {sorted(FUNNEL_METRICS)}"
            )
        if entry["rule"] in seen:
            raise ConfigError(f"{where}.rule: duplicate rule name {entry['rule']!r}")
        seen.add(entry["rule"])
        merged = {**defaults, **{k: v for k, v in entry.items() if k != "overrides"}}
        for key, value in merged.items():
            _check(where, key, value)
        overrides = entry.get("overrides") or {}
        for dealer, override in overrides.items():
            for key, value in (override or {}).items():
                if key not in OVERRIDABLE:
                    raise ConfigError(f"{where}.overrides.{dealer}.{key}: unknown setting")
                _check(f"{where}.overrides.{dealer}", key, value)
        rules.append(
            Rule(**merged, overrides={str(k): dict(v or {}) for k, v in overrides.items()})
        )
    return rules


def load_rules() -> list[Rule]:
    return parse_rules(load_yaml("alert_rules.yml"))

"""Alert rule configuration (``config/alert_rules.yml``), validated at load.

Every error names the offending key, e.g. ``alert_rules.yml: rules[0].threshold: must be a
number``. ``defaults`` are group defaults for every rule (a key that does not apply to a
rule's type is ignored for it); ``overrides.<dealer_code>`` replaces settings per dealer.

Rule types (``type``, default ``threshold``):

``threshold``
    ``metric`` of ``mart`` (default ``mart_funnel_conversion``) per dealer, optionally split
    by ``dimensions`` (mart columns, e.g. ``[channel]``), per complete ``period_grain``
    period, ``below``/``above`` ``threshold`` in each of the last ``consecutive_periods``.
    On the funnel mart the rates are recomputed from summed counts (FUNNEL_METRICS); on any
    mart ``numerator``/``denominator`` columns make a ratio, otherwise ``metric`` is
    aggregated with ``aggregate`` (sum, avg, min, max). ``period_column`` (default
    ``period_start``) names the period; a mart without ``period_grain`` is read as is.
``volume_anomaly``
    Leads per dealer x channel per local day (``marts.fct_leads``) against the mean of the
    same weekday over the ``trailing_weeks`` before: breach when the day is more than
    ``threshold`` (a fraction) ``below``/``above`` that baseline. Baselines under
    ``min_volume`` leads are not judged.
``sla_breach``
    Breach rate (due - met) / due of an SLA per dealer per week from
    ``marts.mart_sla_compliance`` (``due_column``, ``met_column``, ``period_column``),
    above ``threshold``. Skipped (and reported) while the mart or a column is missing.
``overdue_followups``
    Open leads per dealer x grade whose last contact is older than the grade's cadence
    (``cadence_days``), above ``threshold`` leads. Only leads created within
    ``max_lead_age_days`` (default 30) count: older open leads are a pipeline-hygiene matter.
``source_freshness``
    Hours since a dealer's source last delivered (``ops.load_batches`` and the raw tables'
    ``_extracted_at``), above ``threshold`` hours.
``data_quality``
    A failed check of the latest run of a quality gate (GX, dbt tests, dbt source
    freshness). Blocking failures are ``critical``, warnings ``warning``
    (``include_warnings: false`` ignores them).

``suppression_hours``: a new episode of the same rule, dealer and subject within that many
hours of the previous episode's notification is recorded but not notified again.
"""

from __future__ import annotations

import re
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
    "leads_interested": ("leads_interested", None),
    "leads_needs_defined": ("leads_needs_defined", None),
    "leads_decision": ("leads_decision", None),
    "leads_won": ("leads_won", None),
    "leads_lost": ("leads_lost", None),
}
FUNNEL_MART = "mart_funnel_conversion"
TYPES = (
    "threshold",
    "volume_anomaly",
    "sla_breach",
    "overdue_followups",
    "source_freshness",
    "data_quality",
)
GRAINS = ("week", "month", "quarter")
DIRECTIONS = ("below", "above")
SEVERITIES = ("info", "warning", "critical")
AGGREGATES = ("sum", "avg", "min", "max")
IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
DEFAULT_CADENCE = {"A": 3, "B": 7, "C": 28, "D": 90}

COMMON = {"rule", "type", "severity", "threshold", "suppression_hours", "overrides", "description"}
TYPE_KEYS: dict[str, set[str]] = {
    "threshold": COMMON
    | {
        "mart",
        "metric",
        "numerator",
        "denominator",
        "aggregate",
        "dimensions",
        "direction",
        "period_grain",
        "period_column",
        "consecutive_periods",
        "min_denominator",
    },
    "volume_anomaly": COMMON | {"direction", "trailing_weeks", "min_volume", "consecutive_periods"},
    "sla_breach": COMMON
    | {
        "sla",
        "due_column",
        "met_column",
        "period_column",
        "consecutive_periods",
        "min_denominator",
    },
    "overdue_followups": COMMON | {"cadence_days", "grades", "max_lead_age_days"},
    "source_freshness": COMMON,
    "data_quality": COMMON - {"threshold"} | {"include_warnings"},
}
ALL_KEYS = set().union(*TYPE_KEYS.values())
NOT_OVERRIDABLE = {
    "rule",
    "type",
    "overrides",
    "mart",
    "metric",
    "dimensions",
    "description",
    "max_lead_age_days",
}
REQUIRED = {
    "threshold": ("metric", "direction", "threshold"),
    "volume_anomaly": ("threshold",),
    "sla_breach": ("threshold",),
    "overdue_followups": ("threshold",),
    "source_freshness": ("threshold",),
    "data_quality": (),
}
SLA_COLUMNS = {
    "first_contact": ("first_contacts_due", "first_contacts_met"),
    "assignment": ("assignments_due", "assignments_met"),
}


@dataclass(frozen=True)
class Rule:
    rule: str
    metric: str = ""
    direction: str = "below"
    threshold: float = 0.0
    severity: str = "warning"
    period_grain: str = "week"
    consecutive_periods: int = 2
    min_denominator: int = 0
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    type: str = "threshold"
    description: str = ""
    mart: str = FUNNEL_MART
    numerator: str | None = None
    denominator: str | None = None
    aggregate: str = "sum"
    dimensions: tuple[str, ...] = ()
    period_column: str = "period_start"
    suppression_hours: float = 24.0
    trailing_weeks: int = 4
    min_volume: float = 5.0
    sla: str = "first_contact"
    due_column: str | None = None
    met_column: str | None = None
    cadence_days: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_CADENCE))
    grades: tuple[str, ...] = ("A", "B", "C", "D")
    include_warnings: bool = True
    max_lead_age_days: int = 30

    def for_dealer(self, dealer_code: str) -> Rule:
        """The rule with the dealer's overrides applied."""
        override = self.overrides.get(dealer_code)
        return replace(self, **_coerce(override)) if override else self

    def breaches(self, value: float | None) -> bool:
        if value is None:
            return False
        return value < self.threshold if self.direction == "below" else value > self.threshold

    @property
    def metric_columns(self) -> tuple[str, str | None] | None:
        """(numerator, denominator) when the metric is a ratio or a funnel metric."""
        if self.numerator:
            return self.numerator, self.denominator
        if self.mart == FUNNEL_MART and self.metric in FUNNEL_METRICS:
            return FUNNEL_METRICS[self.metric]
        return None


def _coerce(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for key in ("dimensions", "grades"):
        if key in out and out[key] is not None:
            out[key] = tuple(out[key])
    if "cadence_days" in out:
        out["cadence_days"] = {**DEFAULT_CADENCE, **out["cadence_days"]}
    return out


def _is_int(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check(where: str, key: str, value: Any) -> None:
    bad = None
    if key in ("threshold", "suppression_hours", "min_volume") and (
        not _is_number(value) or (key != "threshold" and value < 0)
    ):
        bad = "must be a number" if key == "threshold" else "must be a non-negative number"
    elif key == "direction" and value not in DIRECTIONS:
        bad = f"must be one of {DIRECTIONS}"
    elif key == "severity" and value not in SEVERITIES:
        bad = f"must be one of {SEVERITIES}"
    elif key == "period_grain" and value not in GRAINS:
        bad = f"must be one of {GRAINS}"
    elif key == "aggregate" and value not in AGGREGATES:
        bad = f"must be one of {AGGREGATES}"
    elif key == "type" and value not in TYPES:
        bad = f"must be one of {TYPES}"
    elif key == "sla" and value not in SLA_COLUMNS:
        bad = f"must be one of {tuple(SLA_COLUMNS)}"
    elif key in ("consecutive_periods", "trailing_weeks", "max_lead_age_days") and not _is_int(
        value, 1
    ):
        bad = "must be a positive integer"
    elif key == "min_denominator" and not _is_int(value, 0):
        bad = "must be a non-negative integer"
    elif key in ("include_warnings",) and not isinstance(value, bool):
        bad = "must be true or false"
    elif key in (
        "mart",
        "numerator",
        "denominator",
        "period_column",
        "due_column",
        "met_column",
    ) and (value is not None and not (isinstance(value, str) and IDENT.match(value))):
        bad = "must be a lower-case SQL identifier"
    elif key in ("dimensions", "grades") and (
        not isinstance(value, list | tuple)
        or not all(isinstance(v, str) and (key == "grades" or IDENT.match(v)) for v in value)
    ):
        bad = "must be a list of column names" if key == "dimensions" else "must be a list"
    elif key == "cadence_days" and (
        not isinstance(value, dict) or not all(_is_number(v) and v > 0 for v in value.values())
    ):
        bad = "must map grades to a positive number of days"
    elif key == "rule" and not (isinstance(value, str) and value.strip()):
        bad = "must be a non-empty name"
    if bad:
        if key == "threshold" and bad == "must be a number":
            raise ConfigError(f"{where}.{key}: {bad}, got {value!r}")
        raise ConfigError(f"{where}.{key}: {bad}, got {value!r}")


def parse_rules(data: dict[str, Any], source: str = "alert_rules.yml") -> list[Rule]:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: top level must be a mapping")
    for key in data:
        if key not in ("defaults", "rules"):
            raise ConfigError(f"{source}: {key}: unknown section")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise ConfigError(f"{source}: defaults: must be a mapping")
    for key, value in defaults.items():
        if key not in ALL_KEYS - NOT_OVERRIDABLE or key == "threshold":
            raise ConfigError(f"{source}: defaults.{key}: unknown setting")
        _check(f"{source}: defaults", key, value)
    rules: list[Rule] = []
    seen: set[str] = set()
    entries = data.get("rules") or []
    if not isinstance(entries, list):
        raise ConfigError(f"{source}: rules: must be a list")
    for i, entry in enumerate(entries):
        where = f"{source}: rules[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: must be a mapping")
        rule_type = entry.get("type", "threshold")
        _check(where, "type", rule_type)
        allowed = TYPE_KEYS[rule_type]
        for key in entry:
            if key not in allowed:
                raise ConfigError(f"{where}.{key}: unknown setting for a {rule_type} rule")
        for key in ("rule", *REQUIRED[rule_type]):
            if key not in entry:
                raise ConfigError(f"{where}.{key}: required")
        mart = entry.get("mart", FUNNEL_MART)
        if rule_type == "threshold" and mart == FUNNEL_MART and not entry.get("numerator"):
            if entry["metric"] not in FUNNEL_METRICS:
                raise ConfigError(
                    f"{where}.metric: unknown metric {entry['metric']!r}; "
                    f"one of {sorted(FUNNEL_METRICS)}"
                )
        elif rule_type == "threshold":
            _check(where, "mart", mart)
            if not IDENT.match(str(entry["metric"])) and not entry.get("numerator"):
                raise ConfigError(
                    f"{where}.metric: must be a column of marts.{mart}, got {entry['metric']!r}"
                )
        if entry.get("denominator") and not entry.get("numerator"):
            raise ConfigError(f"{where}.numerator: required with denominator")
        if entry["rule"] in seen:
            raise ConfigError(f"{where}.rule: duplicate rule name {entry['rule']!r}")
        seen.add(entry["rule"])
        applicable = {k: v for k, v in defaults.items() if k in allowed}
        merged = {**applicable, **{k: v for k, v in entry.items() if k != "overrides"}}
        for key, value in merged.items():
            _check(where, key, value)
        if rule_type == "volume_anomaly":
            merged.setdefault("consecutive_periods", entry.get("consecutive_periods", 1))
        if rule_type in ("overdue_followups", "source_freshness", "data_quality"):
            merged["direction"] = "above"
            merged["consecutive_periods"] = 1
        if rule_type == "sla_breach":
            merged["direction"] = "above"
            due, met = SLA_COLUMNS[merged.get("sla", "first_contact")]
            merged.setdefault("due_column", due)
            merged.setdefault("met_column", met)
            merged.setdefault("period_column", "week_start")
            merged.setdefault("metric", f"{merged.get('sla', 'first_contact')}_sla_breach_rate")
            merged["mart"] = "mart_sla_compliance"
        if rule_type == "threshold" and merged.get("numerator") and "metric" not in entry:
            merged["metric"] = f"{merged['numerator']}_per_{merged.get('denominator')}"
        merged.setdefault(
            "metric",
            {
                "volume_anomaly": "leads",
                "overdue_followups": "overdue_open_leads",
                "source_freshness": "hours_since_last_load",
                "data_quality": "failed_check",
            }.get(rule_type, ""),
        )
        overrides = entry.get("overrides") or {}
        if not isinstance(overrides, dict):
            raise ConfigError(f"{where}.overrides: must map dealer codes to settings")
        for dealer, override in overrides.items():
            if not isinstance(override or {}, dict):
                raise ConfigError(f"{where}.overrides.{dealer}: must be a mapping")
            for key, value in (override or {}).items():
                if key not in allowed or key in NOT_OVERRIDABLE:
                    raise ConfigError(f"{where}.overrides.{dealer}.{key}: unknown setting")
                _check(f"{where}.overrides.{dealer}", key, value)
        rules.append(
            Rule(
                **_coerce(merged),
                overrides={str(k): dict(v or {}) for k, v in overrides.items()},
            )
        )
    return rules


def load_rules() -> list[Rule]:
    return parse_rules(load_yaml("alert_rules.yml"))

"""Alert rule configuration (``config/alert_rules.yml``), validated at load by pydantic models.

Every error names the file and the offending key, e.g. ``alert_rules.yml: rules[0].threshold:
Input should be a valid number``. ``defaults`` are group defaults for every rule (a key that
does not apply to a rule's type is ignored for it); ``overrides.<dealer_code>`` replaces
settings per dealer.

Rule types (``type``, default ``threshold``), one model each with only its settings:

``threshold`` (:class:`ThresholdRule`)
    ``metric`` of ``mart`` (default ``mart_funnel_monitoring``, dealer x period, all channels)
    per dealer, per complete ``period_grain`` period, ``below``/``above`` ``threshold`` in each
    of the last ``consecutive_periods``. On the funnel marts ``metric`` is one of their
    published columns (:data:`FUNNEL_COLUMNS`) and a period is judged only where the mart says
    it is complete (``is_period_complete``); a rate only where the mart says the cohort is
    mature for it (``is_<rate>_mature``) and the breach only where its Wilson bound is beyond
    the threshold (below: ``rate_<name>_upper < threshold``; above: ``_lower > threshold``).
    A rate whose point value is beyond the threshold but whose bound is not is noise: neither
    a breach nor a recovery. Rates are read from ``mart_funnel_monitoring`` only (it carries
    the bounds); counts may be split by ``dimensions`` of ``mart_funnel_conversion`` (e.g.
    ``[channel]``). On any other mart ``numerator``/``denominator`` columns make a ratio
    (periods with fewer than ``min_denominator`` are not judged), otherwise ``metric`` is
    aggregated with ``aggregate`` (sum, avg, min, max). ``period_column`` (default
    ``period_start``) names the period; a mart without ``period_grain`` is read as is.
``volume_anomaly`` (:class:`VolumeRule`)
    Leads per dealer and complete week against the dealer's own previous weeks:
    ``robust_z`` of ``marts.mart_volume_monitoring`` (median and MAD of the previous
    ``volume_history_weeks`` weeks, settings of ``funnel_settings.csv``, computed in dbt)
    ``below``/``above`` ``threshold`` (a z value, e.g. -3) in each of the last
    ``consecutive_periods`` judged weeks. Weeks without enough history are not judged.
``sla_breach`` (:class:`SlaBreachRule`)
    Breach rate (due - met) / due of an SLA per dealer per week from
    ``marts.mart_sla_compliance`` (``due_column``, ``met_column``, ``period_column``),
    above ``threshold``. Skipped (and reported) while the mart or a column is missing.
``overdue_followups`` (:class:`OverdueRule`)
    Open leads per dealer x grade past their grade's cadence: ``overdue_leads`` of
    ``marts.mart_followup_monitoring`` (computed in dbt from the grade history and the
    ``grade_<g>_max_days_between_contacts`` settings of the seed ``funnel_settings.csv``, as
    of the dealer's latest data, however old the lead), above ``threshold`` leads.
``source_freshness`` (:class:`FreshnessRule`)
    ``hours_since_last_load`` of ``marts.mart_source_freshness`` (dealer x source, computed in
    dbt from ``ops.load_batches``) above ``threshold`` hours; and a **source outage** there
    (``is_outage``: the latest extract of a configured API source for that dealer failed),
    whatever the hours. Sources never extracted (no Airflow Connection) and never loaded have
    no row, so they are not judged.
``data_quality`` (:class:`DataQualityRule`)
    A failed check of the latest run of a quality gate (GX suites, dbt tests and models).
    Blocking failures are ``critical``, one episode each; the warnings of the latest runs are
    ONE ``warning`` digest episode (``include_warnings: false`` ignores them); ``info`` checks
    are report-only. Evaluated once per pipeline run, by
    ``funnel_transform`` (:data:`PIPELINE_TYPES`).

``suppression_hours``: a new episode of the same rule, dealer and subject within that many
hours of the previous episode's notification is recorded but not notified again.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from dealerfunnel.settings import ConfigError, StrictModel, config_error, load_yaml, validate

FUNNEL_MART = "mart_funnel_conversion"
MONITORING_MART = "mart_funnel_monitoring"
FUNNEL_MARTS = (MONITORING_MART, FUNNEL_MART)
# The published columns of marts.mart_funnel_conversion a threshold rule may watch. The rates
# are computed in dbt (DESIGN.md section 2); the alert code never holds their formulas.
FUNNEL_RATES = (
    "rate_potential_to_interested",
    "rate_interested_to_needs_defined",
    "rate_needs_defined_to_decision",
    "rate_decision_to_won",
    "rate_lead_to_won",
)
FUNNEL_COUNTS = (
    "leads_potential",
    "leads_interested",
    "leads_needs_defined",
    "leads_decision",
    "leads_won",
    "leads_lost",
)
FUNNEL_COLUMNS = (*FUNNEL_RATES, *FUNNEL_COUNTS)
IDENT_PATTERN = r"^[a-z_][a-z0-9_]*$"
SLA_COLUMNS = {
    "first_contact": ("first_contacts_due", "first_contacts_met"),
    "assignment": ("assignments_due", "assignments_met"),
}
# Settings that are fixed per rule: not in `defaults`, not in a dealer's `overrides`.
NOT_OVERRIDABLE = {
    "rule",
    "type",
    "overrides",
    "mart",
    "metric",
    "dimensions",
    "description",
}

Number = Annotated[float, Field(strict=True)]
NonNegative = Annotated[float, Field(strict=True, ge=0)]
PositiveInt = Annotated[int, Field(strict=True, ge=1)]
NonNegativeInt = Annotated[int, Field(strict=True, ge=0)]
Ident = Annotated[str, Field(pattern=IDENT_PATTERN)]
Direction = Literal["below", "above"]
Severity = Literal["info", "warning", "critical"]
Grain = Literal["week", "month", "quarter"]


class BaseRule(StrictModel):
    """Settings every rule type has."""

    rule: str
    severity: Severity = "warning"
    suppression_hours: NonNegative = 24.0
    description: str = ""
    overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("rule")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must be a non-empty name")
        return value

    def for_dealer(self, dealer_code: str):
        """The rule with the dealer's overrides (validated at load) applied."""
        override = self.overrides.get(dealer_code)
        return self.model_copy(update=override) if override else self

    def breaches(self, value: float | None) -> bool:
        """``value`` beyond the threshold in the rule's direction (``above`` by default)."""
        threshold = getattr(self, "threshold", None)
        if value is None or threshold is None:
            return False
        return (
            value < threshold
            if getattr(self, "direction", "above") == "below"
            else value > threshold
        )


class ThresholdRule(BaseRule):
    type: Literal["threshold"] = "threshold"
    threshold: Number
    direction: Direction
    mart: Ident = MONITORING_MART
    denominator: Ident | None = None
    numerator: Ident | None = Field(default=None, validate_default=True)
    metric: str
    aggregate: Literal["sum", "avg", "min", "max"] = "sum"
    dimensions: tuple[Ident, ...] = ()
    period_grain: Grain = "week"
    period_column: Ident = "period_start"
    consecutive_periods: PositiveInt = 2
    min_denominator: NonNegativeInt = 0

    @field_validator("numerator")
    @classmethod
    def _numerator_with_denominator(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("denominator") and not value:
            raise ValueError("required with denominator")
        return value

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str, info: ValidationInfo) -> str:
        mart, numerator = info.data.get("mart"), info.data.get("numerator")
        if numerator:
            return value
        if mart in FUNNEL_MARTS and value not in FUNNEL_COLUMNS:
            raise ValueError(f"unknown metric {value!r}; one of {sorted(FUNNEL_COLUMNS)}")
        if mart == FUNNEL_MART and value in FUNNEL_RATES:
            raise ValueError(
                f"a rate is judged on marts.{MONITORING_MART} (it has the confidence bounds)"
            )
        if mart not in FUNNEL_MARTS and not re.match(IDENT_PATTERN, value):
            raise ValueError(f"must be a column of marts.{mart}, got {value!r}")
        return value

    @model_validator(mode="after")
    def _dimensions_exist(self) -> ThresholdRule:
        if self.mart == MONITORING_MART and self.dimensions:
            raise ValueError(
                f"marts.{MONITORING_MART} is per dealer (all channels); split counts by"
                f" dimensions on marts.{FUNNEL_MART}"
            )
        return self


class VolumeRule(BaseRule):
    type: Literal["volume_anomaly"] = "volume_anomaly"
    threshold: Number
    direction: Direction = "below"
    consecutive_periods: PositiveInt = 1

    metric: ClassVar[str] = "weekly_leads_robust_z"


class SlaBreachRule(BaseRule):
    type: Literal["sla_breach"] = "sla_breach"
    threshold: Number
    sla: Literal["first_contact", "assignment"] = "first_contact"
    due_column: Ident
    met_column: Ident
    period_column: Ident = "week_start"
    consecutive_periods: PositiveInt = 2
    min_denominator: NonNegativeInt = 0

    direction: ClassVar[str] = "above"
    mart: ClassVar[str] = "mart_sla_compliance"
    period_grain: ClassVar[str] = "week"
    dimensions: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _sla_columns(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("sla", "first_contact") in SLA_COLUMNS:
            due, met = SLA_COLUMNS[data.get("sla", "first_contact")]
            data = {"due_column": due, "met_column": met, **data}
        return data

    @property
    def metric(self) -> str:
        return f"{self.sla}_sla_breach_rate"


class OverdueRule(BaseRule):
    type: Literal["overdue_followups"] = "overdue_followups"
    threshold: Number
    grades: tuple[Literal["A", "B", "C", "D"], ...] = ("A", "B", "C", "D")

    metric: ClassVar[str] = "overdue_open_leads"


class FreshnessRule(BaseRule):
    type: Literal["source_freshness"] = "source_freshness"
    threshold: Number

    metric: ClassVar[str] = "hours_since_last_load"


class DataQualityRule(BaseRule):
    type: Literal["data_quality"] = "data_quality"
    include_warnings: Annotated[bool, Field(strict=True)] = True

    metric: ClassVar[str] = "failed_check"


RULE_MODELS: dict[str, type[BaseRule]] = {
    "threshold": ThresholdRule,
    "volume_anomaly": VolumeRule,
    "sla_breach": SlaBreachRule,
    "overdue_followups": OverdueRule,
    "source_freshness": FreshnessRule,
    "data_quality": DataQualityRule,
}
TYPES = tuple(RULE_MODELS)
# The data-quality rule judges the gate runs of the transform: it runs once per pipeline run,
# in funnel_transform (which runs it even when a gate fails); funnel_alerts runs the others.
PIPELINE_TYPES = ("data_quality",)
BUSINESS_TYPES = tuple(t for t in TYPES if t not in PIPELINE_TYPES)
Rule = Annotated[
    ThresholdRule | VolumeRule | SlaBreachRule | OverdueRule | FreshnessRule | DataQualityRule,
    Field(discriminator="type"),
]
RULE_ADAPTER: TypeAdapter[BaseRule] = TypeAdapter(Rule)


def _overridable(model: type[BaseRule]) -> set[str]:
    return set(model.model_fields) - NOT_OVERRIDABLE


def _defaults_model() -> type[StrictModel]:
    """Every overridable setting of any rule type (except ``threshold``), all optional."""
    fields: dict[str, Any] = {}
    for model in RULE_MODELS.values():
        for name in sorted(_overridable(model) - {"threshold"} - set(fields)):
            fields[name] = (model.model_fields[name].rebuild_annotation() | None, None)
    return create_model("RuleDefaults", __base__=StrictModel, **fields)


RuleDefaults = _defaults_model()


class AlertRulesFile(StrictModel):
    """The file's sections; rules are validated one by one (defaults merged first)."""

    defaults: dict[str, Any] = Field(default_factory=dict)
    rules: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("defaults", "rules", mode="before")
    @classmethod
    def _empty_is_default(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return {} if info.field_name == "defaults" else []
        return value


def _parse_rule(entry: Any, where: str, defaults: dict[str, Any], source: str) -> BaseRule:
    if not isinstance(entry, dict):
        raise ConfigError(f"{source}: {where}: must be a mapping")
    rule_type = entry.get("type", "threshold")
    if rule_type not in RULE_MODELS:
        raise ConfigError(f"{source}: {where}.type: must be one of {TYPES}, got {rule_type!r}")
    model = RULE_MODELS[rule_type]
    applicable = {k: v for k, v in defaults.items() if k in model.model_fields}
    merged = {**applicable, **entry, "type": rule_type}
    merged.pop("overrides", None)
    try:
        rule = RULE_ADAPTER.validate_python(merged)
    except ValidationError as exc:
        raise config_error(exc, source, where, tags=TYPES) from None
    overrides = _parse_overrides(model, merged, entry.get("overrides"), where, source)
    return rule.model_copy(update={"overrides": overrides})


def _parse_overrides(
    model: type[BaseRule], merged: dict[str, Any], raw: Any, where: str, source: str
) -> dict[str, dict[str, Any]]:
    """Each dealer's override, checked by validating the rule with it applied."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: {where}.overrides: must map dealer codes to settings")
    overrides: dict[str, dict[str, Any]] = {}
    for dealer, override in raw.items():
        at = f"{where}.overrides.{dealer}"
        if not isinstance(override or {}, dict):
            raise ConfigError(f"{source}: {at}: must be a mapping")
        for key in override or {}:
            if key not in _overridable(model):
                raise ConfigError(f"{source}: {at}.{key}: unknown setting")
        dealer_rule = validate(model, {**merged, **(override or {})}, source, at)
        overrides[str(dealer)] = {k: getattr(dealer_rule, k) for k in override or {}}
    return overrides


def parse_rules(data: dict[str, Any], source: str = "alert_rules.yml") -> list[BaseRule]:
    parsed: AlertRulesFile = validate(AlertRulesFile, data, source)
    defaults = validate(RuleDefaults, parsed.defaults, source, "defaults")
    defaults_set = defaults.model_dump(exclude_unset=True)
    rules: list[BaseRule] = []
    seen: set[str] = set()
    for i, entry in enumerate(parsed.rules):
        rule = _parse_rule(entry, f"rules[{i}]", defaults_set, source)
        if rule.rule in seen:
            raise ConfigError(f"{source}: rules[{i}].rule: duplicate rule name {rule.rule!r}")
        seen.add(rule.rule)
        rules.append(rule)
    return rules


def load_rules() -> list[BaseRule]:
    return parse_rules(load_yaml("alert_rules.yml"))

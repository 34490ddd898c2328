"""``config/quality.yml``: how dbt results map onto blocking/warning, the WAP schemas, and
whether the raw gate validates every row or only the new load batches.

Validated by pydantic models; an error names the file and the key, e.g. ``quality.yml:
dbt_tests.fail: Input should be 'blocking', 'warning' or 'ignore', got 'fatal'``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from dealerfunnel.settings import ConfigError, StrictModel, load_yaml, validate

GateSeverity = Literal["blocking", "warning", "ignore"]
SchemaName = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$")]


class DbtTestsSpec(StrictModel):
    fail: GateSeverity = "blocking"
    warn: GateSeverity = "warning"
    error: GateSeverity = "blocking"


class DbtModelsSpec(StrictModel):
    error: GateSeverity = "blocking"


class WapSpec(StrictModel):
    candidate_schema: SchemaName = "marts_candidate"
    previous_schema: SchemaName = "marts_previous"
    lock_timeout: str = "30s"

    @field_validator("lock_timeout", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value


class RawGateSpec(StrictModel):
    full: bool = False  # true: validate every raw row on every run, not only the new batches


class QualityFile(StrictModel):
    dbt_tests: DbtTestsSpec = DbtTestsSpec()
    dbt_models: DbtModelsSpec = DbtModelsSpec()
    wap: WapSpec = WapSpec()
    raw_gate: RawGateSpec = RawGateSpec()


@dataclass(frozen=True)
class QualityConfig:
    dbt_tests: dict[str, str] = field(
        default_factory=lambda: DbtTestsSpec().model_dump(by_alias=True)
    )
    dbt_models: dict[str, str] = field(
        default_factory=lambda: DbtModelsSpec().model_dump(by_alias=True)
    )
    candidate_schema: str = "marts_candidate"
    previous_schema: str = "marts_previous"
    lock_timeout: str = "30s"
    raw_gate_full: bool = False


def parse_quality_config(data: dict[str, Any], source: str = "quality.yml") -> QualityConfig:
    parsed: QualityFile = validate(QualityFile, data, source)
    wap = parsed.wap
    if wap.candidate_schema in ("marts", wap.previous_schema):
        raise ConfigError(f"{source}: wap.candidate_schema: must differ from marts and previous")
    return QualityConfig(
        dbt_tests=parsed.dbt_tests.model_dump(by_alias=True),
        dbt_models=parsed.dbt_models.model_dump(by_alias=True),
        candidate_schema=wap.candidate_schema,
        previous_schema=wap.previous_schema,
        lock_timeout=wap.lock_timeout,
        raw_gate_full=parsed.raw_gate.full,
    )


def load_quality_config() -> QualityConfig:
    try:
        data = load_yaml("quality.yml")
    except ConfigError as exc:
        if "not found" in str(exc):
            return QualityConfig()
        raise
    return parse_quality_config(data)

"""``config/quality.yml``: how dbt results map onto blocking/warning, and the WAP schemas."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from dealerfunnel.settings import ConfigError, load_yaml

SECTIONS = {
    "dbt_tests": {"fail", "warn", "error"},
    "dbt_models": {"error"},
    "source_freshness": {"warn", "error", "runtime error"},
}
WAP_KEYS = {"candidate_schema", "previous_schema", "lock_timeout"}
IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class QualityConfig:
    dbt_tests: dict[str, str] = field(
        default_factory=lambda: {"fail": "blocking", "warn": "warning", "error": "blocking"}
    )
    dbt_models: dict[str, str] = field(default_factory=lambda: {"error": "blocking"})
    source_freshness: dict[str, str] = field(
        default_factory=lambda: {"warn": "warning", "error": "warning", "runtime error": "warning"}
    )
    candidate_schema: str = "marts_candidate"
    previous_schema: str = "marts_previous"
    lock_timeout: str = "30s"


def parse_quality_config(data: dict[str, Any], source: str = "quality.yml") -> QualityConfig:
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key == "wap":
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: wap: must be a mapping")
            for wkey, wvalue in value.items():
                if wkey not in WAP_KEYS:
                    raise ConfigError(f"{source}: wap.{wkey}: unknown setting")
                if wkey.endswith("_schema") and not IDENT.match(str(wvalue)):
                    raise ConfigError(f"{source}: wap.{wkey}: not a schema name: {wvalue!r}")
                kwargs[wkey] = str(wvalue)
            continue
        if key not in SECTIONS:
            raise ConfigError(f"{source}: {key}: unknown section")
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: {key}: must be a mapping")
        mapping = dict(QualityConfig.__dataclass_fields__[key].default_factory())
        for status, severity in value.items():
            if status not in SECTIONS[key]:
                raise ConfigError(f"{source}: {key}.{status}: unknown status")
            if severity not in ("blocking", "warning", "ignore"):
                raise ConfigError(
                    f"{source}: {key}.{status}: must be blocking, warning or ignore, "
                    f"got {severity!r}"
                )
            mapping[status] = severity
        kwargs[key] = mapping
    config = QualityConfig(**kwargs)
    if config.candidate_schema in ("marts", config.previous_schema):
        raise ConfigError(f"{source}: wap.candidate_schema: must differ from marts and previous")
    return config


def load_quality_config() -> QualityConfig:
    try:
        data = load_yaml("quality.yml")
    except ConfigError as exc:
        if "not found" in str(exc):
            return QualityConfig()
        raise
    return parse_quality_config(data)

"""Run Great Expectations checkpoints over warehouse tables.

Suites are declared as YAML in ``expectations/<suite>.yml`` (the GX wire format of an
expectation, ``type`` + ``kwargs``, plus our ``severity``)::

    suite: raw_dealer_export__leads
    table: raw.dealer_export__leads
    expectations:
      - type: expect_column_values_to_not_be_null
        kwargs: {column: lead_id}
        severity: blocking     # blocking (default) fails the gate; warning only reports

The GX file context lives under ``<data_dir>/gx`` (run state, not source). The datasource's
connection string is stored there as ``${GX_WAREHOUSE_URL}`` and resolved from the
environment at run time, so no credential is written to disk. Data Docs are rebuilt on every
run. A suite file with an unknown expectation type or a bad severity raises ``ConfigError``
naming the file and the entry.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dealerfunnel.settings import ConfigError, data_dir, expectations_dir
from dealerfunnel.warehouse.connection import to_libpq

log = logging.getLogger(__name__)

SEVERITIES = ("blocking", "warning")
DATASOURCE = "warehouse"


class QualityGateFailed(RuntimeError):
    """At least one blocking expectation failed; the message lists them."""


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    schema: str
    table: str
    expectations: list[dict[str, Any]]
    path: Path


@dataclass
class GateResult:
    success: bool
    blocking_failures: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    evaluated: int = 0
    data_docs_index: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "success": self.success,
            "blocking_failures": self.blocking_failures,
            "warnings": self.warnings,
            "evaluated": self.evaluated,
            "data_docs_index": self.data_docs_index,
        }


def load_suite_specs(names: list[str] | None = None, folder: Path | None = None) -> list[SuiteSpec]:
    """Read and validate suite YAML files (all of them, or those named)."""
    import great_expectations.expectations as gxe

    folder = folder or expectations_dir()
    paths = sorted(folder.glob("*.yml"))
    specs: list[SuiteSpec] = []
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        name = data.get("suite")
        if names is not None and name not in names:
            continue
        for key in ("suite", "table", "expectations"):
            if not data.get(key):
                raise ConfigError(f"{path.name}: missing key '{key}'")
        schema, _, table = str(data["table"]).partition(".")
        if not table:
            raise ConfigError(f"{path.name}: table must be 'schema.table', got {data['table']!r}")
        for i, exp in enumerate(data["expectations"]):
            where = f"{path.name}: expectations[{i}]"
            type_ = exp.get("type", "")
            if not hasattr(gxe, _camel(type_)):
                raise ConfigError(f"{where}.type: unknown expectation {type_!r}")
            if exp.get("severity", "blocking") not in SEVERITIES:
                raise ConfigError(f"{where}.severity: must be one of {SEVERITIES}")
            if not isinstance(exp.get("kwargs", {}), dict):
                raise ConfigError(f"{where}.kwargs: must be a mapping")
        specs.append(SuiteSpec(name, schema, table, list(data["expectations"]), path))
    if names is not None:
        missing = set(names) - {s.name for s in specs}
        if missing:
            raise ConfigError(f"no suite file in {folder} defines {sorted(missing)}")
    return specs


def _camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def _gx_url(url: str) -> str:
    return "postgresql+psycopg2://" + to_libpq(url).partition("://")[2]


def run_gate(url: str, suite_names: list[str], *, checkpoint_name: str) -> GateResult:
    """Validate the named suites in one checkpoint, rebuild Data Docs, and classify failures.

    Returns the result; the caller decides whether to raise :class:`QualityGateFailed`
    (``result.success`` is False only when a *blocking* expectation failed).
    """
    import great_expectations as gx
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    specs = load_suite_specs(suite_names)
    os.environ["GX_WAREHOUSE_URL"] = _gx_url(url)
    root = data_dir() / "gx"
    root.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(root))
    datasource = context.data_sources.add_or_update_postgres(
        name=DATASOURCE, connection_string="${GX_WAREHOUSE_URL}"
    )
    validations = []
    severity_by_suite: dict[str, list[str]] = {}
    for spec in specs:
        asset_name = f"{spec.schema}.{spec.table}"
        try:
            asset = datasource.get_asset(asset_name)
        except LookupError:
            asset = datasource.add_table_asset(
                name=asset_name, table_name=spec.table, schema_name=spec.schema
            )
        try:
            batch = asset.get_batch_definition("whole_table")
        except (LookupError, KeyError):
            batch = asset.add_batch_definition_whole_table("whole_table")
        suite = ExpectationSuite(name=spec.name)
        severities = []
        for exp in spec.expectations:
            severity = exp.get("severity", "blocking")
            severities.append(severity)
            suite.add_expectation_configuration(
                ExpectationConfiguration(
                    type=exp["type"],
                    kwargs=dict(exp.get("kwargs") or {}),
                    meta={"severity": severity, "notes": exp.get("notes", "")},
                )
            )
        suite = context.suites.add_or_update(suite)
        severity_by_suite[spec.name] = severities
        validations.append(
            context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=spec.name, data=batch, suite=suite)
            )
        )
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=checkpoint_name,
            validation_definitions=validations,
            actions=[gx.checkpoint.UpdateDataDocsAction(name="update_data_docs")],
        )
    )
    outcome = checkpoint.run()
    result = GateResult(success=True)
    for run_result in outcome.run_results.values():
        suite_name = run_result.suite_name
        for er in run_result.results:
            result.evaluated += 1
            if er.success:
                continue
            config = er.expectation_config
            failure = {
                "suite": suite_name,
                "expectation": config.type,
                "kwargs": {k: v for k, v in config.kwargs.items() if k != "batch_id"},
                "severity": (config.meta or {}).get("severity", "blocking"),
                "observed": _observed(er.result),
            }
            if failure["severity"] == "blocking":
                result.blocking_failures.append(failure)
                result.success = False
            else:
                result.warnings.append(failure)
    sites = context.get_docs_sites_urls()
    result.data_docs_index = sites[0]["site_url"] if sites else None
    log.info(
        "GX checkpoint %s: %d expectations, %d blocking failures, %d warnings; Data Docs %s",
        checkpoint_name,
        result.evaluated,
        len(result.blocking_failures),
        len(result.warnings),
        result.data_docs_index,
    )
    return result


def _observed(result: dict[str, Any]) -> Any:
    for key in ("observed_value", "unexpected_percent", "unexpected_count"):
        if result.get(key) is not None:
            value = result[key]
            return value if isinstance(value, int | float | str) else str(value)
    return None

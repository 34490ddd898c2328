"""Run Great Expectations checkpoints over warehouse tables.

Suites are declared as YAML in ``expectations/<suite>.yml`` (the GX wire format of an
expectation, ``type`` + ``kwargs``, plus our ``severity``)::

    suite: raw_dealer_export__leads
    table: raw.dealer_export__leads
    required: true          # default; false = a missing table is skipped and reported
    skip_when_empty: false  # true = on an empty table only table-level expectations run
    expectations:
      - type: expect_column_values_to_not_be_null
        kwargs: {column: lead_id}
        severity: blocking     # blocking (default) fails the gate; warning alerts (one digest
                               # per run); info is report-only (run summary, Data Docs)
      - type: expect_column_values_to_not_be_null
        kwargs: {column: assigned_at, mostly: 0.8}
        severity: warning

A kwarg written ``now``, ``now-<N>h``, ``now-<N>d`` or ``now-<N>m`` (minutes) is resolved to
an ISO timestamp (UTC) when the gate runs. Freshness is not checked here: it has one home,
the dbt model ``mart_source_freshness``, read by the ``source_freshness`` alert rule. Mart
suites hold only what dbt's tests and enforced contracts do not already assert (row counts,
value ranges, cross-column checks); so do raw suites, against dbt's source tests.

``row_filter`` limits the row-level expectations to some rows of each table (the raw gate:
the rows of the load batches it has not passed yet, :mod:`dealerfunnel.quality.tasks`); the
table-level ones (:data:`TABLE_LEVEL`: columns, row counts) still see the whole table. A table
with no such row is not validated at all (nothing in it changed since the gate that passed it).

The GX file context lives under ``<data_dir>/gx`` (run state, not source). The datasource's
connection string is stored there as ``${GX_WAREHOUSE_URL}`` and resolved from the
environment at run time, so no credential is written to disk. Data Docs are rebuilt on every
run. A suite file with an unknown expectation type or a bad severity raises ``ConfigError``
naming the file and the entry.

``schema_map`` validates a suite against another schema than the one it names (write-audit-
publish validates ``marts`` suites against the candidate schema). The suite folder is
``expectations/`` or ``$DEALERFUNNEL_EXPECTATIONS_DIR``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from psycopg import sql

from dealerfunnel.settings import ConfigError, data_dir, expectations_dir
from dealerfunnel.warehouse.connection import connect, to_libpq

log = logging.getLogger(__name__)

SEVERITIES = ("blocking", "warning", "info")
DATASOURCE = "warehouse"
SUITE_KEYS = {"suite", "table", "expectations", "required", "skip_when_empty", "description"}
EXPECTATION_KEYS = {"type", "kwargs", "severity", "notes"}
# Expectations that still make sense on an empty table (skip_when_empty keeps them).
TABLE_LEVEL = {
    "expect_table_row_count_to_be_between",
    "expect_table_row_count_to_equal",
    "expect_table_columns_to_match_set",
    "expect_table_columns_to_match_ordered_list",
    "expect_table_column_count_to_be_between",
    "expect_table_column_count_to_equal",
    "expect_column_to_exist",
}
RELATIVE_TIME = re.compile(r"^now(?:-(\d+(?:\.\d+)?)([mhd]))?$")
UNITS = {"m": "minutes", "h": "hours", "d": "days"}


class QualityGateFailed(RuntimeError):
    """At least one blocking expectation failed; the message lists them."""


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    schema: str
    table: str
    expectations: list[dict[str, Any]]
    path: Path
    required: bool = True
    skip_when_empty: bool = False


@dataclass(frozen=True)
class CheckFailure:
    """One failed check; stored in :class:`GateResult` (and ``ops.quality_failures``) as a dict."""

    source: str
    suite: str
    expectation: str
    check_name: str
    check_key: str
    kwargs: dict[str, Any]
    severity: str
    observed: Any = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class GateResult:
    success: bool
    blocking_failures: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    evaluated: int = 0
    data_docs_index: str | None = None
    skipped: list[dict[str, Any]] = field(default_factory=list)
    # ``info``: expected conditions (an unregistered dealer, an optional column mostly empty),
    # reported in the run summary and Data Docs, never recorded as a failure nor alerted.
    infos: list[dict[str, Any]] = field(default_factory=list)

    def add_failure(self, failure: CheckFailure | dict[str, Any]) -> None:
        if isinstance(failure, CheckFailure):
            failure = failure.as_dict()
        if failure["severity"] == "blocking":
            self.blocking_failures.append(failure)
            self.success = False
        elif failure["severity"] == "info":
            self.infos.append(failure)
        else:
            self.warnings.append(failure)

    def merge(self, other: GateResult) -> GateResult:
        return GateResult(
            success=self.success and other.success,
            blocking_failures=self.blocking_failures + other.blocking_failures,
            warnings=self.warnings + other.warnings,
            evaluated=self.evaluated + other.evaluated,
            data_docs_index=self.data_docs_index or other.data_docs_index,
            skipped=self.skipped + other.skipped,
            infos=self.infos + other.infos,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "success": self.success,
            "blocking_failures": self.blocking_failures,
            "warnings": self.warnings,
            "evaluated": self.evaluated,
            "data_docs_index": self.data_docs_index,
            "skipped": self.skipped,
            "infos": self.infos,
        }


@dataclass(frozen=True)
class SuiteRun:
    """A suite to validate: the table it runs against (after ``schema_map``) and its checks."""

    spec: SuiteSpec
    schema: str
    table: str
    expectations: list[dict[str, Any]]
    # ``select`` of the rows the row-level expectations check (None: the whole table); the
    # table-level ones (TABLE_LEVEL: columns, row counts) always see the whole table
    rows_query: str | None = None

    @property
    def qualified_table(self) -> str:
        return f"{self.schema}.{self.table}"

    def parts(self) -> list[tuple[str, str | None, list[dict[str, Any]]]]:
        """``(validation name, rows query or None, expectations)`` to validate: one part on
        the whole table, or, with a rows query, the table-level expectations on the whole
        table and the row-level ones on the rows."""
        if self.rows_query is None:
            return [(self.spec.name, None, self.expectations)]
        table_level = [e for e in self.expectations if e["type"] in TABLE_LEVEL]
        row_level = [e for e in self.expectations if e["type"] not in TABLE_LEVEL]
        parts = [
            (self.spec.name, None, table_level),
            (f"{self.spec.name}.rows", self.rows_query, row_level),
        ]
        return [part for part in parts if part[2]]


def suites_folder() -> Path:
    value = os.environ.get("DEALERFUNNEL_EXPECTATIONS_DIR")
    return Path(value).expanduser().resolve() if value else expectations_dir()


def load_suite_specs(names: list[str] | None = None, folder: Path | None = None) -> list[SuiteSpec]:
    """Read and validate suite YAML files (all of them, or those named)."""
    folder = folder or suites_folder()
    specs: list[SuiteSpec] = []
    seen: dict[str, Path] = {}
    for path in sorted(folder.glob("*.yml")):
        data = _read_suite_file(path)
        name = data.get("suite")
        if names is not None and name not in names:
            continue
        _check_suite(path, data, seen)
        seen[name] = path
        specs.append(_suite_spec(path, data))
    if names is not None:
        missing = set(names) - {s.name for s in specs}
        if missing:
            raise ConfigError(f"no suite file in {folder} defines {sorted(missing)}")
    return specs


def _read_suite_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path.name}: top level must be a mapping")
    return data


def _check_suite(path: Path, data: dict[str, Any], seen: dict[str, Path]) -> None:
    """Raise :class:`ConfigError` naming the file and the entry for anything malformed."""
    for key in data:
        if key not in SUITE_KEYS:
            raise ConfigError(f"{path.name}: {key}: unknown key")
    for key in ("suite", "table", "expectations"):
        if not data.get(key):
            raise ConfigError(f"{path.name}: missing key '{key}'")
    name = data["suite"]
    if name in seen:
        raise ConfigError(f"{path.name}: suite: {name!r} already defined in {seen[name].name}")
    if not str(data["table"]).partition(".")[2]:
        raise ConfigError(f"{path.name}: table must be 'schema.table', got {data['table']!r}")
    for key in ("required", "skip_when_empty"):
        if not isinstance(data.get(key, False), bool):
            raise ConfigError(f"{path.name}: {key}: must be true or false")
    for i, exp in enumerate(data["expectations"]):
        _check_expectation(f"{path.name}: expectations[{i}]", exp)


def _check_expectation(where: str, exp: Any) -> None:
    import great_expectations.expectations as gxe

    if not isinstance(exp, dict):
        raise ConfigError(f"{where}: must be a mapping")
    for key in exp:
        if key not in EXPECTATION_KEYS:
            raise ConfigError(f"{where}.{key}: unknown key")
    type_ = exp.get("type", "")
    if not hasattr(gxe, _camel(type_)):
        raise ConfigError(f"{where}.type: unknown expectation {type_!r}")
    if exp.get("severity", "blocking") not in SEVERITIES:
        raise ConfigError(f"{where}.severity: must be one of {SEVERITIES}")
    if not isinstance(exp.get("kwargs", {}), dict):
        raise ConfigError(f"{where}.kwargs: must be a mapping")


def _suite_spec(path: Path, data: dict[str, Any]) -> SuiteSpec:
    schema, _, table = str(data["table"]).partition(".")
    return SuiteSpec(
        data["suite"],
        schema,
        table,
        list(data["expectations"]),
        path,
        required=data.get("required", True),
        skip_when_empty=data.get("skip_when_empty", False),
    )


def suite_names_for_schema(schema: str, folder: Path | None = None) -> list[str]:
    """Names of every suite whose table lives in ``schema`` (e.g. all raw or all mart suites)."""
    return [s.name for s in load_suite_specs(folder=folder) if s.schema == schema]


def _camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def _gx_url(url: str) -> str:
    return "postgresql+psycopg2://" + to_libpq(url).partition("://")[2]


def resolve_kwargs(kwargs: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Replace relative times (``now-48h``) by ISO timestamps."""
    resolved = {}
    for key, value in kwargs.items():
        match = RELATIVE_TIME.match(value) if isinstance(value, str) else None
        if match:
            amount, unit = match.groups()
            delta = timedelta(**{UNITS[unit]: float(amount)}) if amount else timedelta()
            value = (now - delta).isoformat()
        resolved[key] = value
    return resolved


def check_key(source: str, suite: str, name: str, kwargs: dict[str, Any] | None = None) -> str:
    """A stable identifier of one check: the same check keeps its key from run to run."""
    # Computed from the kwargs as written in the suite (``now-48h``, not the resolved time).
    stable = {k: v for k, v in (kwargs or {}).items() if k != "batch_id"}
    digest = hashlib.sha1(  # noqa: S324 - an identifier, not security
        json.dumps(stable, sort_keys=True, default=str).encode()
    ).hexdigest()[:10]
    return f"{source}:{suite}:{name}:{digest}"


def describe_check(name: str, kwargs: dict[str, Any]) -> str:
    """Short human label: ``expect_column_values_to_not_be_null(lead_id)``."""
    cols = [
        str(kwargs[k])
        for k in ("column", "column_A", "column_B", "column_list")
        if kwargs.get(k) is not None
    ]
    return f"{name}({', '.join(cols)})" if cols else name


def _table_state(url: str, tables: set[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
    """Row presence per (schema, table): None = table missing, 0 = empty, 1 = has rows."""
    from psycopg import sql

    state: dict[tuple[str, str], int | None] = {}
    with connect(url) as conn:
        for schema, table in tables:
            exists = conn.execute("select to_regclass(%s)", (f'"{schema}"."{table}"',)).fetchone()
            if exists[0] is None:
                state[(schema, table)] = None
                continue
            row = conn.execute(
                sql.SQL("select exists (select 1 from {})").format(sql.Identifier(schema, table))
            ).fetchone()
            state[(schema, table)] = int(bool(row[0]))
    return state


def run_gate(
    url: str,
    suite_names: list[str],
    *,
    checkpoint_name: str,
    schema_map: dict[str, str] | None = None,
    folder: Path | None = None,
    now: datetime | None = None,
    row_filter: sql.Composable | None = None,
) -> GateResult:
    """Validate the named suites in one checkpoint, rebuild Data Docs, and classify failures.

    ``row_filter`` (a SQL condition on a table's rows, e.g. its ``_batch_id`` among the batches
    not gated yet) limits the row-level expectations to the rows it selects; a table with no
    such row is not validated. Without it every row is checked.

    Returns the result; the caller decides whether to raise :class:`QualityGateFailed`
    (``result.success`` is False only when a *blocking* expectation failed). A suite whose
    table does not exist is skipped and listed in ``result.skipped`` unless it is
    ``required``, in which case the missing table is a blocking failure.
    """
    now = now or datetime.now(UTC)
    specs = load_suite_specs(suite_names, folder=folder)
    result = GateResult(success=True)
    runnable = plan_suites(url, specs, schema_map or {}, result)
    if row_filter is not None:
        runnable = _limit_rows(url, runnable, row_filter)
    for skipped in result.skipped:
        log.warning("GX %s: suite %s skipped (%s)", checkpoint_name, skipped["suite"], skipped)
    if runnable:
        _validate(url, runnable, checkpoint_name, now, result)
    log.info(
        "GX checkpoint %s: %d expectations, %d blocking failures, %d warnings, %d skipped;"
        " Data Docs %s",
        checkpoint_name,
        result.evaluated,
        len(result.blocking_failures),
        len(result.warnings),
        len(result.skipped),
        result.data_docs_index,
    )
    return result


def plan_suites(
    url: str, specs: list[SuiteSpec], schema_map: dict[str, str], result: GateResult
) -> list[SuiteRun]:
    """The suites to validate; missing or empty tables are recorded in ``result``."""
    targets = {s.name: (schema_map.get(s.schema, s.schema), s.table) for s in specs}
    state = _table_state(url, set(targets.values()))
    runs = []
    for spec in specs:
        schema, table = targets[spec.name]
        run = _plan_suite(spec, schema, table, state[(schema, table)], result)
        if run is not None:
            runs.append(run)
    return runs


def _plan_suite(
    spec: SuiteSpec, schema: str, table: str, present: int | None, result: GateResult
) -> SuiteRun | None:
    qualified = f"{schema}.{table}"
    if present is None:
        if spec.required:
            result.add_failure(
                CheckFailure(
                    source="gate",
                    suite=spec.name,
                    expectation="table_exists",
                    check_name=f"table {qualified} exists",
                    check_key=check_key("gate", spec.name, "table_exists"),
                    kwargs={"table": qualified},
                    severity="blocking",
                    observed="missing",
                )
            )
        else:
            result.skipped.append(
                {"suite": spec.name, "table": qualified, "reason": "table missing"}
            )
        return None
    expectations = spec.expectations
    if present == 0 and spec.skip_when_empty:
        expectations = [e for e in expectations if e["type"] in TABLE_LEVEL]
        not_run = len(spec.expectations) - len(expectations)
        result.skipped.append(
            {
                "suite": spec.name,
                "table": qualified,
                "reason": f"table empty: {not_run} row-level expectations not run",
            }
        )
    return SuiteRun(spec, schema, table, expectations) if expectations else None


def _limit_rows(url: str, runs: list[SuiteRun], row_filter: sql.Composable) -> list[SuiteRun]:
    """``runs`` with their row-level expectations on the rows ``row_filter`` selects; a table
    without such a row is not validated: nothing in it changed since the gate that passed it
    (its table-level expectations run again with its next rows, and on every full gate).
    GX costs about 0.2 s per expectation whatever the rows, so a gate's cost follows the
    tables that received rows, not the number of suites."""
    limited = []
    unchanged = []
    with connect(url) as conn:
        for run in runs:
            table = sql.Identifier(run.schema, run.table)
            query = sql.SQL("select * from {} where {}").format(table, row_filter)
            # count(*), not exists(...): for an exists PostgreSQL plans a sequential scan that
            # stops at the first match, and with no match (or the new rows at the end of the
            # heap) reads the whole table: 11 s for 1,000,000 raw leads, against 10 ms for the
            # count through the _batch_id index
            (has_rows,) = conn.execute(
                sql.SQL("select count(*) > 0 from {} where {}").format(table, row_filter)
            ).fetchone()
            if has_rows:
                limited.append(replace(run, rows_query=query.as_string(conn)))
            else:
                unchanged.append(run.spec.name)
    if unchanged:
        log.info("GX: %d suite(s) with no new rows not validated: %s", len(unchanged), unchanged)
    return limited


def _validate(
    url: str, runs: list[SuiteRun], checkpoint_name: str, now: datetime, result: GateResult
) -> None:
    """Run one checkpoint over ``runs``, add its results to ``result`` and rebuild Data Docs."""
    import great_expectations as gx

    context, datasource = _gx_context(url)
    validations = [
        _validation_definition(context, datasource, run, part, now)
        for run in runs
        for part in run.parts()
    ]
    # The stored checkpoint of the last run is dropped unread: it may name validations whose
    # asset is gone (the datasource is rebuilt every run; an incremental run's ".rows" parts).
    store = context.checkpoint_store
    key = store.get_key(name=checkpoint_name, id=None)
    if store.has_key(key=key):
        store.remove_key(key=key)
    # No UpdateDataDocsAction: it rebuilds the site index once per validation (per suite), and
    # the index lists every stored result, so a gate's cost grew with suites x history. The
    # pages of this run's results and suites are built once below, with one index.
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(name=checkpoint_name, validation_definitions=validations, actions=[])
    )
    outcome = checkpoint.run()
    for run_result in outcome.run_results.values():
        for er in run_result.results:
            result.evaluated += 1
            if not er.success:
                result.add_failure(_gx_failure(run_result.suite_name, er))
    _build_data_docs(context, outcome)
    sites = context.get_docs_sites_urls()
    result.data_docs_index = sites[0]["site_url"] if sites else None


def _build_data_docs(context: Any, outcome: Any) -> None:
    """Data Docs pages of one checkpoint run (its validation results and suites), one index."""
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    identifiers: list[Any] = list(outcome.run_results)
    identifiers += [
        ExpectationSuiteIdentifier(name=name)
        for name in sorted({r.suite_name for r in outcome.run_results.values()})
    ]
    context.build_data_docs(resource_identifiers=identifiers)


def _gx_context(url: str) -> tuple[Any, Any]:
    """The GX file context under ``<data_dir>/gx`` and its warehouse datasource."""
    import great_expectations as gx

    os.environ["GX_WAREHOUSE_URL"] = _gx_url(url)
    root = data_dir() / "gx"
    root.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(root))
    datasource = context.data_sources.add_or_update_postgres(
        name=DATASOURCE, connection_string="${GX_WAREHOUSE_URL}"
    )
    return context, datasource


def _validation_definition(
    context: Any,
    datasource: Any,
    run: SuiteRun,
    part: tuple[str, str | None, list[dict[str, Any]]],
    now: datetime,
) -> Any:
    """One part of ``run`` (:meth:`SuiteRun.parts`): its expectations against the whole table,
    or against the rows of its query, registered in ``context``."""
    import great_expectations as gx

    name, rows_query, expectations = part
    asset_name = run.qualified_table if rows_query is None else f"{run.qualified_table}.rows"
    try:
        asset = datasource.get_asset(asset_name)
        if rows_query is not None and asset.query != rows_query:
            datasource.delete_asset(asset_name)
            raise LookupError(asset_name)
    except LookupError:
        if rows_query is None:
            asset = datasource.add_table_asset(
                name=asset_name, table_name=run.table, schema_name=run.schema
            )
        else:
            asset = datasource.add_query_asset(name=asset_name, query=rows_query)
    try:
        batch = asset.get_batch_definition("whole_table")
    except (LookupError, KeyError):
        batch = asset.add_batch_definition_whole_table("whole_table")
    suite = context.suites.add_or_update(_expectation_suite(run, name, expectations, now))
    return context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=name, data=batch, suite=suite)
    )


def _expectation_suite(
    run: SuiteRun, name: str, expectations: list[dict[str, Any]], now: datetime
) -> Any:
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    suite = ExpectationSuite(name=name)
    for exp in expectations:
        raw_kwargs = dict(exp.get("kwargs") or {})
        suite.add_expectation_configuration(
            ExpectationConfiguration(
                type=exp["type"],
                kwargs=resolve_kwargs(raw_kwargs, now),
                meta={
                    "severity": exp.get("severity", "blocking"),
                    "notes": exp.get("notes", ""),
                    "check_key": check_key("gx", run.spec.name, exp["type"], raw_kwargs),
                    "suite": run.spec.name,
                },
            )
        )
    return suite


def _gx_failure(suite_name: str, er: Any) -> CheckFailure:
    """A failed GX expectation result as a :class:`CheckFailure`."""
    config = er.expectation_config
    meta = config.meta or {}
    suite_name = meta.get("suite") or suite_name  # a suite's row part is "<suite>.rows" in GX
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
    return CheckFailure(
        source="gx",
        suite=suite_name,
        expectation=config.type,
        check_name=f"{suite_name}: {describe_check(config.type, kwargs)}",
        check_key=meta.get("check_key") or check_key("gx", suite_name, config.type, kwargs),
        kwargs=kwargs,
        severity=meta.get("severity", "blocking"),
        observed=_observed(er.result),
    )


def _observed(result: dict[str, Any]) -> Any:
    """What a failed expectation saw: its observed value, else the share of unexpected rows,
    else, for the distinct-value expectations (which report neither), the unexpected values
    themselves, sorted (GX lists at most 20, in no set order; the rest are counted), else their
    count."""
    for key in ("observed_value", "unexpected_percent"):
        if result.get(key) is not None:
            value = result[key]
            return value if isinstance(value, int | float | str) else str(value)
    listed = result.get("partial_unexpected_list")
    if listed:
        more = (result.get("unexpected_count") or 0) - len(listed)
        return "; ".join(sorted(map(str, listed))) + (f"; and {more} more" if more > 0 else "")
    return result.get("unexpected_count")


def record_quality_run(
    url: str, checkpoint: str, result: GateResult, *, run_id: str | None = None
) -> int:
    """Store a gate run and its failures in ``ops.quality_runs`` / ``ops.quality_failures``."""
    from psycopg.types.json import Jsonb

    with connect(url) as conn:
        (run_pk,) = conn.execute(
            """insert into ops.quality_runs (checkpoint, run_id, success, evaluated,
                   blocking_failures, warnings, skipped, data_docs_url)
               values (%s, %s, %s, %s, %s, %s, %s, %s) returning quality_run_id""",
            (
                checkpoint,
                run_id,
                result.success,
                result.evaluated,
                len(result.blocking_failures),
                len(result.warnings),
                Jsonb(result.skipped),
                result.data_docs_index,
            ),
        ).fetchone()
        for failure in result.blocking_failures + result.warnings:
            conn.execute(
                """insert into ops.quality_failures (quality_run_id, check_key, source, suite,
                       check_name, severity, observed, detail)
                   values (%s, %s, %s, %s, %s, %s, %s, %s)
                   on conflict do nothing""",
                (
                    run_pk,
                    failure["check_key"],
                    failure.get("source", "gx"),
                    failure.get("suite"),
                    failure.get("check_name") or failure.get("expectation"),
                    failure["severity"],
                    None if failure.get("observed") is None else str(failure["observed"]),
                    Jsonb(json.loads(json.dumps(failure, default=str))),
                ),
            )
    return run_pk

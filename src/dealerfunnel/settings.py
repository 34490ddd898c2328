"""Where the project's folders are, and the configuration files in them.

Nothing is located relative to this file: an installed package has no repository around it.
Every folder comes from an environment variable, with a documented default:

| variable | default | holds |
| --- | --- | --- |
| ``DEALERFUNNEL_HOME`` | the current working directory | the project checkout or image folder |
| ``DEALERFUNNEL_CONFIG_DIR`` | ``<home>/config`` | ``dealers.yml``, ``sources.yml``, ... |
| ``DEALERFUNNEL_DBT_PROJECT_DIR`` | ``<home>/dbt_project`` | the dbt project |
| ``DEALERFUNNEL_EXPECTATIONS_DIR`` | ``<home>/expectations`` | the GX suites as YAML |
| ``DEALERFUNNEL_DAGS_DIR`` | ``<home>/dags`` | the DAG files (for the CLI's in-process Airflow) |
| ``DEALERFUNNEL_PLUGINS_DIR`` | ``<home>/plugins`` | the Airflow plugins |
| ``DEALERFUNNEL_DATA_DIR`` | ``<home>/var`` | generated state: embedded PostgreSQL, Airflow home |
| ``LANDING_DIR`` | ``<data>/landing`` | dealer export files (a folder or an object-storage URL) |
| ``DEALERFUNNEL_REPORTS_DIR`` | ``<data>/reports`` | report pages |

The Makefile and the image set ``DEALERFUNNEL_HOME``; nothing here holds a credential.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

DEFAULT_TIMEZONE = "Asia/Shanghai"
# A dealer code (a landing folder's name, a key of dealers.yml, a reader's dealer): 1-32
# characters of A-Z, a-z, 0-9, "_" and "-", so a code is never more than a name.
DEALER_CODE_PATTERN = r"[A-Za-z0-9_-]{1,32}"
"""The time zone of a dealer that names none (dealers.yml ``defaults.timezone``)."""

CANONICAL_STAGES = ("potential", "interested", "needs_defined", "decision", "won")
CANONICAL_CODES = (*CANONICAL_STAGES, "lost")


class ConfigError(ValueError):
    """A configuration file or setting is invalid; the message names the offending key."""


# -- one way to report a pydantic validation error --------------------------------------------

_MESSAGE_PREFIXES = ("Value error, ", "Assertion failed, ")


def key_path(loc: tuple[str | int, ...]) -> str:
    """``("rules", 2, "threshold")`` -> ``rules[2].threshold``."""
    out = ""
    for part in loc:
        if part == "[key]":  # pydantic's marker for a mapping key that failed validation
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _error_message(error: Mapping[str, Any], at_top: bool, unknown: str) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown section" if at_top else unknown
    if error["type"] == "missing":
        return "required"
    message = str(error["msg"])
    for prefix in _MESSAGE_PREFIXES:
        message = message.removeprefix(prefix)
    if error["type"] not in ("value_error", "assertion_error") and "input" in error:
        shown = repr(error["input"])
        message += f", got {shown if len(shown) <= 60 else shown[:57] + '...'}"
    return message


def config_error(
    exc: ValidationError,
    source: str,
    prefix: str = "",
    *,
    unknown: str = "unknown setting",
    tags: tuple[str, ...] = (),
) -> ConfigError:
    """The :class:`ConfigError` for a pydantic error: ``<file>: <key path>: <message>``.

    ``prefix`` is the key path of the validated value inside the file (``rules[2]``);
    ``tags`` are the tags of a discriminated union whose member pydantic puts first in the
    location (not a key of the file). An unknown top-level key is an ``unknown section``, any
    other an ``unknown`` setting; a missing one is ``required``.
    """
    error = exc.errors()[0]
    loc = tuple(error["loc"])
    if loc and loc[0] in tags:
        loc = loc[1:]
    path = ".".join(p for p in (prefix, key_path(loc)) if p)
    message = _error_message(error, not prefix and len(loc) == 1, unknown)
    return ConfigError(f"{source}: {path}: {message}" if path else f"{source}: {message}")


def validate(model: type[BaseModel], data: Any, source: str, prefix: str = "", **kw: Any) -> Any:
    """``model.model_validate(data)``, raising :class:`ConfigError` via :func:`config_error`."""
    if not prefix and not isinstance(data, dict):
        raise ConfigError(f"{source}: top level must be a mapping")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, source, prefix, **kw) from None


class StrictModel(BaseModel):
    """Base of every configuration model: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _path_from_env(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def project_home() -> Path:
    """The folder holding ``config/``, ``dbt_project/``, ``expectations/`` and ``dags/``."""
    return _path_from_env("DEALERFUNNEL_HOME", Path.cwd())


def data_dir() -> Path:
    """Where the project keeps generated state (embedded PostgreSQL, Airflow home, reports)."""
    return _path_from_env("DEALERFUNNEL_DATA_DIR", project_home() / "var")


def landing_dir() -> Path | str:
    """The dealer CRM export landing location: ``<landing>/<dealer_code>/*.csv|*.xlsx``.

    A local folder, or an object-storage URL (``s3://bucket/prefix``, ``file:///...``) that
    the landing loader opens with Airflow's ``ObjectStoragePath``.
    """
    value = os.environ.get("LANDING_DIR", "")
    if "://" in value:
        return value
    return _path_from_env("LANDING_DIR", data_dir() / "landing")


def config_dir() -> Path:
    return _path_from_env("DEALERFUNNEL_CONFIG_DIR", project_home() / "config")


def reports_dir() -> Path:
    return _path_from_env("DEALERFUNNEL_REPORTS_DIR", data_dir() / "reports")


def dbt_project_dir() -> Path:
    return _path_from_env("DEALERFUNNEL_DBT_PROJECT_DIR", project_home() / "dbt_project")


def expectations_dir() -> Path:
    return _path_from_env("DEALERFUNNEL_EXPECTATIONS_DIR", project_home() / "expectations")


def dags_dir() -> Path:
    return _path_from_env("DEALERFUNNEL_DAGS_DIR", project_home() / "dags")


def plugins_dir() -> Path:
    return _path_from_env("DEALERFUNNEL_PLUGINS_DIR", project_home() / "plugins")


def load_yaml(name: str) -> dict[str, Any]:
    """Load ``config/<name>`` as a mapping, raising :class:`ConfigError` naming the file."""
    path = config_dir() / name
    try:
        with path.open(encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: configuration file not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    return data


@dataclass(frozen=True)
class Dealer:
    dealer_code: str
    dealer_name: str
    region: str
    brand: str
    timezone: str
    is_registered: bool = True
    manager: str | None = None  # who the assignment SLA is charged to (None: "(dealer)")


def _known_zone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


class DealerDefaults(StrictModel):
    region: str = "unassigned"
    brand: str = "unknown"
    timezone: str = DEFAULT_TIMEZONE

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _known_zone(value)


class DealerEntry(StrictModel):
    dealer_name: str | None = None
    manager: str | None = None
    region: str | None = None
    brand: str | None = None
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else _known_zone(value)


class DealersFile(StrictModel):
    defaults: DealerDefaults = DealerDefaults()
    dealers: dict[str, DealerEntry] = Field(default_factory=dict)

    @field_validator("defaults", "dealers", mode="before")
    @classmethod
    def _empty_is_default(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("dealers", mode="before")
    @classmethod
    def _codes_are_text(cls, value: Any) -> Any:
        return {str(k): v for k, v in value.items()} if isinstance(value, dict) else value

    @field_validator("dealers")
    @classmethod
    def _codes_are_dealer_codes(cls, value: dict[str, DealerEntry]) -> dict[str, DealerEntry]:
        for code in value:
            if not re.fullmatch(DEALER_CODE_PATTERN, code):
                raise ValueError(
                    f"dealer code {code[:80]!r} may only hold 1-32 of A-Z, a-z, 0-9, '_' and '-'"
                )
        return value


def load_dealer_registry() -> tuple[dict[str, Dealer], Dealer]:
    """Return the registered dealers by code, and the defaults for unregistered ones.

    ``config/dealers.yml`` (``defaults.timezone`` defaults to :data:`DEFAULT_TIMEZONE`)::

        defaults: {region: unassigned, brand: unknown}
        dealers:
          SH001: {dealer_name: ..., region: ..., brand: ..., timezone: ..., manager: ...}

    ``manager`` (optional) is the sales manager charged with the assignment SLA.
    """
    parsed: DealersFile = validate(DealersFile, load_yaml("dealers.yml"), "dealers.yml")
    defaults = parsed.defaults
    dealers = {
        code: Dealer(
            dealer_code=code,
            dealer_name=entry.dealer_name or code,
            region=entry.region or defaults.region,
            brand=entry.brand or defaults.brand,
            timezone=entry.timezone or defaults.timezone,
            manager=(entry.manager or "").strip() or None,
        )
        for code, entry in parsed.dealers.items()
    }
    fallback = Dealer(
        dealer_code="",
        dealer_name="",
        region=defaults.region,
        brand=defaults.brand,
        timezone=defaults.timezone,
        is_registered=False,
    )
    return dealers, fallback


# -- dbt seeds: the single home of the stage mapping and the funnel policy's settings ----------


def seed_path(name: str) -> Path:
    """``<dbt project>/seeds/<name>.csv``."""
    return dbt_project_dir() / "seeds" / f"{name}.csv"


def read_seed(name: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """The rows of a dbt seed whose header must be exactly ``columns``."""
    path = seed_path(name)
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if tuple(reader.fieldnames or ()) != columns:
                raise ConfigError(
                    f"{name}.csv: header must be {','.join(columns)}, got {reader.fieldnames}"
                )
            return list(reader)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: seed file not found") from exc


def load_stage_mapping() -> dict[str, dict[str, str]]:
    """Per-source vocabulary -> canonical stage code, from the dbt seed ``stage_mapping.csv``.

    Keys are trimmed and casefolded (callers compare case-insensitively after trimming, and
    accept a canonical code as is). A stage outside :data:`CANONICAL_CODES`, an empty source
    or word, or one word mapped to two stages is a :class:`ConfigError` naming the CSV row
    (row 1 is the header).
    """
    mapping: dict[str, dict[str, str]] = {}
    rows = read_seed("stage_mapping", ("source", "source_stage", "stage"))
    for line, row in enumerate(rows, start=2):
        where = f"stage_mapping.csv: row {line}"
        source, word = (row["source"] or "").strip(), (row["source_stage"] or "").strip()
        code = (row["stage"] or "").strip()
        if not source or not word:
            raise ConfigError(f"{where}: source and source_stage are required")
        if code not in CANONICAL_CODES:
            raise ConfigError(
                f"{where}: stage {code!r} is not canonical (one of {list(CANONICAL_CODES)})"
            )
        table = mapping.setdefault(source, {})
        key = word.casefold()
        if table.get(key, code) != code:
            raise ConfigError(
                f"{where}: {source} {word!r} maps to both {table[key]!r} and {code!r}"
            )
        table[key] = code
    return mapping


@dataclass(frozen=True)
class FunnelSettings:
    """The policy's settings (seed ``funnel_settings.csv``): group defaults and overrides."""

    group: dict[str, str]
    dealers: dict[str, dict[str, str]]

    def number(self, setting: str, dealer_code: str | None = None) -> float:
        """The dealer's override of ``setting``, else the group default, as a number."""
        value = self.dealers.get(dealer_code or "", {}).get(setting, self.group.get(setting))
        if value is None:
            raise ConfigError(f"funnel_settings.csv: no group default for {setting!r}")
        try:
            return float(value)
        except ValueError:
            raise ConfigError(
                f"funnel_settings.csv: {setting} ({dealer_code or 'group'}): "
                f"{value!r} is not a number"
            ) from None


def load_funnel_settings() -> FunnelSettings:
    """Read ``funnel_settings.csv``: an empty ``dealer_code`` is the group default."""
    group: dict[str, str] = {}
    dealers: dict[str, dict[str, str]] = {}
    for line, row in enumerate(
        read_seed("funnel_settings", ("dealer_code", "setting", "value")), 2
    ):
        setting = (row["setting"] or "").strip()
        if not setting:
            raise ConfigError(f"funnel_settings.csv: row {line}: setting is required")
        dealer = (row["dealer_code"] or "").strip()
        target = dealers.setdefault(dealer, {}) if dealer else group
        target[setting] = (row["value"] or "").strip()
    return FunnelSettings(group=group, dealers=dealers)


DEFAULT_CLOCK_SKEW_MINUTES = 10.0
"""How far a row timestamp may lie after the load time (clock drift between dealer systems)."""


def clock_skew_minutes(
    dealer_code: str | None = None, settings: FunnelSettings | None = None
) -> float:
    """``clock_skew_minutes`` of ``funnel_settings.csv``: the dealer's override, else the group
    default, else :data:`DEFAULT_CLOCK_SKEW_MINUTES`. A row timestamp later than the load time
    plus this many minutes is quarantined as in the future. :class:`ConfigError` when the
    value is not a number >= 0.
    """
    settings = settings if settings is not None else load_funnel_settings()
    setting = "clock_skew_minutes"
    if setting not in settings.dealers.get(dealer_code or "", {}) and setting not in settings.group:
        return DEFAULT_CLOCK_SKEW_MINUTES
    value = settings.number(setting, dealer_code)
    if not value >= 0:
        raise ConfigError(
            f"funnel_settings.csv: {setting} ({dealer_code or 'group'}): must be >= 0, got {value}"
        )
    return value


# -- config/landing.yml -----------------------------------------------------------------------

LANDING_FILE = "landing.yml"


class LandingOptions(StrictModel):
    """``config/landing.yml``: how ``dealer_exports_extract`` loads the landing folder."""

    parallel_dealer_folders: int = Field(default=2, ge=1, le=64)
    skip_unchanged_files: bool = True


def landing_options() -> LandingOptions:
    """``config/landing.yml``, validated; the defaults when the file does not exist (it was
    added after the first deployments). :class:`ConfigError` names an invalid key."""
    if not (config_dir() / LANDING_FILE).exists():
        return LandingOptions()
    return validate(LandingOptions, load_yaml(LANDING_FILE), LANDING_FILE)

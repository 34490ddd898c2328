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

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A configuration file or setting is invalid; the message names the offending key."""


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


def load_dealer_registry() -> tuple[dict[str, Dealer], Dealer]:
    """Return the registered dealers by code, and the defaults for unregistered ones.

    ``config/dealers.yml``::

        defaults: {region: unassigned, brand: unknown, timezone: Asia/Shanghai}
        dealers:
          SH001: {dealer_name: ..., region: ..., brand: ..., timezone: ...}
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    data = load_yaml("dealers.yml")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise ConfigError("dealers.yml: 'defaults' must be a mapping")
    default_tz = defaults.get("timezone", "Asia/Shanghai")
    dealers: dict[str, Dealer] = {}
    for code, entry in (data.get("dealers") or {}).items():
        key = f"dealers.yml: dealers.{code}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{key}: must be a mapping")
        unknown = set(entry) - {"dealer_name", "region", "brand", "timezone"}
        if unknown:
            raise ConfigError(f"{key}.{sorted(unknown)[0]}: unknown setting")
        tz = entry.get("timezone", default_tz)
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"{key}.timezone: unknown time zone {tz!r}") from exc
        dealers[str(code)] = Dealer(
            dealer_code=str(code),
            dealer_name=str(entry.get("dealer_name", code)),
            region=str(entry.get("region", defaults.get("region", "unassigned"))),
            brand=str(entry.get("brand", defaults.get("brand", "unknown"))),
            timezone=tz,
        )
    fallback = Dealer(
        dealer_code="",
        dealer_name="",
        region=str(defaults.get("region", "unassigned")),
        brand=str(defaults.get("brand", "unknown")),
        timezone=default_tz,
        is_registered=False,
    )
    return dealers, fallback


def load_stage_mapping() -> dict[str, dict[str, str]]:
    """Per-source vocabulary -> canonical stage code (``config/stage_mapping.yml``).

    Keys are compared case-insensitively after trimming. A canonical code is always accepted.
    """
    data = load_yaml("stage_mapping.yml")
    canonical = set(data.get("canonical_stages") or [])
    if canonical != set(CANONICAL_STAGES) | {"lost"}:
        raise ConfigError(
            f"stage_mapping.yml: canonical_stages must be exactly {[*CANONICAL_STAGES, 'lost']}"
        )
    mapping: dict[str, dict[str, str]] = {}
    for source, vocab in (data.get("sources") or {}).items():
        if not isinstance(vocab, dict):
            raise ConfigError(f"stage_mapping.yml: sources.{source} must be a mapping")
        table: dict[str, str] = {}
        for word, code in vocab.items():
            if code not in canonical:
                raise ConfigError(
                    f"stage_mapping.yml: sources.{source}.{word}: {code!r} is not a canonical stage"
                )
            table[str(word).strip().casefold()] = code
        mapping[str(source)] = table
    return mapping


CANONICAL_STAGES = ("potential", "interested", "needs_defined", "decision", "won")

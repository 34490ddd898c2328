"""Typed configuration: the dealer registry, the funnel settings seed, quality.yml, and the one
helper that turns a pydantic error into ``<file>: <key path>: <message>``."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dealerfunnel.quality.config import load_quality_config, parse_quality_config
from dealerfunnel.settings import (
    DEFAULT_TIMEZONE,
    ConfigError,
    StrictModel,
    config_error,
    key_path,
    load_dealer_registry,
    load_funnel_settings,
)


class _Inner(StrictModel):
    threshold: float


class _Outer(StrictModel):
    rules: list[_Inner]


def test_config_error_names_file_and_key_path():
    with pytest.raises(ValidationError) as info:
        _Outer.model_validate({"rules": [{"threshold": 1}, {"threshold": "low"}]})
    error = config_error(info.value, "alert_rules.yml")
    assert str(error).startswith("alert_rules.yml: rules[1].threshold: Input should be a valid")
    assert key_path(("recipients", "a", "channels", 0, "to")) == "recipients.a.channels[0].to"


def test_config_error_unknown_and_missing_keys():
    with pytest.raises(ValidationError) as info:
        _Outer.model_validate({"rules": [], "colour": 1})
    assert str(config_error(info.value, "x.yml")) == "x.yml: colour: unknown section"
    with pytest.raises(ValidationError) as info:
        _Outer.model_validate({"rules": [{"threshold": 1, "colour": 1}]})
    assert str(config_error(info.value, "x.yml")) == "x.yml: rules[0].colour: unknown setting"
    with pytest.raises(ValidationError) as info:
        _Outer.model_validate({"rules": [{}]})
    assert (
        str(config_error(info.value, "x.yml", "top")) == "x.yml: top.rules[0].threshold: required"
    )


def _dealers(tmp_path, monkeypatch, text: str) -> None:
    (tmp_path / "dealers.yml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("DEALERFUNNEL_CONFIG_DIR", str(tmp_path))


def test_committed_dealer_registry_and_default_time_zone(tmp_path, monkeypatch):
    registry, fallback = load_dealer_registry()
    assert registry["UR001"].timezone == "Asia/Urumqi"
    assert fallback.timezone == DEFAULT_TIMEZONE == "Asia/Shanghai"
    assert fallback.is_registered is False
    _dealers(tmp_path, monkeypatch, "dealers:\n  XX001: {region: East}\n")
    registry, fallback = load_dealer_registry()
    assert registry["XX001"].timezone == DEFAULT_TIMEZONE
    assert registry["XX001"].dealer_name == "XX001" and registry["XX001"].brand == "unknown"
    assert (fallback.region, fallback.brand) == ("unassigned", "unknown")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "dealers:\n  SH001: {colour: red}\n",
            "dealers.yml: dealers.SH001.colour: unknown setting",
        ),
        (
            "dealers:\n  SH001: {timezone: Mars/Base}\n",
            "dealers.yml: dealers.SH001.timezone: unknown time zone 'Mars/Base'",
        ),
        ("defaults: {timezone: Nowhere}\n", "dealers.yml: defaults.timezone: unknown time zone"),
        ("defaults: [1]\n", "dealers.yml: defaults: Input should be a valid dictionary"),
        ("dealers:\n  SH001: nope\n", "dealers.yml: dealers.SH001: Input should be a valid dict"),
        ("dealerz: {}\n", "dealers.yml: dealerz: unknown section"),
    ],
)
def test_bad_dealer_registry_names_file_and_key(tmp_path, monkeypatch, text, message):
    _dealers(tmp_path, monkeypatch, text)
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load_dealer_registry()


def test_funnel_settings_group_default_and_dealer_override(tmp_path, monkeypatch):
    settings = load_funnel_settings()
    assert settings.number("grade_a_max_days_between_contacts") == 3
    assert settings.number("grade_d_max_days_between_contacts", "SH001") == 90
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "funnel_settings.csv").write_text(
        "dealer_code,setting,value\n,grade_a_max_days_between_contacts,3\n"
        "GZ001,grade_a_max_days_between_contacts,2\n,label,abc\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("DEALERFUNNEL_DBT_PROJECT_DIR", str(tmp_path))
    settings = load_funnel_settings()
    assert settings.number("grade_a_max_days_between_contacts", "GZ001") == 2
    assert settings.number("grade_a_max_days_between_contacts", "SH001") == 3
    with pytest.raises(ConfigError, match=r"funnel_settings\.csv: no group default for 'nope'"):
        settings.number("nope")
    with pytest.raises(ConfigError, match=r"funnel_settings\.csv: label .group.: 'abc' is not a"):
        settings.number("label")


def test_committed_quality_config_is_valid():
    config = load_quality_config()
    assert config.dbt_tests["fail"] == "blocking"
    assert config.candidate_schema == "marts_candidate"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"dbt_tests": {"skip": "warning"}}, "quality.yml: dbt_tests.skip: unknown setting"),
        ({"dbt_tests": {"fail": "fatal"}}, "quality.yml: dbt_tests.fail: Input should be"),
        ({"dbt_tests": "x"}, "quality.yml: dbt_tests: Input should be"),
        ({"source_freshness": {"warn": "warning"}}, "quality.yml: source_freshness: unknown"),
        ({"wap": {"candidate_schema": "Bad-Name"}}, "quality.yml: wap.candidate_schema: String"),
        ({"wap": {"colour": 1}}, "quality.yml: wap.colour: unknown setting"),
        ({"wap": {"candidate_schema": "marts"}}, "quality.yml: wap.candidate_schema: must differ"),
        ({"checks": {}}, "quality.yml: checks: unknown section"),
    ],
)
def test_bad_quality_config_names_file_and_key(data, message):
    with pytest.raises(ConfigError, match=message):
        parse_quality_config(data)


def test_landing_options_defaults_file_and_errors(tmp_path, monkeypatch):
    from dealerfunnel.settings import landing_options

    assert landing_options().parallel_dealer_folders == 2  # the shipped config/landing.yml
    monkeypatch.setenv("DEALERFUNNEL_CONFIG_DIR", str(tmp_path))
    assert landing_options().model_dump() == {
        "parallel_dealer_folders": 2,
        "skip_unchanged_files": True,
    }  # no file: the defaults
    (tmp_path / "landing.yml").write_text("parallel_dealer_folders: 6\nskip_unchanged_files: no\n")
    assert landing_options().model_dump() == {
        "parallel_dealer_folders": 6,
        "skip_unchanged_files": False,
    }
    (tmp_path / "landing.yml").write_text("parallel_dealer_folders: 0\n")
    with pytest.raises(ConfigError, match=r"landing\.yml: parallel_dealer_folders"):
        landing_options()
    (tmp_path / "landing.yml").write_text("parallel_folders: 3\n")
    with pytest.raises(ConfigError, match="parallel_folders"):
        landing_options()

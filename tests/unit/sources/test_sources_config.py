"""config/sources.yml validation (errors name the file and key path) and Airflow Connections."""

from __future__ import annotations

from typing import ClassVar

import pytest

from dealerfunnel.sources import SourceConfigError
from dealerfunnel.sources import google_ads as gads
from dealerfunnel.sources.config import (
    SourceConnection,
    connection_from_airflow,
    load_source_settings,
)

# -- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "google_ads: missing"),
        ({"google_ads": {"conn_id": "g", "api_version": "22"}}, "google_ads.api_version"),
        (
            {"google_ads": {"conn_id": "g", "api_version": "v22", "dealers": {"SH001": {}}}},
            "sources.yml: google_ads.dealers.SH001.customer_id: field required",
        ),
        (
            {
                "google_ads": {
                    "conn_id": "g",
                    "api_version": "v22",
                    "dealers": {"SH001": {"customer_id": "123-456"}},
                }
            },
            "google_ads.dealers.SH001.customer_id",
        ),
        (
            {
                "google_ads": {
                    "conn_id": "g",
                    "api_version": "v22",
                    "dealers": {"SH001": {"customer_id": "1234567890", "pages": "1"}},
                }
            },
            "google_ads.dealers.SH001.pages: unknown setting",
        ),
    ],
)
def test_source_settings_errors_name_the_key(data, message):
    with pytest.raises(SourceConfigError, match=message):
        load_source_settings("google_ads", gads.Account, gads.Options, data)


def test_connection_from_airflow_and_secret_masking():
    class Conn:  # the attributes of an Airflow Connection that we read
        conn_id = "google_ads"
        host = "googleads.googleapis.com"
        schema = None
        port = None
        login = None
        password = None
        extra_dejson: ClassVar[dict] = {
            "developer_token": "dev-tok",
            "refresh_token": "r-tok",
            "api_version": "v22",
        }

    conn = connection_from_airflow(Conn())
    assert conn.base_url == "https://googleads.googleapis.com"
    assert set(conn.secrets()) == {"dev-tok", "r-tok"}
    assert "dev-tok" not in repr(conn)
    assert SourceConnection("x", "http://h").secrets() == []


# -- pydantic models: messages name the file and the key path ---------------------------------


def _meta(**section):
    return {"meta": {"conn_id": "meta_ads", "api_version": "v23.0", **section}}


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"dealers": {"SH001": {"ad_account_id": "act_1"}}},
            "sources.yml: meta.dealers.SH001.page_id: field required",
        ),
        (
            {"dealers": {"SH001": {"ad_account_id": "1", "page_id": "2"}}},
            "sources.yml: meta.dealers.SH001.ad_account_id: string should match pattern",
        ),
        (
            {"dealers": {"SH001": {"ad_account_id": "act_1", "page_id": True}}},
            "sources.yml: meta.dealers.SH001.page_id: input should be a valid string",
        ),
        (
            {"dealers": {"SH001": {"ad_account_id": "act_1", "page_id": "2", "form_ids": ["x"]}}},
            r"sources.yml: meta.dealers.SH001.form_ids\[0\]: string should match pattern .* "
            r"\(got 'x'\)",
        ),
        (
            {"dealers": {"sh001": {"ad_account_id": "act_1", "page_id": "2"}}},
            "sources.yml: meta.dealers.sh001: string should match pattern",
        ),
        ({"options": {"page_limit": 5}}, "sources.yml: meta.options.page_limit: unknown setting"),
        (
            {"options": {"backfill_days": 0}},
            "sources.yml: meta.options.backfill_days: input should be greater than or equal to 1",
        ),
        ({"options": {"start_date": "May 4"}}, "sources.yml: meta.options.start_date: input"),
        ({"options": "fast"}, "sources.yml: meta.options: input should be a valid dictionary"),
        ({"timeout": 3}, "sources.yml: meta.timeout: unknown setting"),
        ({"conn_id": "meta ads"}, "sources.yml: meta.conn_id: string should match pattern"),
    ],
)
def test_settings_errors_name_the_file_and_key_path(section, message):
    from dealerfunnel.sources import meta

    with pytest.raises(SourceConfigError, match=message):
        load_source_settings("meta", meta.Account, meta.Options, _meta(**section))


def test_ids_written_as_numbers_are_accepted_as_text_and_unset_keys_left_out():
    from dealerfunnel.sources import meta

    data = _meta(dealers={"SH001": {"ad_account_id": "act_1", "page_id": 200, "form_ids": [7]}})
    data["meta"]["dealers"]["GZ001"] = {"ad_account_id": "act_2", "page_id": "3"}
    settings = load_source_settings("meta", meta.Account, meta.Options, data)
    assert settings.dealers == {
        "SH001": {"ad_account_id": "act_1", "page_id": "200", "form_ids": ["7"]},
        "GZ001": {"ad_account_id": "act_2", "page_id": "3"},
    }
    assert settings.options.page_size == 100  # documented defaults
    assert settings.options.insights_lookback_days == 3


def test_first_day_is_a_relative_backfill_unless_a_start_date_is_given():
    from datetime import UTC, date, datetime

    from dealerfunnel.sources.config import DEFAULT_BACKFILL_DAYS, SourceOptions

    now = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    assert DEFAULT_BACKFILL_DAYS == 90
    assert SourceOptions().first_day(now) == date(2026, 9, 2)
    assert SourceOptions(backfill_days=7).first_day(now) == date(2026, 11, 24)
    pinned = SourceOptions(start_date=date(2026, 5, 4), backfill_days=7)
    assert pinned.first_day(now) == date(2026, 5, 4)
    # a Connection's extra.start_date pins it (the demo sandbox does)
    assert SourceOptions().first_day(now, "2026-05-04") == date(2026, 5, 4)
    with pytest.raises(SourceConfigError, match=r"extra\.start_date: not an ISO date"):
        SourceOptions().first_day(now, "soon")


def test_project_sources_yml_uses_the_relative_backfill():
    from dealerfunnel.settings import load_yaml
    from dealerfunnel.sources import registry

    data = load_yaml("sources.yml")
    for source in registry.CONNECTORS:
        assert "start_date" not in (data[source].get("options") or {}), source
        assert registry.settings_for(source).options.start_date is None
        assert registry.settings_for(source).options.backfill_days == 90

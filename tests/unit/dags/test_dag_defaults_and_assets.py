"""Defaults every DAG shares, and the Assets that chain the DAGs."""

from __future__ import annotations

from datetime import timedelta

from dealerfunnel import assets
from dealerfunnel.dag_defaults import START_DATE, default_args
from dealerfunnel.settings import DEFAULT_TIMEZONE


def test_start_date_is_timezone_aware_in_the_default_dealer_zone():
    assert START_DATE.tzinfo is not None
    assert START_DATE.timezone_name == DEFAULT_TIMEZONE


def test_retries_are_never_switched_off_and_local_runs_shorten_the_delay(monkeypatch):
    monkeypatch.delenv("DEALERFUNNEL_RETRY_DELAY_SECONDS", raising=False)
    production = default_args(retries=3, retry_delay=timedelta(minutes=2))
    assert production["retries"] == 3
    assert production["retry_delay"] == timedelta(minutes=2)
    assert production["max_retry_delay"] == timedelta(minutes=30)
    monkeypatch.setenv("DEALERFUNNEL_RETRY_DELAY_SECONDS", "2")
    local = default_args(retries=3)
    assert local["retries"] == 3
    assert local["retry_delay"] == local["max_retry_delay"] == timedelta(seconds=2)


def test_every_api_raw_table_has_an_asset_and_the_mart_assets_are_distinct():
    from dealerfunnel.warehouse.schema import API_RAW_TABLES

    assert set(assets.RAW_API) == set(API_RAW_TABLES)
    uris = [a.uri for a in (*assets.RAW_DEALER_EXPORT, *assets.RAW_API.values())]
    assert len(uris) == len(set(uris))
    assert assets.MART_FCT_LEADS.uri != assets.MART_FUNNEL_CONVERSION.uri

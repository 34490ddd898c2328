"""Airflow Assets for the warehouse tables the DAGs publish.

URIs follow the postgres Asset scheme ``postgres://host:port/database/schema/table``. The host
part is the logical name of the warehouse Connection (``warehouse``), not a network address,
so the URIs are stable wherever the warehouse actually runs.
"""

from __future__ import annotations

from airflow.sdk import Asset

from dealerfunnel.warehouse.schema import API_RAW_TABLES


def table_asset(schema: str, table: str) -> Asset:
    return Asset(
        name=f"{schema}.{table}",
        uri=f"postgres://warehouse:5432/warehouse/{schema}/{table}",
        group="warehouse",
    )


RAW_DEALER_EXPORT = [
    table_asset("raw", "dealer_export__leads"),
    table_asset("raw", "dealer_export__stage_events"),
    table_asset("raw", "dealer_export__followups"),
    table_asset("raw", "dealer_export__activities"),
    table_asset("raw", "dealer_export__surveys"),
    table_asset("raw", "dealer_export__targets"),
]
MART_FUNNEL_CONVERSION = table_asset("marts", "mart_funnel_conversion")
MART_FCT_LEADS = table_asset("marts", "fct_leads")

# Raw tables of the API connectors (dags/extract_ad_platforms.py), by "<source>__<object>".
RAW_API = {name: table_asset("raw", name) for name in API_RAW_TABLES}

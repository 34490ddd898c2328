"""The registry of connectors: every table has a stream and every stream a table."""

from __future__ import annotations


def test_project_sources_yml_is_valid():
    from dealerfunnel.sources import registry
    from dealerfunnel.warehouse.schema import API_RAW_TABLES

    # every connector stream lands in a table the DDL creates, and every table has a stream
    assert set(registry.tables()) == set(API_RAW_TABLES)
    # HubSpot: + calls, meetings, emails, notes; + Salesforce events, HubSpot survey responses
    assert len(API_RAW_TABLES) == 21
    for table in registry.tables():
        assert len(registry.plan(table)) == 6

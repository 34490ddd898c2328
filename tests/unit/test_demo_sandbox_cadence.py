"""The API sandbox keeps the follow-up policy like the synthetic dealer export: every open graded
Salesforce lead (an open lead, or a converted one whose opportunity is open when the world ends,
even if it closes later) has a completed call within its rating's cadence at the world's end,
so the demo's overdue alert opens only for the planted lead. Cadences are read from
seeds/funnel_settings.csv, grades from seeds/grade_mapping.csv."""

from __future__ import annotations

from datetime import datetime

from dealerfunnel.settings import load_funnel_settings
from dealerfunnel_demo.sandbox.salesforce import SalesforceApi
from dealerfunnel_demo.sandbox.world import DataSpec, World


def _time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


def test_every_open_graded_salesforce_lead_keeps_its_cadence() -> None:
    world = World(DataSpec(seed=20261123))  # the demo's world
    end = world.end
    api = SalesforceApi(world)
    settings = load_funnel_settings()
    last_call: dict[str, datetime] = {}
    for task in api.entities["Task"]:
        record = task.versions[0][1]
        if record["Status"] == "Completed" and record["TaskSubtype"] == "Call":
            when = _time(record["CompletedDateTime"])
            for about in (record["WhoId"], record["WhatId"]):
                if about:
                    last_call[about] = max(last_call.get(about, when), when)
    opportunities = {o.record_id: o.at(end) for o in api.entities["Opportunity"]}
    checked, overdue = 0, []
    for lead in api.entities["Lead"]:
        record = lead.at(end)
        if lead.drift == "missing_field" or record["Status"] == "Closed - Not Converted":
            continue
        opportunity_id = record["ConvertedOpportunityId"]
        if opportunity_id and opportunities[opportunity_id]["IsClosed"]:
            continue
        grade = api.grades[record["Rating"].casefold()]
        days = settings.number(f"grade_{grade.lower()}_max_days_between_contacts", lead.dealer)
        calls = [last_call.get(record["Id"]), last_call.get(opportunity_id)]
        latest = max([c for c in calls if c] or [_time(record["CreatedDate"])])
        checked += 1
        if (end - latest).total_seconds() > days * 86400:
            overdue.append((lead.dealer, record["Id"], grade, latest))
    assert checked > 500
    assert overdue == []

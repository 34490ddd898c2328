"""API records whose funnel stage the stage mapping does not know go to ``ops.quarantine`` with
the reason a dealer export row gets (``unknown stage 'x' for source s``), at load time; the rest
of the page lands. Sandbox + real PostgreSQL."""

from __future__ import annotations

import psycopg
import pytest
import test_sources_support as h

from dealerfunnel_demo.sandbox import run_sandbox

pytestmark = pytest.mark.timeout(120)


def _set(path: tuple[str, ...], value: str):
    def change(record: dict) -> None:
        for key in path[:-1]:
            record = record[key]
        record[path[-1]] = value

    return change


# case (the source, "-" what) -> (table, sandbox entities of that table, how a record gets the
# unknown value, value)
CASES = {
    "salesforce": ("salesforce__leads", lambda api: api.entities["Lead"], ("Status",), "Recycled"),
    "hubspot": (
        "hubspot__deals",
        lambda api: api.entities["deals"],
        ("properties", "dealstage"),
        "mystery_stage",
    ),
    "hubspot-contacts": (  # a lifecycle stage the mapping does not know (a custom one)
        "hubspot__contacts",
        lambda api: [e for e in api.entities["contacts"] if e.drift is None],
        ("properties", "lifecyclestage"),
        "1234567",
    ),
    "eventbrite": (
        "eventbrite__attendees",
        lambda api: [a for people in api.attendees.values() for a in people],
        ("status",),
        "Waitlisted",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_unknown_stage_is_quarantined_naming_the_value(case, clean_warehouse):
    url = clean_warehouse
    source = case.split("-")[0]
    table, entities, path, value = CASES[case]
    world = h.make_world(drift=False)
    with run_sandbox(h.make_sandbox(world)) as running:
        served = {record for _, record in h.truth_rows(running, table)}
        picked = [e for e in entities(running.sandbox.api(source)) if e.record_id in served][:3]
        assert len(picked) == 3
        for entity in picked:
            for _, record in entity.versions:
                _set(path, value)(record)
        truth = h.truth_rows(running, table)
        unknown = {key for key in truth if key[1] in {e.record_id for e in picked}}
        assert len(unknown) == 3

        results = h.extract_table(running, url, table)

    # the rest lands; the records with the unknown stage do not
    assert set(h.raw_rows(url, table)) == set(truth) - unknown
    _, obj = table.split("__")
    with psycopg.connect(url) as db:
        rows = db.execute(
            "select record, reason from ops.quarantine where source = %s and object = %s",
            (source, obj),
        ).fetchall()
        totals = db.execute(
            "select sum(rows_in), sum(rows_loaded), sum(rows_quarantined) "
            "from ops.load_batches where source = %s and object = %s",
            (source, obj),
        ).fetchone()
    id_key = "Id" if source == "salesforce" else "id"
    assert {(r["account_id"], r["record"][id_key]) for r, _ in rows} == unknown
    assert {reason for _, reason in rows} == {f"unknown stage {value!r} for source {source}"}
    # rows in = loaded + quarantined, per stream and in ops.load_batches
    assert all(r.rows_in == r.rows_loaded + r.rows_quarantined for r in results)
    assert sum(r.rows_quarantined for r in results) >= len(unknown)
    rows_in, loaded, quarantined = totals
    assert rows_in == loaded + quarantined
    assert quarantined >= 3

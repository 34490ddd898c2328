"""The raw gate (``validate_raw``) checks the rows loaded since the last passing gate (issue #13).

Per load batch (``ops.load_batches`` -> ``ops.raw_gate_batches``): a bad row loaded after a
passing gate is caught, a batch that failed the gate is checked again until it passes, rows of
a batch already gated are not checked again (unless ``full``), and a batch still running waits.
The suite is ``raw_dealer_export__leads``: table-level expectations (columns, row count) see the
whole table; the row-level ones (unique row key, ``_source`` in {dealer_export}, the info check
on ``assigned_at``) see the new rows only; with no new batch the table is not validated.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg
import pytest

from dealerfunnel.quality import QualityGateFailed
from dealerfunnel.quality import gates as quality_gates
from dealerfunnel.quality.tasks import validate_raw_layer

SUITE = "raw_dealer_export__leads"
SOURCE_CHECK = "raw_dealer_export__leads: expect_column_values_to_be_in_set(_source)"


@pytest.fixture
def leads_gate(clean_warehouse, data_dir, monkeypatch):
    """validate_raw_layer over the leads suite alone (the other raw tables are empty)."""
    monkeypatch.setattr(quality_gates, "suite_names_for_schema", lambda schema: [SUITE])

    def run(**kwargs) -> dict:
        return validate_raw_layer(clean_warehouse, **kwargs)["raw_gate"]

    return run


def load_batch(url: str, sources: list[str], *, status: str = "loaded") -> uuid.UUID:
    """One load batch of leads, one row per ``_source`` value given, as the loader writes it."""
    batch = uuid.uuid4()
    now = datetime.now(UTC)
    with psycopg.connect(url) as conn:
        conn.execute(
            "insert into ops.load_batches (batch_id, source, dealer_code, object, started_at,"
            " status, rows_in, rows_loaded) values (%s, 'dealer_export', 'SH001', 'leads', %s,"
            " %s, %s, %s)",
            (batch, now, status, len(sources), len(sources)),
        )
        with conn.cursor().copy(
            "copy raw.dealer_export__leads (lead_id, created_at, assigned_at, payload,"
            " _dealer_code, _source, _batch_id, _extracted_at, _file_name, _file_sha256,"
            " _row_number) from stdin"
        ) as copy:
            for number, source in enumerate(sources, start=1):
                copy.write_row(
                    (
                        f"{batch.hex[:6]}-{number}",
                        "2026-05-04T01:00:00Z",
                        "2026-05-04T02:00:00Z",
                        "{}",
                        "SH001",
                        source,
                        batch,
                        now,
                        "leads.csv",
                        batch.hex,
                        number,
                    )
                )
    return batch


def source_check_observed(url: str) -> str | None:
    """What the ``_source`` check observed in the latest raw gate run (None: it passed)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "select f.observed from ops.quality_runs r"
            " left join ops.quality_failures f"
            "  on f.quality_run_id = r.quality_run_id and f.check_name = %s"
            " where r.checkpoint = 'raw_gate' order by r.quality_run_id desc limit 1",
            (SOURCE_CHECK,),
        ).fetchone()
    return row[0]


def passed(url: str) -> dict[uuid.UUID, bool]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute("select batch_id, passed from ops.raw_gate_batches").fetchall())


def test_a_bad_row_after_a_passing_gate_is_caught_and_gated_rows_are_not_checked_again(
    clean_warehouse, leads_gate
):
    url = clean_warehouse
    good = "dealer_export"
    a = load_batch(url, [good] * 10)
    first = leads_gate()
    assert (first["mode"], first["success"], first["batches_passed"]) == ("full", True, 1)
    assert first["evaluated"] == 5  # 2 table-level + 3 row-level expectations

    # A row of the gated batch A goes bad afterwards; batch B is clean. The incremental gate
    # checks B's rows only, so it passes: A is not validated again.
    with psycopg.connect(url) as conn:
        conn.execute(
            "update raw.dealer_export__leads set _source = 'bogus'"
            " where _batch_id = %s and _row_number = 1",
            (a,),
        )
    b = load_batch(url, [good] * 5)
    second = leads_gate()
    assert (second["mode"], second["success"], second["batches_passed"]) == (
        "incremental",
        True,
        1,
    )
    assert second["evaluated"] == 5
    assert passed(url) == {a: True, b: True}

    # Batch C, loaded after the passing gate, has 1 bad row of 4: caught. The gate judged C's
    # rows alone: 1 of 4 unexpected (25 %); over the whole table it would be 2 of 19.
    c = load_batch(url, [good, "bogus", good, good])
    with pytest.raises(QualityGateFailed, match="_source"):
        leads_gate()
    assert float(source_check_observed(url)) == pytest.approx(25.0)
    assert passed(url) == {a: True, b: True, c: False}
    # still pending: the next gate checks C again (and fails again)
    with pytest.raises(QualityGateFailed):
        leads_gate()
    assert float(source_check_observed(url)) == pytest.approx(25.0)

    # full: every row, A's bad row included (2 of 19 = 10.53 %)
    with pytest.raises(QualityGateFailed):
        leads_gate(full=True)
    assert float(source_check_observed(url)) == pytest.approx(200 / 19)

    # C fixed: the incremental gate passes and marks C; A's row is not looked at again
    with psycopg.connect(url) as conn:
        conn.execute(
            "update raw.dealer_export__leads set _source = %s where _batch_id = %s", (good, c)
        )
    fourth = leads_gate()
    assert (fourth["success"], fourth["batches_passed"]) == (True, 1)
    assert source_check_observed(url) is None
    assert passed(url) == {a: True, b: True, c: True}


def test_a_running_batch_waits_for_the_next_gate(clean_warehouse, leads_gate):
    url = clean_warehouse
    load_batch(url, ["dealer_export"] * 3)
    assert leads_gate()["mode"] == "full"
    # an API extract commits page by page: its batch is 'running' until the last page
    d = load_batch(url, ["bogus", "dealer_export"], status="running")
    nothing_new = leads_gate()
    # no finished batch since the last pass: the table is not validated at all
    assert nothing_new["success"] and nothing_new["evaluated"] == 0
    assert d not in passed(url)
    with psycopg.connect(url) as conn:
        conn.execute("update ops.load_batches set status = 'loaded' where batch_id = %s", (d,))
    with pytest.raises(QualityGateFailed):
        leads_gate()
    assert float(source_check_observed(url)) == pytest.approx(50.0)  # 1 of D's 2 rows

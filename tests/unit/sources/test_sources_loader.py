"""The loader's record split (what lands, what is quarantined and why) and the commit phases."""

from __future__ import annotations

from dataclasses import dataclass

from dealerfunnel.sources import loader
from dealerfunnel.sources.loader import Parsed, RecordInvalid, _split


@dataclass
class _Stream:
    source: str = "test"
    object: str = "things"
    account_id: str = "acc"
    state_key: str = "acc"
    dealer_code: str = "SH001"

    def parse(self, record):
        if "id" not in record:
            raise RecordInvalid("missing required field 'id'")
        return Parsed(record["id"], None)

    def check(self, record):
        if record.get("stage") == "mystery":
            raise RecordInvalid("unknown stage 'mystery' for source test")

    def pages(self, state):
        return iter(())


def test_split_quarantines_invalid_records_with_their_reason():
    records = [
        {"id": "1", "stage": "won"},
        {"stage": "won"},
        {"id": "2", "stage": "mystery"},
        "not a dict",
        {"id": "3", "name": "a\x00b"},
    ]
    good, bad = _split(_Stream(), records)
    assert [record_id for record_id, _, _ in good] == ["1"]
    assert [reason for _, reason in bad] == [
        "missing required field 'id'",
        "unknown stage 'mystery' for source test",
        "not an object",
        "contains a NUL character (not storable in jsonb)",
    ]
    assert len(good) + len(bad) == len(records)  # rows in = loaded + quarantined
    assert '"account_id":"acc"' in bad[1][0]


def test_runtime_code_has_no_test_hooks():
    import inspect

    from dealerfunnel.sources import registry

    assert "crash" not in inspect.signature(loader.run_stream).parameters
    assert "crash" not in inspect.signature(registry.extract).parameters
    assert loader.PHASES == ("fetched", "merged", "watermarked", "committed")

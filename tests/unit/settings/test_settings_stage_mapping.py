"""The stage mapping's single home is the dbt seed ``stage_mapping.csv``; the loader reads it.

Matching is case-insensitive after trimming; a canonical code is accepted as is (by
``landing.parsing.normalise_stage``); a bad row in the seed is a ConfigError naming the file
and the row.
"""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from pathlib import Path

import pytest

from dealerfunnel.landing.parsing import normalise_stage
from dealerfunnel.settings import CANONICAL_STAGES, ConfigError, load_stage_mapping, seed_path

ROOT = Path(__file__).resolve().parents[3]
SEED_PATH = ROOT / "dbt_project" / "seeds" / "stage_mapping.csv"


def _seed_rows() -> list[tuple[str, str, str]]:
    with SEED_PATH.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["source", "source_stage", "stage"]
        return [(row["source"], row["source_stage"], row["stage"]) for row in reader]


@pytest.fixture
def seed(tmp_path, monkeypatch):
    """A copy of the dbt project's seeds folder the test may edit."""
    (tmp_path / "seeds").mkdir()
    shutil.copy(SEED_PATH, tmp_path / "seeds" / "stage_mapping.csv")
    monkeypatch.setenv("DEALERFUNNEL_DBT_PROJECT_DIR", str(tmp_path))
    return tmp_path / "seeds" / "stage_mapping.csv"


def test_the_loader_reads_the_seed():
    assert seed_path("stage_mapping") == SEED_PATH
    assert not (ROOT / "config" / "stage_mapping.yml").exists()


def test_seed_has_no_duplicate_rows():
    counts = Counter(_seed_rows())
    assert [row for row, n in counts.items() if n > 1] == []


def test_seed_matches_the_pipeline_mapping_after_normalization():
    """Matching is case-insensitive after trimming: the seed gives the pipeline's lookup table."""
    normalized: dict[str, dict[str, str]] = {}
    for source, word, code in _seed_rows():
        table = normalized.setdefault(source, {})
        key = word.strip().casefold()
        assert table.get(key, code) == code, f"{source}: {word!r} maps to two stages"
        table[key] = code
    assert normalized == load_stage_mapping()


def test_seed_stages_are_canonical():
    allowed = {*CANONICAL_STAGES, "lost"}
    assert {stage for _, _, stage in _seed_rows()} <= allowed


def test_lookup_is_case_insensitive_trimmed_and_accepts_canonical_codes(seed):
    with seed.open("a", encoding="utf-8") as handle:
        handle.write("dealer_export,  Follow Up Later ,interested\n")
    vocabulary = load_stage_mapping()["dealer_export"]
    assert vocabulary["follow up later"] == "interested"
    assert normalise_stage("  FOLLOW up later", vocabulary, "dealer_export") == "interested"
    assert normalise_stage(" 意向客户 ", vocabulary, "dealer_export") == "interested"
    assert normalise_stage("Needs_Defined", vocabulary, "dealer_export") == "needs_defined"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("hubspot,closedwon,sold\n", r"stage_mapping.csv: row {n}: stage 'sold' is not canonical"),
        ("hubspot,,won\n", r"stage_mapping.csv: row {n}: source and source_stage are required"),
        ("hubspot,ClosedWon,lost\n", r"stage_mapping.csv: row {n}: hubspot 'ClosedWon' maps to"),
    ],
)
def test_bad_seed_row_names_file_and_row(seed, row, message):
    with seed.open("a", encoding="utf-8") as handle:
        handle.write(row)
    n = len(_seed_rows()) + 2  # the appended row's line: after the header and the seed's rows
    with pytest.raises(ConfigError, match=message.format(n=n)):
        load_stage_mapping()


def test_bad_seed_header_names_the_file(seed):
    seed.write_text("source,word,stage\nhubspot,closedwon,won\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"stage_mapping\.csv: header must be"):
        load_stage_mapping()

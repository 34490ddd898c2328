"""The dbt seed ``stage_mapping.csv`` mirrors ``config/stage_mapping.yml`` exactly.

dbt cannot read the YAML the pipeline uses, so the dbt project carries a copy as a seed (source,
source_stage, stage). These tests fail on any drift: a row added, removed or changed on one side
only, a duplicate, or a stage outside the canonical codes. Edit both files together.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import yaml

from dealerfunnel.settings import CANONICAL_STAGES, load_stage_mapping

ROOT = Path(__file__).resolve().parents[2]
YAML_PATH = ROOT / "config" / "stage_mapping.yml"
SEED_PATH = ROOT / "dbt_project" / "seeds" / "stage_mapping.csv"


def _yaml_rows() -> list[tuple[str, str, str]]:
    data = yaml.safe_load(YAML_PATH.read_text(encoding="utf-8"))
    return [
        (str(source), str(word), str(code))
        for source, vocab in (data.get("sources") or {}).items()
        for word, code in (vocab or {}).items()
    ]


def _seed_rows() -> list[tuple[str, str, str]]:
    with SEED_PATH.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["source", "source_stage", "stage"]
        return [(row["source"], row["source_stage"], row["stage"]) for row in reader]


def test_seed_has_exactly_the_yaml_rows():
    yaml_rows, seed_rows = Counter(_yaml_rows()), Counter(_seed_rows())
    only_yaml = sorted((yaml_rows - seed_rows).elements())
    only_seed = sorted((seed_rows - yaml_rows).elements())
    assert not only_yaml and not only_seed, (
        f"stage_mapping drift: only in config/stage_mapping.yml {only_yaml}; "
        f"only in dbt_project/seeds/stage_mapping.csv {only_seed}"
    )


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

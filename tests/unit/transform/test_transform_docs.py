"""dbt docs go to the reports data folder, and are generated again only when their inputs change."""

from __future__ import annotations

import pytest

from dealerfunnel.transform import docs
from dealerfunnel.transform.runner import DbtFailed

URL = "postgresql://u@h/db"


@pytest.fixture
def site(monkeypatch, tmp_path):
    """``generate_docs`` with its inputs' digest set by the test and a fake dbt that writes the
    site's files (or fails); records each dbt call."""
    monkeypatch.setenv("DEALERFUNNEL_DATA_DIR", str(tmp_path))
    state = {"inputs": "a" * 64, "fail": False, "calls": []}
    monkeypatch.setattr(docs, "docs_inputs_digest", lambda url: state["inputs"])

    def run_dbt(args, url, **kw):
        state["calls"].append((args, url, kw))
        if state["fail"]:
            raise DbtFailed("dbt docs generate failed (exit 2)")
        for name in docs.SITE_FILES:
            (kw["target_path"] / name).parent.mkdir(parents=True, exist_ok=True)
            (kw["target_path"] / name).write_text(name)

    monkeypatch.setattr(docs, "run_dbt", run_dbt)
    state["target"] = tmp_path / "dbt" / "docs"
    return state


def test_generate_docs_targets_the_data_folder(site):
    index = docs.generate_docs(URL)
    assert index == str(site["target"] / "index.html")
    assert site["calls"] == [(["docs", "generate"], URL, {"target_path": site["target"]})]
    assert (site["target"] / docs.INPUTS_FILE).read_text().strip() == site["inputs"]


def test_unchanged_inputs_keep_the_docs(site):
    docs.generate_docs(URL)
    assert docs.generate_docs(URL) == str(site["target"] / "index.html")
    assert len(site["calls"]) == 1


def test_changed_inputs_generate_again(site):
    docs.generate_docs(URL)
    site["inputs"] = "b" * 64
    docs.generate_docs(URL)
    assert len(site["calls"]) == 2
    assert (site["target"] / docs.INPUTS_FILE).read_text().strip() == "b" * 64


@pytest.mark.parametrize("missing", docs.SITE_FILES)
def test_an_incomplete_site_is_generated_again(site, missing):
    docs.generate_docs(URL)
    (site["target"] / missing).unlink()
    docs.generate_docs(URL)
    assert len(site["calls"]) == 2


def test_force_generates_again(site):
    docs.generate_docs(URL)
    docs.generate_docs(URL, force=True)
    assert len(site["calls"]) == 2


def test_a_failed_generation_is_redone_next_time(site):
    docs.generate_docs(URL)
    site["inputs"], site["fail"] = "b" * 64, True
    with pytest.raises(DbtFailed):
        docs.generate_docs(URL)
    assert not (site["target"] / docs.INPUTS_FILE).exists()
    site["fail"] = False
    docs.generate_docs(URL)
    assert len(site["calls"]) == 3

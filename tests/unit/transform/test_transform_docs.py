"""dbt docs are generated into the reports data folder, not the repository."""

from __future__ import annotations

from dealerfunnel.transform import docs


def test_generate_docs_targets_the_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("DEALERFUNNEL_DATA_DIR", str(tmp_path))
    calls = []
    monkeypatch.setattr(docs, "run_dbt", lambda args, url, **kw: calls.append((args, url, kw)))
    index = docs.generate_docs("postgresql://u@h/db")
    assert index == str(tmp_path / "dbt" / "docs" / "index.html")
    assert calls == [
        (["docs", "generate"], "postgresql://u@h/db", {"target_path": tmp_path / "dbt" / "docs"})
    ]

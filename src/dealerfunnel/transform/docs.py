"""dbt docs for the reports folder."""

from __future__ import annotations

from dealerfunnel.settings import data_dir
from dealerfunnel.transform.runner import run_dbt


def generate_docs(url: str) -> str:
    """Run ``dbt docs generate``; return the path of the static site's index.html."""
    target = data_dir() / "dbt" / "docs"
    run_dbt(["docs", "generate"], url, target_path=target)
    return str(target / "index.html")

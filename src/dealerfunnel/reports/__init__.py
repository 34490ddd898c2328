"""Static HTML report pages (weekly, monthly, quarterly) drawn from the published marts.

``write_reports(url)`` writes ``index.html``, ``<dealer_code>.html`` and ``group.html`` into
``settings.reports_dir()``. Importing this package does no I/O and does not import plotly.
"""

from __future__ import annotations

from pathlib import Path


def write_reports(url: str, **kwargs) -> Path:
    """Write the report pages from the marts at ``url``; return the path of ``index.html``."""
    from dealerfunnel.reports.pages import write_reports as write

    return write(url, **kwargs)


__all__ = ["write_reports"]

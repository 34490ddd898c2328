"""Airflow plugin: the pipeline's report pages inside the Airflow UI.

A FastAPI app mounted by Airflow's api-server at ``/dealerfunnel`` serves the report folder
(``DEALERFUNNEL_REPORTS_DIR``, default ``<data_dir>/reports``) read-only, and an external view
adds "Funnel reports" to the UI's navigation, opening ``/dealerfunnel/reports/`` in the UI's
frame. Nothing else of the project is a plugin: the library is the installed package
``dealerfunnel``.
"""

from __future__ import annotations

import html
from pathlib import Path

from airflow.plugins_manager import AirflowPlugin
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

from dealerfunnel.settings import reports_dir

URL_PREFIX = "/dealerfunnel"


def not_written_page(folder: Path) -> str:
    """What the plugin answers while no run has written the report pages."""
    return (
        "<!DOCTYPE html><meta charset='utf-8'><title>Funnel reports</title>"
        "<h1>No report has been written yet</h1>"
        f"<p>The report folder {html.escape(str(folder))} does not exist. The pages are written "
        "after each pipeline run: run the <code>funnel_transform</code> DAG (or "
        "<code>make demo</code> / <code>make run</code>), then reload this page.</p>"
    )


class ReportFiles(StaticFiles):
    """The report folder read-only; while it does not exist, a 404 page that says so (plain
    StaticFiles would fail with a 500)."""

    async def __call__(self, scope, receive, send) -> None:
        folder = Path(self.directory)
        if scope["type"] == "http" and not folder.is_dir():
            response = HTMLResponse(not_written_page(folder), status_code=404)
            return await response(scope, receive, send)
        return await super().__call__(scope, receive, send)


def create_app() -> FastAPI:
    """The report pages as static files; a missing folder answers 404 until a run writes it."""
    app = FastAPI(title="Dealer funnel reports", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount(
        "/reports",
        ReportFiles(directory=reports_dir(), html=True, check_dir=False),
        name="reports",
    )
    return app


class DealerFunnelReportsPlugin(AirflowPlugin):
    name = "dealerfunnel_reports"
    fastapi_apps = [  # noqa: RUF012  (AirflowPlugin declares these as class attributes)
        {"app": create_app(), "url_prefix": URL_PREFIX, "name": "Dealer funnel reports"}
    ]
    external_views = [  # noqa: RUF012
        {
            "name": "Funnel reports",
            "href": f"{URL_PREFIX}/reports/",
            "destination": "nav",
            "category": "browse",
            "url_route": "funnel-reports",
        }
    ]

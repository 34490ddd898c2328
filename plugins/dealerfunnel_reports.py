"""Airflow plugin: the pipeline's report pages inside the Airflow UI.

A FastAPI app mounted by Airflow's api-server at ``/dealerfunnel`` serves the report folder
(``DEALERFUNNEL_REPORTS_DIR``, default ``<data_dir>/reports``) read-only, and an external view
adds "Funnel reports" to the UI's navigation, opening ``/dealerfunnel/reports/`` in the UI's
frame. Nothing else of the project is a plugin: the library is the installed package
``dealerfunnel``.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from dealerfunnel.settings import reports_dir

URL_PREFIX = "/dealerfunnel"


def create_app() -> FastAPI:
    """The report pages as static files; a missing folder answers 404 until a run writes it."""
    app = FastAPI(title="Dealer funnel reports", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount(
        "/reports",
        StaticFiles(directory=reports_dir(), html=True, check_dir=False),
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

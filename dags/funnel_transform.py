"""
### dbt build + quality gate

Scheduled by the raw Assets of the extract DAGs.

1. `validate_raw`: Great Expectations checkpoint on the raw tables; a blocking failure stops
   the run before anything is built.
2. `dbt_build`: `dbt build` (seeds, staging -> intermediate -> marts, with every dbt test).
3. `validate_marts`: GX checkpoint on the marts, Data Docs rebuilt.
4. `dbt_docs`: `dbt docs generate` for the reports folder.

Publishes the marts as Assets, which schedule `funnel_alerts`.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, task

from dealerfunnel.assets import MART_FCT_LEADS, MART_FUNNEL_CONVERSION, RAW_DEALER_EXPORT
from dealerfunnel.dag_defaults import START_DATE, default_args

RAW_SUITES = ["raw_dealer_export__leads"]
MART_SUITES = ["mart_funnel_conversion"]


@dag(
    dag_id="funnel_transform",
    schedule=RAW_DEALER_EXPORT[0] | RAW_DEALER_EXPORT[1] | RAW_DEALER_EXPORT[2],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["transform", "dbt", "quality"],
    default_args=default_args(retries=1, retry_delay=timedelta(minutes=1)),
)
def funnel_transform():
    @task
    def validate_raw() -> dict:
        from dealerfunnel.quality.tasks import gate

        return gate(RAW_SUITES, checkpoint_name="raw_gate")

    @task
    def dbt_build() -> None:
        from dealerfunnel.transform import run_dbt
        from dealerfunnel.warehouse import resolve_warehouse_url

        run_dbt(["build"], resolve_warehouse_url())

    @task(outlets=[MART_FCT_LEADS, MART_FUNNEL_CONVERSION])
    def validate_marts() -> dict:
        from dealerfunnel.quality.tasks import gate

        return gate(MART_SUITES, checkpoint_name="mart_gate")

    @task
    def dbt_docs() -> str:
        from dealerfunnel.transform.docs import generate_docs
        from dealerfunnel.warehouse import resolve_warehouse_url

        return generate_docs(resolve_warehouse_url())

    validated = validate_marts()
    validate_raw() >> dbt_build() >> validated >> dbt_docs()


funnel_transform()

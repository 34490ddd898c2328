"""
### Funnel threshold alerts

Scheduled by `marts.mart_funnel_conversion`. Evaluates the rules of `config/alert_rules.yml`
(e.g. potential -> interested below 35% two weeks in a row) per dealer, records one episode per
breach in `ops.alerts` (fired once, updated while it persists, resolved when it clears) and
notifies new episodes once.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, task

from dealerfunnel.assets import MART_FUNNEL_CONVERSION
from dealerfunnel.dag_defaults import START_DATE, default_args


@dag(
    dag_id="funnel_alerts",
    schedule=[MART_FUNNEL_CONVERSION],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["alerts", "monitoring"],
    default_args=default_args(retries=2, retry_delay=timedelta(minutes=1)),
)
def funnel_alerts():
    @task
    def evaluate_threshold_rules() -> dict:
        from dealerfunnel.alerts import evaluate_rules, load_rules
        from dealerfunnel.warehouse import resolve_warehouse_url

        return evaluate_rules(resolve_warehouse_url(), load_rules())

    evaluate_threshold_rules()


funnel_alerts()

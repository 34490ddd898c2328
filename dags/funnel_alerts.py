"""
### Business alerts

Scheduled by the published marts (`marts.mart_funnel_conversion`, `marts.fct_leads`).
Evaluates every rule of `config/alert_rules.yml` (thresholds on any mart metric over N
consecutive periods, lead-volume anomalies by weekday, SLA breach rate, overdue follow-ups by
grade, silent sources) per dealer; the data-quality rule runs once per pipeline run, in
`funnel_transform`, keeps one episode per breach in
`ops.alerts` (fired once, updated while it persists, resolved with a recovery notice when it
clears, suppression window against flapping), then delivers what is owed through the channels
of `config/notifications.yml`: each episode once per recipient, every attempt recorded in
`ops.alert_deliveries`, failures retried with backoff and again on the next run.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, task

from dealerfunnel.assets import MART_FUNNEL_CONVERSION
from dealerfunnel.dag_defaults import START_DATE, default_args
from dealerfunnel.notify.notifier import ChannelNotifier


@dag(
    dag_id="funnel_alerts",
    schedule=[MART_FUNNEL_CONVERSION],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["alerts", "monitoring"],
    default_args=default_args(retries=2, retry_delay=timedelta(minutes=1)),
    on_failure_callback=ChannelNotifier(),
)
def funnel_alerts():
    @task
    def evaluate_alert_rules() -> dict:
        from airflow.sdk import get_current_context

        from dealerfunnel.alerts import evaluate_rules, load_rules
        from dealerfunnel.alerts.rules import BUSINESS_TYPES
        from dealerfunnel.warehouse import resolve_warehouse_url

        context = get_current_context()
        # The data-quality rule runs once per pipeline run, in funnel_transform.
        return evaluate_rules(
            resolve_warehouse_url(),
            load_rules(),
            types=BUSINESS_TYPES,
            run={"dag_id": context["dag"].dag_id, "run_id": context["run_id"]},
        )

    evaluate_alert_rules()


funnel_alerts()

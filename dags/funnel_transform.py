"""
### dbt build + quality gates, write-audit-publish

Scheduled by any raw Asset of the extract DAGs (dealer exports or APIs). BI never sees marts
that failed a blocking check: the marts are built into a candidate schema, validated, then
swapped in.

0. `ensure_access` (first, as the admin login `warehouse`) creates the warehouse roles and
   grants (idempotent). Every later task but the alerts works as `dealerfunnel_transformer`
   (its own Connection `warehouse_transformer`, else the `warehouse` login with its sessions
   started as that role).
1. `validate_raw`: the Great Expectations raw suites (`expectations/raw_*.yml`) on the rows of
   the load batches not yet gated (`ops.raw_gate_batches`; table-level checks on the whole
   table; a table with no such batch is not validated; every row on the first run or with
   `raw_gate.full` in `config/quality.yml`); a
   blocking failure stops the run before anything is built, and those batches are checked
   again next run. What dbt's source tests assert is not repeated in GX. (Source freshness is
   not a gate: it is the mart `mart_source_freshness`, read by the `source_silent` alert rule.)
2. `build_candidate`: `dbt build --vars '{marts_schema: marts_candidate}'` (seeds, staging,
   intermediate, marts into `marts_candidate`, every dbt test); failing tests are classified
   by `config/quality.yml`. Incremental: the candidate starts as the marts published one run
   before, and `fct_leads` and the lead-grain intermediates redo only the leads new data
   changes. A full refresh runs on the first build, when the build fingerprint changes (dbt
   project, dbt version, dealer registry, PII key) or when triggered with
   `{"full_refresh": true}`; dbt's unit tests run in full builds only. Every mart gets its
   reader grants and per-dealer row-level security as dbt creates it (post-hook
   `apply_reader_access`). The incremental models the build left with many dead rows are
   vacuumed.
3. `audit_candidate`: the GX mart suites (`expectations/mart_*.yml`) on `marts_candidate`;
   Data Docs rebuilt. Suites of marts not built yet are skipped and reported.
4. `publish`: one transaction renames `marts` -> `marts_previous`, `marts_candidate` ->
   `marts`. Emits the mart Assets, which schedule `funnel_alerts`.
5. `dbt_docs`: `dbt docs generate` for the reports folder, when the dbt project or the
   warehouse's relation layout changed since the last docs; `report_pages`: the static report
   pages per dealer and for the group (week, month, quarter; `make docs` serves them), then
   `weekly_digests`: each dealer's routed recipients get the latest complete week's headline
   figures and the link to its page, once per dealer and week (`ops.report_digests`).
6. `alert_data_quality` (always runs): every gate run is recorded in `ops.quality_runs`; the
   data-quality rule opens/resolves episodes from them and notifies (warnings included).

A blocking failure fails the run (no retry: the data will not change by retrying), leaves the
published marts untouched and tells the `pipeline_failures` recipients.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import AssetAny, Param, dag, task

from dealerfunnel.assets import MART_FCT_LEADS, MART_FUNNEL_CONVERSION, RAW_API, RAW_DEALER_EXPORT
from dealerfunnel.dag_defaults import START_DATE, default_args
from dealerfunnel.notify.notifier import ChannelNotifier


def _transformer_url() -> str:
    """dbt, the gates, publish, docs and reports work as ``dealerfunnel_transformer``."""
    from dealerfunnel.warehouse import task_warehouse_url

    return task_warehouse_url("transformer")


def _fail_on_gate(func):
    """Run a gate step; a blocking quality failure fails the task without retries."""
    from airflow.exceptions import AirflowFailException

    from dealerfunnel.quality.gates import QualityGateFailed

    try:
        return func()
    except QualityGateFailed as exc:
        raise AirflowFailException(str(exc)) from exc


@dag(
    dag_id="funnel_transform",
    schedule=AssetAny(*RAW_DEALER_EXPORT, *RAW_API.values()),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["transform", "dbt", "quality"],
    default_args=default_args(retries=1, retry_delay=timedelta(minutes=1)),
    on_failure_callback=ChannelNotifier(),
    params={
        "full_refresh": Param(
            False, type="boolean", description="Rebuild every incremental model from scratch."
        )
    },
)
def funnel_transform():
    @task
    def ensure_access() -> dict:
        from dealerfunnel.access import ensure_roles
        from dealerfunnel.warehouse import resolve_warehouse_url

        return ensure_roles(resolve_warehouse_url())

    @task
    def validate_raw() -> dict:
        from dealerfunnel.quality.tasks import validate_raw_layer

        return _fail_on_gate(lambda: validate_raw_layer(_transformer_url()))

    @task
    def build_candidate(params: dict | None = None) -> dict:
        from dealerfunnel.quality.tasks import build_candidate_marts

        full_refresh = bool((params or {}).get("full_refresh"))
        return _fail_on_gate(
            lambda: build_candidate_marts(_transformer_url(), full_refresh=full_refresh)
        )

    @task
    def audit_candidate() -> dict:
        from dealerfunnel.quality.tasks import audit_candidate_marts

        return _fail_on_gate(lambda: audit_candidate_marts(_transformer_url()))

    @task(outlets=[MART_FCT_LEADS, MART_FUNNEL_CONVERSION])
    def publish() -> dict:
        from dealerfunnel.quality.tasks import publish_marts

        return publish_marts(_transformer_url())

    @task
    def report_pages() -> str:
        from dealerfunnel.reports import write_reports

        return str(write_reports(_transformer_url()))

    @task
    def weekly_digests() -> dict:
        from dealerfunnel.notify.digest import deliver_weekly_digests
        from dealerfunnel.warehouse import resolve_warehouse_url

        return deliver_weekly_digests(resolve_warehouse_url())

    @task
    def dbt_docs() -> str:
        from dealerfunnel.transform.docs import generate_docs

        return generate_docs(_transformer_url())

    @task(trigger_rule="all_done")
    def alert_data_quality() -> dict:
        from airflow.sdk import get_current_context

        from dealerfunnel.alerts import evaluate_rules, load_rules
        from dealerfunnel.warehouse import resolve_warehouse_url

        context = get_current_context()
        return evaluate_rules(
            resolve_warehouse_url(),
            load_rules(),
            types=("data_quality",),
            run={"dag_id": context["dag"].dag_id, "run_id": context["run_id"]},
        )

    access = ensure_access()
    raw = validate_raw()
    built = build_candidate()
    access >> [raw, built]
    audited = audit_candidate()
    published = publish()
    pages = report_pages()
    raw >> built >> audited >> published >> [dbt_docs(), pages]
    pages >> weekly_digests()
    [raw, built, audited, published] >> alert_data_quality()


funnel_transform()

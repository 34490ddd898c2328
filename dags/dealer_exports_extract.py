"""
### Dealer CRM export files -> `raw`

Loads the CSV files dealers drop in `$LANDING_DIR/<dealer_code>/` (contract: DESIGN.md §3)
into `raw.dealer_export__*` with COPY.

- Each file is loaded once, identified by its content hash; re-runs change nothing.
- Rows that cannot be parsed go to `ops.quarantine` with the reason; a file missing a required
  column is rejected whole into quarantine. Input rows = loaded + quarantined.
- Dealer folders missing from `config/dealers.yml` are registered with defaults and reported.
- `prepare_warehouse` (the admin login `warehouse`) applies the raw/ops DDL and the roles; the
  load works as `dealerfunnel_loader` (Connection `warehouse_loader`, else the `warehouse`
  login with its sessions started as that role): it can write `raw`/`ops` only.

Publishes the raw tables as Assets, which schedule `funnel_transform`.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, task

from dealerfunnel.assets import RAW_DEALER_EXPORT
from dealerfunnel.dag_defaults import START_DATE, default_args


@dag(
    dag_id="dealer_exports_extract",
    schedule="@hourly",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["extract", "dealer_export", "raw"],
    default_args=default_args(retries=2, retry_delay=timedelta(minutes=2)),
)
def dealer_exports_extract():
    @task
    def prepare_warehouse() -> None:
        # the admin login: raw/ops DDL and the roles the loading tasks then work as
        from dealerfunnel.access import ensure_roles
        from dealerfunnel.sources.loader import mark_abandoned_batches
        from dealerfunnel.warehouse import ensure_schema, resolve_warehouse_url

        url = resolve_warehouse_url()
        ensure_schema(url)
        ensure_roles(url)
        mark_abandoned_batches(url)

    @task(outlets=RAW_DEALER_EXPORT)
    def load_landing_files() -> dict:
        from dealerfunnel.landing import load_landing
        from dealerfunnel.settings import landing_dir
        from dealerfunnel.warehouse import task_warehouse_url

        return load_landing(task_warehouse_url("loader"), landing_dir())

    @task
    def report_load(report: dict) -> dict:
        from dealerfunnel.reporting import summarise_load

        return summarise_load(report)

    prepare_warehouse() >> report_load(load_landing_files())


dealer_exports_extract()

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

- Dealer folders load in parallel: `list_dealer_folders` lists the dealers with new or changed
  files (unchanged files are recognised by their stat, not read or hashed), then
  `load_dealer_folder` is mapped over them, one task per dealer with its own retries, at most
  `parallel_dealer_folders` at once (`config/landing.yml`). A failing dealer does not stop
  the others; `report_load` (all_done) summarises every folder and then fails the run naming
  the dealers that failed.

Publishes the raw tables as Assets (emitted by each dealer task that loaded), which schedule
`funnel_transform`.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, task

from dealerfunnel.assets import RAW_DEALER_EXPORT
from dealerfunnel.dag_defaults import START_DATE, default_args
from dealerfunnel.settings import landing_options


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

    @task
    def list_dealer_folders() -> list[dict]:
        # returns the work items (one per dealer folder with files to load, mapped below);
        # the whole listing goes to the report as the XCom "listing"
        from airflow.sdk import get_current_context

        from dealerfunnel.landing import list_landing
        from dealerfunnel.settings import landing_dir, landing_options
        from dealerfunnel.warehouse import task_warehouse_url

        rehash = not landing_options().skip_unchanged_files
        listing = list_landing(task_warehouse_url("loader"), landing_dir(), rehash=rehash)
        get_current_context()["ti"].xcom_push(key="listing", value=listing)
        return listing["work"]

    @task(
        outlets=RAW_DEALER_EXPORT,
        max_active_tis_per_dagrun=landing_options().parallel_dealer_folders,
        map_index_template="{{ task.op_kwargs['item']['dealer_code'] }}",
    )
    def load_dealer_folder(item: dict) -> dict:
        from dealerfunnel.landing import load_dealer_folder as load
        from dealerfunnel.warehouse import task_warehouse_url

        return load(task_warehouse_url("loader"), item)

    @task(trigger_rule="all_done")  # runs whatever failed; fails the run if a dealer did
    def report_load(listing: dict | None, loaded: list) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from dealerfunnel.landing import merge_reports
        from dealerfunnel.reporting import summarise_load

        if listing is None:
            raise AirflowFailException("list_dealer_folders failed: nothing was loaded")
        summary = summarise_load(merge_reports(listing, loaded or ()))
        if summary["failed_dealers"]:
            raise AirflowFailException(
                f"dealer folder(s) failed to load (the others loaded): {summary['failed_dealers']}"
            )
        return summary

    work = list_dealer_folders()
    prepare_warehouse() >> work
    report_load(work["listing"], load_dealer_folder.expand(item=work))


dealer_exports_extract()

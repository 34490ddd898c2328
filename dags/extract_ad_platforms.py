"""
### API sources -> `raw` (Meta, Google Ads, Salesforce, HubSpot, Eventbrite)

(The DAG id keeps its first name, `extract_ad_platforms`; it now extracts every API source.)

Extracts, per dealer account of `config/sources.yml`, through the APIs' documented wire
formats (Airflow Connections `meta_ads`, `google_ads`, `salesforce`, `hubspot`,
`eventbrite`: base URL and credentials):

- `raw.meta__leads`: Graph API `/{form_id}/leads`, every lead form of the dealer's page;
- `raw.meta__insights`: Graph API `/act_{id}/insights`, spend per campaign and day;
- `raw.google_ads__lead_form_submissions`: GAQL `lead_form_submission_data`;
- `raw.google_ads__campaign_costs`: GAQL `campaign` x `segments.date` (`cost_micros`);
- `raw.salesforce__{leads, opportunities, lead_history, opportunity_history, tasks, events,
  users}`:
  SOQL on `SystemModstamp` / `CreatedDate`, following `nextRecordsUrl`;
- `raw.hubspot__{contacts, deals, owners, pipelines, calls, meetings, emails, notes,
  feedback_submissions}`: CRM v3 search on last-modified (deals batch-read with `dealstage`
  history; engagements and survey responses with their contacts), owners of the dealer's team,
  the deal pipeline;
- `raw.eventbrite__attendees`: attendees per event, `changed_since` + continuation.

Each task is mapped over the dealers x accounts of its source (dynamic task mapping).

- **Incremental and resumable**: a watermark per source object x account in `ops.watermarks`,
  committed in the same transaction as each page of data; a killed task resumes where it
  stopped, without loss or duplicates.
- **Idempotent merge** on `(account_id, record_id)`: late updates win, re-runs change nothing.
- **Faults**: 429 (honouring `Retry-After`), 5xx, timeouts and truncated bodies are retried with
  backoff within a bounded budget (connect 5 s, read 30 s, 120 s per call by default:
  `DEALERFUNNEL_HTTP_*`, see `dealerfunnel.sources.httpclient`); an auth failure fails the task
  at once (no Airflow retry), naming the connection.
- **Isolation**: a source (or one dealer's account) that is down fails only its own mapped
  tasks, quickly (one Airflow retry; once a source is found unreachable its next tasks probe
  once). The failure is recorded in `ops.load_batches` (status `failed`, error class and
  message, connection; no secret), which the `source_freshness` alert rule reports as an
  outage. The other tasks run and emit their raw Assets, so `funnel_transform` still runs;
  `report` (all_done) summarises and then fails the run naming the failed sources.
- A source whose Airflow Connection is not defined is not configured: no work items.
- Malformed records go to `ops.quarantine` with the reason (`rows_in = loaded + quarantined`).
- `prepare_warehouse` (the admin login `warehouse`) applies the raw/ops DDL and the roles; the
  extract tasks then work as `dealerfunnel_loader` (Connection `warehouse_loader`, else the
  `warehouse` login with its sessions started as that role): they can write `raw`/`ops` only.

Publishes the raw tables as Assets.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, task

from dealerfunnel.assets import RAW_API
from dealerfunnel.dag_defaults import START_DATE, default_args

TABLES = tuple(RAW_API)  # every API raw table, in API_RAW_TABLES order


def _extract(item: dict) -> dict:
    from airflow.sdk.exceptions import AirflowFailException

    from dealerfunnel.sources import AuthFailed, SourceConfigError
    from dealerfunnel.sources.registry import extract
    from dealerfunnel.warehouse import task_warehouse_url

    try:
        results = extract(item, task_warehouse_url("loader"))
    except (AuthFailed, SourceConfigError) as exc:  # retrying cannot help: fail fast
        raise AirflowFailException(str(exc)) from None
    return {
        "table": item["table"],
        "dealer_code": item["dealer_code"],
        "streams": [r.as_dict() for r in results],
        "rows_in": sum(r.rows_in for r in results),
        "rows_loaded": sum(r.rows_loaded for r in results),
        "rows_quarantined": sum(r.rows_quarantined for r in results),
    }


@dag(
    dag_id="extract_ad_platforms",
    schedule="@hourly",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["extract", "meta", "google_ads", "salesforce", "hubspot", "eventbrite", "raw"],
    default_args=default_args(retries=1, retry_delay=timedelta(minutes=2)),
)
def extract_ad_platforms():
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
    def plan_accounts(table: str) -> list[dict]:
        from dealerfunnel.sources.registry import plan_configured

        return plan_configured(table)

    def extract_task(table: str):
        # One task per source object, its own outlet; mapped over dealers x accounts.
        @task(task_id=f"extract_{table}", outlets=[RAW_API[table]], max_active_tis_per_dag=4)
        def extract_one(item: dict) -> dict:
            return _extract(item)

        return extract_one

    @task(trigger_rule="all_done")  # runs whatever failed; fails the run if anything did
    def report(per_table: list, plans: list) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        summary: dict[str, dict] = {}
        done = set()
        for result in (r for results in per_table for r in (results or ()) if r):
            entry = summary.setdefault(
                result["table"], {"accounts": 0, "rows_in": 0, "loaded": 0, "quarantined": 0}
            )
            entry["accounts"] += 1
            entry["rows_in"] += result["rows_in"]
            entry["loaded"] += result["rows_loaded"]
            entry["quarantined"] += result["rows_quarantined"]
            done.add((result["table"], result["dealer_code"]))
        failed = sorted(
            f"{item['table']}[{item['dealer_code']}]"
            for items in plans
            for item in (items or ())
            if (item["table"], item["dealer_code"]) not in done
        )
        failed += [f"plan_{t}" for t, items in zip(TABLES, plans, strict=False) if items is None]
        print(summary)
        if failed:
            raise AirflowFailException(
                f"{len(failed)} extract(s) failed (see ops.load_batches): {', '.join(failed)}"
            )
        return summary

    ready = prepare_warehouse()
    outputs = []
    plans = []
    for table in TABLES:
        items = plan_accounts.override(task_id=f"plan_{table}")(table)
        ready >> items
        plans.append(items)
        outputs.append(extract_task(table).expand(item=items))
    report(outputs, plans)


extract_ad_platforms()

-- Pipeline-owned schemas: raw (written by extract tasks) and ops (pipeline state).
-- dbt owns staging, intermediate and marts. Every statement is idempotent.
create schema if not exists raw;
create schema if not exists ops;

-- ops -------------------------------------------------------------------------------------

create table if not exists ops.dealers (
    dealer_code text primary key,
    dealer_name text not null,
    region text not null,
    brand text not null,
    timezone text not null,
    is_registered boolean not null,
    first_seen_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create table if not exists ops.load_batches (
    batch_id uuid primary key,
    source text not null,
    dealer_code text,
    object text,
    started_at timestamptz not null,
    finished_at timestamptz,
    status text not null check (status in ('running', 'loaded', 'rejected', 'failed')),
    rows_in integer not null default 0,
    rows_loaded integer not null default 0,
    rows_quarantined integer not null default 0,
    detail jsonb not null default '{}'::jsonb
);

-- One row per landed file; a file is identified by its content hash within its dealer.
create table if not exists ops.landed_files (
    dealer_code text not null,
    content_sha256 text not null,
    file_name text not null,
    object text not null,
    batch_id uuid not null references ops.load_batches (batch_id),
    status text not null check (status in ('loaded', 'rejected')),
    rows_in integer not null,
    rows_loaded integer not null,
    rows_quarantined integer not null,
    landed_at timestamptz not null default now(),
    primary key (dealer_code, content_sha256)
);

create table if not exists ops.quarantine (
    quarantine_id bigserial primary key,
    batch_id uuid not null references ops.load_batches (batch_id),
    source text not null,
    dealer_code text,
    object text not null,
    file_name text,
    row_number integer,
    record jsonb,
    reason text not null,
    quarantined_at timestamptz not null default now()
);
create index if not exists quarantine_batch_idx on ops.quarantine (batch_id);

create table if not exists ops.watermarks (
    source text not null,
    account text not null,
    watermark text not null,
    updated_at timestamptz not null default now(),
    primary key (source, account)
);

create table if not exists ops.alerts (
    alert_id bigserial primary key,
    rule text not null,
    dealer_code text not null,
    metric text not null,
    period_start date not null,
    observed numeric,
    threshold numeric,
    severity text not null,
    status text not null check (status in ('open', 'resolved')),
    first_fired_at timestamptz not null,
    last_seen_at timestamptz not null,
    notified_at timestamptz,
    resolved_at timestamptz,
    detail jsonb not null default '{}'::jsonb
);
create unique index if not exists alerts_one_open_episode
    on ops.alerts (rule, dealer_code, metric) where status = 'open';

create table if not exists ops.run_log (
    run_log_id bigserial primary key,
    dag_id text not null,
    run_id text not null,
    task_id text not null,
    logged_at timestamptz not null default now(),
    status text not null,
    detail jsonb not null default '{}'::jsonb
);

-- raw: dealer CRM export files -------------------------------------------------------------
-- Typed key columns beside the whole source row as jsonb (every column of the file is kept)
-- and load metadata. Unique on (dealer, file hash, row) so a file can never land twice.

create table if not exists raw.dealer_export__leads (
    lead_id text not null,
    created_at timestamptz not null,
    assigned_at timestamptz,
    payload jsonb not null,
    _dealer_code text not null,
    _source text not null,
    _batch_id uuid not null,
    _extracted_at timestamptz not null,
    _file_name text not null,
    _file_sha256 text not null,
    _row_number integer not null,
    unique (_dealer_code, _file_sha256, _row_number)
);

create table if not exists raw.dealer_export__stage_events (
    lead_id text not null,
    stage text not null,
    occurred_at timestamptz not null,
    payload jsonb not null,
    _dealer_code text not null,
    _source text not null,
    _batch_id uuid not null,
    _extracted_at timestamptz not null,
    _file_name text not null,
    _file_sha256 text not null,
    _row_number integer not null,
    unique (_dealer_code, _file_sha256, _row_number)
);

create table if not exists raw.dealer_export__followups (
    lead_id text not null,
    occurred_at timestamptz not null,
    payload jsonb not null,
    _dealer_code text not null,
    _source text not null,
    _batch_id uuid not null,
    _extracted_at timestamptz not null,
    _file_name text not null,
    _file_sha256 text not null,
    _row_number integer not null,
    unique (_dealer_code, _file_sha256, _row_number)
);

-- raw: API sources --------------------------------------------------------------------------
-- One shape for every API object: the record exactly as the API returned it (payload jsonb, the
-- documented wire format), its natural key (record_id) within the account, the source's own
-- updated time, and load metadata. Loads merge on (account_id, record_id): a re-run or a
-- duplicate is a no-op, a later record_updated_at wins (late updates), an older one is ignored.


-- Meta Lead Ads lead (Graph API /{form_id}/leads): id
create table if not exists raw.meta__leads (
    record_id text not null,
    account_id text not null,
    record_updated_at timestamptz,
    payload jsonb not null,
    _dealer_code text not null,
    _source text not null,
    _batch_id uuid not null,
    _extracted_at timestamptz not null,
    primary key (account_id, record_id)
);

-- Meta Insights daily row per campaign (level=campaign, time_increment=1): campaign_id|date_start
create table if not exists raw.meta__insights (
    record_id text not null,
    account_id text not null,
    record_updated_at timestamptz,
    payload jsonb not null,
    _dealer_code text not null,
    _source text not null,
    _batch_id uuid not null,
    _extracted_at timestamptz not null,
    primary key (account_id, record_id)
);

-- Google Ads lead_form_submission_data row: resource_name
create table if not exists raw.google_ads__lead_form_submissions (
    record_id text not null,
    account_id text not null,
    record_updated_at timestamptz,
    payload jsonb not null,
    _dealer_code text not null,
    _source text not null,
    _batch_id uuid not null,
    _extracted_at timestamptz not null,
    primary key (account_id, record_id)
);

-- Google Ads GAQL campaign x segments.date row: campaign.id|segments.date
create table if not exists raw.google_ads__campaign_costs (
    record_id text not null,
    account_id text not null,
    record_updated_at timestamptz,
    payload jsonb not null,
    _dealer_code text not null,
    _source text not null,
    _batch_id uuid not null,
    _extracted_at timestamptz not null,
    primary key (account_id, record_id)
);

-- Salesforce Lead sObject: Id
create table if not exists raw.salesforce__leads (
    record_id text not null,
    account_id text not null,
    record_updated_at timestamptz,
    payload jsonb not null,
    _dealer_code text not null,
    _source text not null,
    _batch_id uuid not null,
    _extracted_at timestamptz not null,
    primary key (account_id, record_id)
);

-- Salesforce Opportunity sObject: Id
create table if not exists raw.salesforce__opportunities (
    record_id text not null,
    account_id text not null,
    record_updated_at timestamptz,
    payload jsonb not null,
    _dealer_code text not null,
    _source text not null,
    _batch_id uuid not null,
    _extracted_at timestamptz not null,
    primary key (account_id, record_id)
);

-- Salesforce LeadHistory row: Id
create table if not exists raw.salesforce__lead_history (
    record_id text not null,
    account_id text not null,
    record_updated_at timestamptz,
    payload jsonb not null,
    _dealer_code text not null,
    _source text not null,
    _batch_id uuid not null,
    _extracted_at timestamptz not null,
    primary key (account_id, record_id)
);

-- Salesforce OpportunityHistory row: Id
create table if not exists raw.salesforce__opportunity_history (
    record_id text not null,
    account_id text not null,
    record_updated_at timestamptz,
    payload jsonb not null,
    _dealer_code text not null,
    _source text not null,
    _batch_id uuid not null,
    _extracted_at timestamptz not null,
    primary key (account_id, record_id)
);

-- Salesforce Task (follow-up activity): Id
create table if not exists raw.salesforce__tasks (
    record_id text not null,
    account_id text not null,
    record_updated_at timestamptz,
    payload jsonb not null,
    _dealer_code text not null,
    _source text not null,
    _batch_id uuid not null,
    _extracted_at timestamptz not null,
    primary key (account_id, record_id)
);

-- Salesforce User (consultant): Id
create table if not exists raw.salesforce__users (
    record_id text not null,
    account_id text not null,
    record_updated_at timestamptz,
    payload jsonb not null,
    _dealer_code text not null,
    _source text not null,
    _batch_id uuid not null,
    _extracted_at timestamptz not null,
    primary key (account_id, record_id)
);

-- HubSpot CRM v3 contact: id
create table if not exists raw.hubspot__contacts (
    record_id text not null,
    account_id text not null,
    record_updated_at timestamptz,
    payload jsonb not null,
    _dealer_code text not null,
    _source text not null,
    _batch_id uuid not null,
    _extracted_at timestamptz not null,
    primary key (account_id, record_id)
);

-- HubSpot CRM v3 deal (with propertiesWithHistory.dealstage): id
create table if not exists raw.hubspot__deals (
    record_id text not null,
    account_id text not null,
    record_updated_at timestamptz,
    payload jsonb not null,
    _dealer_code text not null,
    _source text not null,
    _batch_id uuid not null,
    _extracted_at timestamptz not null,
    primary key (account_id, record_id)
);

-- HubSpot owner: id
create table if not exists raw.hubspot__owners (
    record_id text not null,
    account_id text not null,
    record_updated_at timestamptz,
    payload jsonb not null,
    _dealer_code text not null,
    _source text not null,
    _batch_id uuid not null,
    _extracted_at timestamptz not null,
    primary key (account_id, record_id)
);

-- HubSpot deal pipeline with its stages: id
create table if not exists raw.hubspot__pipelines (
    record_id text not null,
    account_id text not null,
    record_updated_at timestamptz,
    payload jsonb not null,
    _dealer_code text not null,
    _source text not null,
    _batch_id uuid not null,
    _extracted_at timestamptz not null,
    primary key (account_id, record_id)
);

-- Eventbrite attendee: id
create table if not exists raw.eventbrite__attendees (
    record_id text not null,
    account_id text not null,
    record_updated_at timestamptz,
    payload jsonb not null,
    _dealer_code text not null,
    _source text not null,
    _batch_id uuid not null,
    _extracted_at timestamptz not null,
    primary key (account_id, record_id)
);

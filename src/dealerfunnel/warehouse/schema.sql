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
-- The sales manager charged with the assignment SLA (config/dealers.yml `manager`); null: the
-- dealer as a whole ("(dealer)" in the marts).
alter table ops.dealers add column if not exists manager text;

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

-- One row per landed file name and content. Content (its hash within its dealer) is loaded
-- once: the row without duplicate_of. A byte-identical copy under another name gets its own
-- row: status 'duplicate', duplicate_of = the first file's name, the first's batch, 0 rows.
-- encoding: utf-8, utf-8-sig (leading BOMs stripped), gb18030, xlsx; null when undecodable.
create table if not exists ops.landed_files (
    dealer_code text not null,
    content_sha256 text not null,
    file_name text not null,
    object text not null,
    batch_id uuid not null references ops.load_batches (batch_id),
    status text not null
        constraint landed_files_status_check
        check (status in ('loaded', 'rejected', 'empty', 'duplicate')),
    rows_in integer not null,
    rows_loaded integer not null,
    rows_quarantined integer not null,
    landed_at timestamptz not null default now(),
    encoding text,
    reason text,
    duplicate_of text,
    primary key (dealer_code, content_sha256, file_name)
);
alter table ops.landed_files add column if not exists encoding text;
alter table ops.landed_files add column if not exists reason text;
alter table ops.landed_files add column if not exists duplicate_of text;
-- Databases created before duplicates were recorded: key on (dealer, hash, name), new statuses.
do $$
begin
    if exists (
        select 1 from pg_constraint
        where conrelid = 'ops.landed_files'::regclass and contype = 'p'
            and cardinality(conkey) = 2
    ) then
        alter table ops.landed_files drop constraint landed_files_pkey;
        alter table ops.landed_files
            add primary key (dealer_code, content_sha256, file_name);
    end if;
    if not exists (
        select 1 from pg_constraint
        where conrelid = 'ops.landed_files'::regclass
            and conname = 'landed_files_status_check'
            and pg_get_constraintdef(oid) like '%duplicate%'
    ) then
        alter table ops.landed_files drop constraint if exists landed_files_status_check;
        alter table ops.landed_files add constraint landed_files_status_check
            check (status in ('loaded', 'rejected', 'empty', 'duplicate'));
    end if;
end
$$;
create unique index if not exists landed_files_content_once
    on ops.landed_files (dealer_code, content_sha256) where duplicate_of is null;

-- What a landing file looked like (size:mtime_ns:ctime_ns:inode, stat taken before it was
-- read) when its content, content_sha256, was landed. The listing of the next run skips a
-- file whose stat still matches and whose content is still in ops.landed_files, without
-- reading or hashing it. fingerprint is null (never trusted) for object storage and for a
-- file changed too shortly before it was read (dealerfunnel.landing.files.file_fingerprint).
create table if not exists ops.landing_file_checks (
    dealer_code text not null,
    folder text not null,
    file_name text not null,
    fingerprint text,
    content_sha256 text not null,
    checked_at timestamptz not null default now(),
    primary key (dealer_code, folder, file_name)
);

-- Quarantined rows: row_number is the data row's ordinal in its file (blank lines not
-- counted), line_number the physical line it starts on (1-based, header = line 1; the
-- worksheet row for XLSX), raw_text its text as in the file (truncated; raw_length is the
-- full length in characters), record the row as jsonb when it could be cut into fields.
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
    quarantined_at timestamptz not null default now(),
    line_number integer,
    raw_text text,
    raw_length integer
);
alter table ops.quarantine add column if not exists line_number integer;
alter table ops.quarantine add column if not exists raw_text text;
alter table ops.quarantine add column if not exists raw_length integer;
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
-- Episode key: (rule, dealer_code, metric, subject); subject names the dimensions of the
-- breach (e.g. 'channel=meta', 'grade=A', a data-quality check), '' when there are none.
-- dealer_code '*' is a group-wide episode (data quality).
alter table ops.alerts add column if not exists subject text not null default '';
alter table ops.alerts add column if not exists rule_type text not null default 'threshold';
-- suppressed: fired within the suppression window of an earlier episode of the same key,
-- recorded but never notified. deliveries_done: every routed recipient got what it needs.
alter table ops.alerts add column if not exists suppressed boolean not null default false;
alter table ops.alerts add column if not exists deliveries_done boolean not null default false;
drop index if exists ops.alerts_one_open_episode;
create unique index if not exists alerts_one_open_episode_per_subject
    on ops.alerts (rule, dealer_code, metric, subject) where status = 'open';
create index if not exists alerts_pending_delivery_idx
    on ops.alerts (alert_id) where not deliveries_done;

-- One row per delivery attempt of an episode to one recipient channel. A (alert, recipient,
-- kind) is delivered once: at most one 'sent' row (unique index); failed attempts are kept.
create table if not exists ops.alert_deliveries (
    delivery_id bigserial primary key,
    alert_id bigint not null references ops.alerts (alert_id) on delete cascade,
    channel text not null,
    recipient text not null,
    kind text not null check (kind in ('notify', 'recovery')),
    attempt integer not null,
    attempted_at timestamptz not null default now(),
    status text not null check (status in ('sent', 'failed')),
    error text
);
create unique index if not exists alert_deliveries_once
    on ops.alert_deliveries (alert_id, recipient, kind) where status = 'sent';

-- One row per attempt to send a dealer's weekly digest (the week's headline figures and the link
-- to the dealer's report page; dealerfunnel.notify.digest) to one recipient channel. A (dealer,
-- week, recipient) is sent once: at most one 'sent' row (unique index), so a re-run or a second
-- run in the same week sends nothing again; failed attempts are kept and retried on the next run.
create table if not exists ops.report_digests (
    digest_id bigserial primary key,
    dealer_code text not null,
    week_start date not null,
    channel text not null,
    recipient text not null,
    attempt integer not null,
    attempted_at timestamptz not null default now(),
    status text not null check (status in ('sent', 'failed')),
    error text
);
create unique index if not exists report_digests_once
    on ops.report_digests (dealer_code, week_start, recipient) where status = 'sent';

-- Quality gates (GX checkpoints, dbt tests and models): one row per gate run, and
-- one row per failed check of that run. Feeds the data-quality alert rule.
create table if not exists ops.quality_runs (
    quality_run_id bigserial primary key,
    checkpoint text not null,
    run_id text,
    checked_at timestamptz not null default now(),
    success boolean not null,
    evaluated integer not null default 0,
    blocking_failures integer not null default 0,
    warnings integer not null default 0,
    skipped jsonb not null default '[]'::jsonb,
    data_docs_url text,
    detail jsonb not null default '{}'::jsonb
);
create index if not exists quality_runs_checkpoint_idx
    on ops.quality_runs (checkpoint, quality_run_id desc);

-- Each dbt build of the write-audit-publish run whose models all built (README.md, "Incremental
-- builds"): the fingerprint of what the models depend on besides the data (the dbt project's files,
-- the dbt version, the dealer registry, the PII hash key's digest). A build whose fingerprint differs
-- from the last one's is a full refresh; otherwise incremental models redo only what changed.
create table if not exists ops.dbt_builds (
    dbt_build_id bigserial primary key,
    started_at timestamptz not null,
    finished_at timestamptz not null default now(),
    fingerprint text not null,
    is_full_refresh boolean not null,
    reason text not null
);

-- The database role a load or a gate ran as (DESIGN.md §5: extract tasks work as
-- dealerfunnel_loader, dbt and the gates as dealerfunnel_transformer); NULL before it was kept.
alter table ops.load_batches add column if not exists loaded_by text;
alter table ops.load_batches alter column loaded_by set default current_user;

-- The transaction that wrote the batch row (for a landed file, the one that landed its rows;
-- README.md, "Incremental builds"). A dealer-export staging model reads the batches whose
-- xact_id is at least the oldest transaction still in progress when it last read
-- (pg_snapshot_xmin): every batch it has not seen, however late its transaction committed, and no
-- lookback window. Added without a default first, so rows written before it stay NULL (read by
-- then) instead of all getting the xid of the transaction that adds the column.
alter table ops.load_batches add column if not exists xact_id xid8;
alter table ops.load_batches alter column xact_id set default pg_current_xact_id();
create index if not exists load_batches_xact_id_idx on ops.load_batches (xact_id);
alter table ops.quality_runs add column if not exists checked_by text;
alter table ops.quality_runs alter column checked_by set default current_user;

-- The load batches the raw quality gate (funnel_transform.validate_raw) has checked. A finished
-- batch (ops.load_batches.status <> 'running') is listed when a gate starts; the gate's
-- row-level expectations run on the rows of the batches not yet passed; passed is set when
-- the gate ends without a blocking failure. A batch listed by a failed gate stays pending and
-- is checked again by the next one.
create table if not exists ops.raw_gate_batches (
    batch_id uuid primary key,
    passed boolean not null default false,
    listed_at timestamptz not null default now(),
    passed_at timestamptz
);
create index if not exists raw_gate_batches_pending_idx
    on ops.raw_gate_batches (batch_id) where not passed;

create table if not exists ops.quality_failures (
    quality_run_id bigint not null references ops.quality_runs (quality_run_id)
        on delete cascade,
    check_key text not null,
    source text not null check (source in ('gx', 'dbt_test', 'dbt_model', 'gate')),
    suite text,
    check_name text not null,
    severity text not null check (severity in ('blocking', 'warning')),
    observed text,
    detail jsonb not null default '{}'::jsonb,
    primary key (quality_run_id, check_key)
);

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
-- Created by dealerfunnel.warehouse.schema from FILE_RAW_TABLES: typed key columns beside the
-- whole source row as jsonb (every column of the file is kept) and load metadata. Unique on
-- (dealer, file hash, row) so a file can never land twice.


-- raw: API sources ---------------------------------------------------------------------------
-- Created by dealerfunnel.warehouse.schema from API_RAW_TABLES: one shape for every API object.

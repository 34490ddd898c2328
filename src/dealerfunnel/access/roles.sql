-- Roles and grants of the warehouse (DESIGN.md §5 "Who may read what"). Idempotent: run on
-- every pipeline run by dealerfunnel.access.ensure_roles, under an advisory lock (roles are
-- cluster-wide, so concurrent runs on other databases would race).
--
--   dealerfunnel_loader       writes raw and ops (extract tasks); reads nothing of marts
--   dealerfunnel_transformer  dbt: reads raw and ops, owns staging/intermediate/marts, records
--                             its quality gate runs (ops.quality_runs, ops.quality_failures)
--   dealerfunnel_hq_reader    reads every row of marts
--   dealerfunnel_dealer_reader  group of the dealer readers: reads marts, rows limited by
--                             row-level security to the dealers in ops.reader_dealers
-- Readers reach marts (and the access.reader_scope view the policies use) only.

do $roles$
begin
    if not exists (select from pg_roles where rolname = 'dealerfunnel_loader') then
        create role dealerfunnel_loader nologin;
    end if;
    if not exists (select from pg_roles where rolname = 'dealerfunnel_transformer') then
        create role dealerfunnel_transformer nologin;
    end if;
    if not exists (select from pg_roles where rolname = 'dealerfunnel_hq_reader') then
        create role dealerfunnel_hq_reader nologin;
    end if;
    if not exists (select from pg_roles where rolname = 'dealerfunnel_dealer_reader') then
        create role dealerfunnel_dealer_reader nologin;
    end if;
end
$roles$;

create table if not exists ops.reader_dealers (
    role_name text not null,
    dealer_code text not null,
    granted_at timestamptz not null default now(),
    primary key (role_name, dealer_code)
);

create schema if not exists access;

-- The dealers the current role may read. A plain view runs with its owner's rights on
-- ops.reader_dealers, while current_user is still the reader: readers need no access to ops.
create or replace view access.reader_scope as
select reader_dealers.dealer_code
from ops.reader_dealers
where pg_has_role(current_user, reader_dealers.role_name, 'MEMBER');

-- The pipeline's tasks work as the loader and the transformer, as logins of their own (Airflow
-- Connections warehouse_loader / warehouse_transformer) or as this admin login with its sessions
-- started as those roles (dealerfunnel.warehouse.connection.task_warehouse_url): a non-superuser
-- admin becomes a member of both.
do $members$
begin
    if not (select rolsuper from pg_roles where rolname = current_user) then
        if not pg_has_role(current_user, 'dealerfunnel_loader', 'MEMBER') then
            grant dealerfunnel_loader to current_user;
        end if;
        if not pg_has_role(current_user, 'dealerfunnel_transformer', 'MEMBER') then
            grant dealerfunnel_transformer to current_user;
        end if;
    end if;
end
$members$;

-- nothing is open to PUBLIC in the pipeline's schemas
revoke all on schema raw, ops, access from public;
revoke all on all tables in schema raw, ops from public;

-- loader: writes raw and ops
grant usage, create on schema raw, ops to dealerfunnel_loader;
grant select, insert, update, delete on all tables in schema raw, ops to dealerfunnel_loader;
grant usage, select on all sequences in schema raw, ops to dealerfunnel_loader;
alter default privileges in schema raw, ops
    grant select, insert, update, delete on tables to dealerfunnel_loader;
alter default privileges in schema raw, ops
    grant usage, select on sequences to dealerfunnel_loader;

-- transformer: reads raw and ops, builds the dbt schemas
grant usage on schema raw, ops to dealerfunnel_transformer;
grant select on all tables in schema raw, ops to dealerfunnel_transformer;
alter default privileges in schema raw, ops grant select on tables to dealerfunnel_transformer;
-- ... records the runs of its quality gates ...
grant insert on ops.quality_runs, ops.quality_failures to dealerfunnel_transformer;
-- the raw gate keeps which load batches it has checked
grant insert, update on ops.raw_gate_batches to dealerfunnel_transformer;
grant usage on sequence ops.quality_runs_quality_run_id_seq to dealerfunnel_transformer;
grant insert on ops.dbt_builds to dealerfunnel_transformer;
grant usage on sequence ops.dbt_builds_dbt_build_id_seq to dealerfunnel_transformer;
-- ... and names access.reader_scope in the row-level security policies of the marts
grant usage on schema access to dealerfunnel_transformer;

-- readers: the scope view only, outside marts
grant usage on schema access to dealerfunnel_hq_reader, dealerfunnel_dealer_reader;
grant select on access.reader_scope to dealerfunnel_hq_reader, dealerfunnel_dealer_reader;

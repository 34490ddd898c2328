-- Roles and grants of the warehouse (DESIGN.md §5 "Who may read what"). Idempotent: run on
-- every pipeline run by dealerfunnel.access.ensure_roles, under an advisory lock (roles are
-- cluster-wide, so concurrent runs on other databases would race).
--
--   dealerfunnel_loader       writes raw and ops (extract tasks); reads nothing of marts
--   dealerfunnel_transformer  dbt: reads raw and ops, owns staging/intermediate/marts
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

-- nothing is open to PUBLIC in the pipeline's schemas
revoke all on schema raw, ops, access from public;
revoke all on all tables in schema raw, ops from public;

-- loader: writes raw and ops
grant usage, create on schema raw, ops to dealerfunnel_loader;
grant select, insert, update, delete on all tables in schema raw, ops to dealerfunnel_loader;
grant usage, select on all sequences in schema raw, ops to dealerfunnel_loader;
alter default privileges in schema raw, ops
    grant select, insert, update, delete on tables to dealerfunnel_loader;

-- transformer: reads raw and ops, builds the dbt schemas
grant usage on schema raw, ops to dealerfunnel_transformer;
grant select on all tables in schema raw, ops to dealerfunnel_transformer;
alter default privileges in schema raw, ops grant select on tables to dealerfunnel_transformer;

-- readers: the scope view only, outside marts
grant usage on schema access to dealerfunnel_hq_reader, dealerfunnel_dealer_reader;
grant select on access.reader_scope to dealerfunnel_hq_reader, dealerfunnel_dealer_reader;

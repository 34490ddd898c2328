{#-
    Post-hook of every mart (dbt_project.yml): who may read it (DESIGN.md §5).
    - Row-level security is always enabled on a mart with a dealer_code column: with no policy a
      reader sees no row (fail closed). The table's owner (the pipeline) is not subject to it.
    - Where the project's roles exist (dealerfunnel.access.ensure_roles ran), the readers get
      USAGE on the schema and SELECT on the table, and one policy lets HQ readers see every row
      and a dealer reader the rows of the dealers mapped to it (access.reader_scope).
    - A view runs with the reader's rights (security_invoker), so RLS of its tables applies.
    Recreated tables get all of it again, so the write-audit-publish swap keeps it.
-#}
{% macro apply_reader_access() -%}
    {%- set has_dealer_code = 'dealer_code' in model.columns -%}
    {%- set is_view = model.config.materialized == 'view' -%}
    {%- if is_view %}
        alter view {{ this }} set (security_invoker = true);
    {%- elif has_dealer_code %}
        alter table {{ this }} enable row level security;
    {%- endif %}
    do $access$
    begin
        if exists (select from pg_roles where rolname = 'dealerfunnel_hq_reader')
            and to_regclass('access.reader_scope') is not null then
            -- dbt builds models in parallel threads: one grant on the schema at a time, or
            -- PostgreSQL fails with "tuple concurrently updated" (held to the model's commit)
            perform pg_advisory_xact_lock(hashtext('dealerfunnel.reader_grants'));
            grant usage on schema {{ adapter.quote(this.schema) }}
                to dealerfunnel_hq_reader, dealerfunnel_dealer_reader;
            grant select on {{ this }} to dealerfunnel_hq_reader, dealerfunnel_dealer_reader;
            {%- if has_dealer_code and not is_view %}
            drop policy if exists reader_dealer_rows on {{ this }};
            create policy reader_dealer_rows on {{ this }} for select
                using (
                    pg_has_role(current_user, 'dealerfunnel_hq_reader', 'MEMBER')
                    or dealer_code in (select reader_scope.dealer_code from access.reader_scope)
                );
            {%- endif %}
        end if;
    end
    $access$;
{%- endmacro %}

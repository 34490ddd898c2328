{#-
    Incremental filter of an API source's rows in a unioned model: the rows loaded since the newest
    extracted_at of that source (source_system) the model already holds, minus var
    incremental_lookback_minutes (late-committed loads). Renders nothing on a full build.

    The watermark is the source's own, not global: a source added to a running warehouse (its raw
    table already filled by the connector for weeks) has no rows in the model yet, so its
    watermark is -infinity and all its rows are read on the next incremental run, instead of
    being skipped by another source's newer watermark. The dealer export is read exactly instead
    (refreshed_source_filter).
-#}
{% macro incremental_source_filter(source_system) -%}
    {%- if is_incremental() %}
        where extracted_at > (
            select
                coalesce(max(extracted_at), '-infinity'::timestamptz)
                - interval '{{ var("incremental_lookback_minutes") }} minutes'
            from {{ this }}
            where source_system = '{{ source_system }}'
        )
    {%- endif %}
{%- endmacro %}

{#-
    Incremental filter of an incremental staging table's rows in a unioned model (the dealer
    export's: macro dealer_export_staging_config): the rows the staging table wrote after the
    newest refreshed_at this model holds of that source (source_system). Exact, with no lookback:
    the staging table reads its load batches exactly (macro unread_batches_filter) and is built
    before this model in the same dbt run, so a row it wrote in an earlier run was read then. A
    source with no rows here yet is read in full. Renders nothing on a full build.
-#}
{% macro refreshed_source_filter(source_system) -%}
    {%- if is_incremental() %}
        where refreshed_at > (
            select coalesce(max(refreshed_at), '-infinity'::timestamptz)
            from {{ this }}
            where source_system = '{{ source_system }}'
        )
    {%- endif %}
{%- endmacro %}

{#-
    Incremental lead-grain models (README.md, "Incremental builds"). Every row such a
    model writes carries refreshed_at = when this dbt invocation started; a model downstream reads
    only the rows refreshed after the newest refreshed_at it holds itself (refreshed_watermark), so
    a run that failed half-way, or a candidate schema one publish behind, catches up on its own.
-#}
{% macro refreshed_at() -%}
    {%- set started = run_started_at.isoformat() if run_started_at is defined else '1970-01-01T00:00:00+00:00' -%}
    '{{ started }}'::timestamptz
{%- endmacro %}

{#- The newest refreshed_at this model holds; -infinity on a full build (every row is new). -#}
{% macro refreshed_watermark() -%}
    {%- if is_incremental() -%}
        (select coalesce(max(refreshed_at), '-infinity'::timestamptz) from {{ this }})
    {%- else -%}
        '-infinity'::timestamptz
    {%- endif -%}
{%- endmacro %}

{#- The leads whose records int_lead_records_matched_to_leads refreshed since this model's watermark. -#}
{% macro changed_lead_keys() -%}
    {{ refreshed_lead_keys('int_lead_records_matched_to_leads') }}
{%- endmacro %}

{#-
    Pre-hook of an incremental model keyed by lead_key: delete the leads whose records were
    refreshed since this model's watermark, under their new key (lead_key) and under the key they
    may have had before (their own lead_record_key: a record that was a lead's primary record and
    no longer is, because its person merged with another or a re-enquiry split moved it). The
    model then inserts the leads that exist now (delete+insert on lead_key covers any overlap).
    A lead left with no row in this model (no stage events any more, say) stays deleted.
    more_lead_keys: the query of more leads to delete (a model whose rows of a lead depend on more
    than its records). Renders nothing on a full build.
-#}
{% macro delete_changed_leads(more_lead_keys=none) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where lead_key in (
            select lead_key
            from {{ ref('int_lead_records_matched_to_leads') }}
            where refreshed_at > {{ refreshed_watermark() }}
            union all
            select lead_record_key
            from {{ ref('int_lead_records_matched_to_leads') }}
            where refreshed_at > {{ refreshed_watermark() }}
            {%- if more_lead_keys %}
            union all
            {{ more_lead_keys }}
            {%- endif %}
        )
    {%- endif -%}
{%- endmacro %}

{#-
    The final select of an incremental unioned model: `cte`'s rows with row_hash (md5 of the row)
    and refreshed_at = this run. On an incremental run, a row re-read in the lookback window
    (incremental_source_filter) that is exactly the row this model holds is left out: it is
    neither rewritten nor new to the models downstream.
-#}
{% macro select_with_refreshed_at(cte, key) -%}
    select
        {{ cte }}.*,
        md5({{ cte }}::text) as row_hash,
        {{ refreshed_at() }} as refreshed_at
    from {{ cte }}
    {%- if is_incremental() %}
        left join {{ this }} as previous
            on {{ cte }}.{{ key }} = previous.{{ key }}
        where previous.row_hash is distinct from md5({{ cte }}::text)
    {%- endif %}
{%- endmacro %}

{#- The config of an incremental model keyed by lead_key: {{ config(**lead_incremental_config()) }};
    more_indexes: the model's own indexes besides lead_key and refreshed_at. -#}
{% macro lead_incremental_config(more_indexes=[]) -%}
    {%- do return({
        'materialized': 'incremental',
        'unique_key': 'lead_key',
        'incremental_strategy': 'delete+insert',
        'on_schema_change': 'append_new_columns',
        'indexes': [{'columns': ['lead_key'], 'unique': True}, {'columns': ['refreshed_at']}] + more_indexes,
        'pre_hook': '{{ delete_changed_leads() }}',
    }) -%}
{%- endmacro %}

{#-
    The leads one of whose follow-ups int_followups_unioned refreshed since this model's watermark
    (a new follow-up, or a new version of one), by the lead the follow-up is matched to now. A
    follow-up that moved to another lead moved because its record did: changed_lead_keys has both.
-#}
{% macro followup_changed_lead_keys() -%}
    {#- a semi-join, not `= any(array(...))`: PostgreSQL hashes a constant array only, and
        searched an array of every follow-up (a run after all leads changed) row by row, in
        time quadratic in the follow-ups -#}
    select matched.lead_key
    from {{ ref('int_followups_matched_to_leads') }} as matched
    where matched.followup_key in (
        select unioned.followup_key
        from {{ ref('int_followups_unioned') }} as unioned
        where unioned.refreshed_at > {{ refreshed_watermark() }}
    )
{%- endmacro %}

{#-
    The config of an incremental model with several rows per lead (lead_key), each lead's rows
    recomputed together: `key` is the row's own unique key, `changed_leads` the name of a macro
    returning the query of the leads a run recomputes (besides changed_lead_keys), more_indexes
    the model's own indexes besides those three. The pre-hook
    deletes every row of those leads and of the leads whose records changed (under both keys,
    macro delete_changed_leads), so a lead left with fewer rows, or none, keeps no stale one.
-#}
{% macro lead_rows_incremental_config(key, changed_leads, more_indexes=[]) -%}
    {%- do return({
        'materialized': 'incremental',
        'unique_key': 'lead_key',
        'incremental_strategy': 'delete+insert',
        'on_schema_change': 'append_new_columns',
        'indexes': [
            {'columns': [key], 'unique': True},
            {'columns': ['lead_key']},
            {'columns': ['refreshed_at']},
        ] + more_indexes,
        'pre_hook': '{{ delete_changed_leads(more_lead_keys=' ~ changed_leads ~ '()) }}',
    }) -%}
{%- endmacro %}

{#- The leads int_lead_grades_historized recomputes: their resolved lead or a follow-up changed. -#}
{% macro grade_changed_lead_keys() -%}
    {{ refreshed_lead_keys('int_leads_resolved') }}
    union all
    {{ followup_changed_lead_keys() }}
{%- endmacro %}

{#- The leads int_sales_contacts_graded recomputes: their SLA row, their grades or a follow-up
    changed. -#}
{% macro contact_changed_lead_keys() -%}
    {{ refreshed_lead_keys('int_leads_joined_to_sla_settings') }}
    union all
    {{ refreshed_lead_keys('int_lead_grades_historized') }}
    union all
    {{ followup_changed_lead_keys() }}
{%- endmacro %}

{#- The leads of `model` (a lead-grain incremental model upstream) it refreshed since this
    model's watermark. -#}
{% macro refreshed_lead_keys(model) -%}
    select lead_key
    from {{ ref(model) }}
    where refreshed_at > {{ refreshed_watermark() }}
{%- endmacro %}

{#-
    The leads int_sla_checks_evaluated recomputes: their SLA row, grade history, sales contacts or
    follow-ups changed since its watermark, or one of their checks fell due (macro
    sla_check_due_lead_keys).
-#}
{% macro sla_check_changed_lead_keys() -%}
    {{ contact_changed_lead_keys() }}
    union all
    {{ refreshed_lead_keys('int_sales_contacts_graded') }}
    union all
    {{ sla_check_due_lead_keys() }}
{%- endmacro %}

{#-
    The unchanged leads that have a check to list because their dealer's data_as_of_at moved (a check
    is listed once met, or once its due_at has passed by that time): previous_as_of_at is the
    newest data_as_of_at at which this model evaluated a lead of the dealer (evaluated_as_of_at,
    found through the (dealer_code, evaluated_as_of_at) index), so a dealer whose checks were all
    up to date at previous_as_of_at needs only the leads with something due in
    (previous_as_of_at, data_as_of_at]:
    - a business-day check not met whose due_at falls in it;
    - a grade-cadence check whose due_at falls in it and whose next contact did not come by then;
    - an interested lead still in the stage at previous_as_of_at, when a dealer-local Monday 00:00
      falls in it (its span may now hold one more whole week).
    A superset is harmless: such a lead's checks are recomputed as they are. A dealer whose
    data_as_of_at went back (its latest rows replaced by older ones) has every lead recomputed; a
    dealer with no checks here yet has previous_as_of_at -infinity.
-#}
{% macro sla_check_due_lead_keys() -%}
    select leads.lead_key
    from {{ ref('int_leads_joined_to_sla_settings') }} as leads
    inner join (
        {{- sla_check_as_of_moves() }}
    ) as moved
        on leads.dealer_code = moved.dealer_code
    where
        moved.data_as_of_at < moved.previous_as_of_at
        or (
            not coalesce(leads.is_assignment_sla_met, false)
            and leads.assignment_due_at > moved.previous_as_of_at
            and leads.assignment_due_at <= moved.data_as_of_at
        )
        or (
            not coalesce(leads.is_first_contact_sla_met, false)
            and leads.first_contact_due_at > moved.previous_as_of_at
            and leads.first_contact_due_at <= moved.data_as_of_at
        )
        or (
            leads.interested_at is not null
            and coalesce(leads.left_interested_at, 'infinity'::timestamptz) > moved.previous_as_of_at
            and date_trunc('week', moved.data_as_of_at at time zone leads.dealer_timezone)
            > moved.previous_as_of_at at time zone leads.dealer_timezone
        )
    union all
    select contacts.lead_key
    from {{ ref('int_sales_contacts_graded') }} as contacts
    inner join {{ ref('int_leads_joined_to_sla_settings') }} as leads
        on contacts.lead_key = leads.lead_key
    inner join (
        {{- sla_check_as_of_moves() }}
    ) as moved
        on leads.dealer_code = moved.dealer_code
    where
        contacts.cadence_max_days is not null
        and contacts.occurred_at + contacts.cadence_max_days * interval '1 day' > moved.previous_as_of_at
        and contacts.occurred_at + contacts.cadence_max_days * interval '1 day' <= moved.data_as_of_at
        and coalesce(
            contacts.next_contact_at > contacts.occurred_at + contacts.cadence_max_days * interval '1 day',
            true
        )
{%- endmacro %}

{#- The dealers whose data_as_of_at differs from the one this model last evaluated them at. -#}
{% macro sla_check_as_of_moves() %}
        select
            dealers.dealer_code,
            dealers.data_as_of_at,
            coalesce(previous.evaluated_as_of_at, '-infinity'::timestamptz) as previous_as_of_at
        from {{ ref('int_activity_aggregated_to_dealers') }} as dealers
        left join lateral (
            select max(evaluated.evaluated_as_of_at) as evaluated_as_of_at
            from {{ this }} as evaluated
            where evaluated.dealer_code = dealers.dealer_code
        ) as previous on true
        where dealers.data_as_of_at is distinct from previous.evaluated_as_of_at
{% endmacro %}

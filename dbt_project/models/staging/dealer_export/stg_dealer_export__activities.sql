{%- set key_columns = ['activity_key'] %}
{{ config(**dealer_export_staging_config(key_columns)) }}
-- One row per distinct activity of a lead: dealer × lead_id × activity × occurred_at × consultant ×
-- outcome × detail. The same activity exported again (identical content) is kept once.

with

source as (

    select * from {{ source('dealer_export', 'dealer_export__activities') }}
    {{ unread_batches_filter() }}

),

cleaned as (

    select
        _dealer_code as dealer_code,
        lead_id as source_lead_id,
        activity,
        occurred_at,
        {{ normalize_person_name("payload ->> 'consultant'") }} as consultant,
        nullif(regexp_replace(lower(btrim(payload ->> 'outcome')), '[\s-]+', '_', 'g'), '') as outcome,
        nullif(btrim(payload ->> 'detail'), '') as detail,
        {{ dealer_export_file_columns() }}
    from source

),

ranked as (

    select
        *,
        row_number() over (
            partition by dealer_code, source_lead_id, activity, occurred_at, consultant, outcome, detail
            order by extracted_at desc, file_name desc, file_row_number desc
        ) as duplicate_rank
    from cleaned

),

final as (

    select
        md5(
            dealer_code || '|dealer_export|' || source_lead_id || '|' || activity || '|'
            || to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '|'
            || coalesce(consultant, '') || '|' || coalesce(outcome, '') || '|' || coalesce(detail, '')
        ) as activity_key,
        dealer_code,
        'dealer_export'::text as source_system,
        source_lead_id,
        activity,
        occurred_at,
        consultant,
        outcome,
        detail,
        batch_id,
        file_name,
        file_row_number,
        extracted_at,
        {{ dealer_export_refresh_columns() }}
    from ranked
    where duplicate_rank = 1

),

new_versions as (

    {{ select_new_versions('final', key_columns) }}

)

select * from new_versions

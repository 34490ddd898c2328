{%- set key_columns = ['followup_key'] %}
{{ config(**dealer_export_staging_config(key_columns)) }}
-- One row per distinct follow-up: dealer × lead_id × occurred_at × method × consultant × note.
-- The same follow-up exported again (identical content) is kept once (the latest copy's outcome,
-- grade, purpose and recorded_at). outcome: lower case, spaces and hyphens as '_' ('No Answer' ->
-- no_answer); grade: upper case (the lead's grade after this follow-up); purpose: sales or
-- after_sales (validated by the loader), null when not given.

with

source as (

    select * from {{ source('dealer_export', 'dealer_export__followups') }}
    {{ unread_batches_filter() }}

),

cleaned as (

    select
        _dealer_code as dealer_code,
        lead_id as source_lead_id,
        occurred_at,
        nullif(lower(trim(payload ->> 'method')), '') as contact_method,
        nullif(trim(payload ->> 'consultant'), '') as consultant,
        nullif(trim(payload ->> 'note'), '') as note,
        nullif(regexp_replace(lower(btrim(payload ->> 'outcome')), '[\s-]+', '_', 'g'), '') as outcome,
        nullif(upper(btrim(payload ->> 'grade')), '') as grade,
        nullif(lower(btrim(payload ->> 'purpose')), '') as purpose,
        recorded_at,
        {{ dealer_export_file_columns() }}
    from source

),

ranked as (

    select
        *,
        row_number() over (
            partition by dealer_code, source_lead_id, occurred_at, contact_method, consultant, note
            order by extracted_at desc, file_name desc, file_row_number desc
        ) as duplicate_rank
    from cleaned

),

final as (

    select
        md5(
            dealer_code || '|dealer_export|' || source_lead_id || '|'
            || to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '|'
            || coalesce(contact_method, '') || '|' || coalesce(consultant, '') || '|' || coalesce(note, '')
        ) as followup_key,
        dealer_code,
        'dealer_export'::text as source_system,
        source_lead_id,
        occurred_at,
        contact_method,
        consultant,
        note,
        outcome,
        grade,
        purpose,
        recorded_at,
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

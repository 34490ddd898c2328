{%- set key_columns = ['survey_key'] %}
{{ config(**dealer_export_staging_config(key_columns)) }}
-- One row per dealer × lead_id × occurred_at × survey kind: the satisfaction answers of the export
-- files, with exact duplicates (the same answer exported again) collapsed, the latest loaded copy
-- kept. satisfaction_score puts every answer on one 0-10 scale (macro satisfaction_score: score × 10
-- ÷ scale_max, a 4 on a 5-point scale is 8), so dealers that survey on different scales compare.

with

source as (

    select * from {{ source('dealer_export', 'dealer_export__surveys') }}
    {{ unread_batches_filter() }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by _dealer_code, lead_id, occurred_at, coalesce(kind, '')
            order by _extracted_at desc, _file_name desc, _row_number desc
        ) as duplicate_rank
    from source

),

renamed as (

    select
        md5(
            _dealer_code || '|dealer_export|' || lead_id || '|'
            || to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '|'
            || coalesce(kind, '')
        ) as survey_key,
        _dealer_code as dealer_code,
        'dealer_export'::text as source_system,
        lead_id as source_lead_id,
        occurred_at,
        kind as survey_kind,
        score,
        scale_max,
        {{ satisfaction_score('score', 'scale_max') }} as satisfaction_score,
        nullif(trim(payload ->> 'comment'), '') as survey_comment,
        {{ dealer_export_file_columns() }},
        {{ dealer_export_refresh_columns() }}
    from ranked
    where duplicate_rank = 1

),

new_versions as (

    {{ select_new_versions('renamed', key_columns) }}

)

select * from new_versions

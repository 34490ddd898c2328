{%- set key_columns = ['stage_event_key'] %}
{{ config(**dealer_export_staging_config(key_columns)) }}
-- One row per dealer × lead_id × stage × occurred_at: the stage changes of the export files,
-- with exact duplicates (the same event exported again, or twice in one file) collapsed.
-- Optional contract columns read from the payload (the whole file row): lost_reason (free text,
-- trimmed, when stage is lost), amount (when won; thousands separators and spaces dropped, null
-- when not a plain number) and currency (upper-cased, e.g. CNY).

with

source as (

    select * from {{ source('dealer_export', 'dealer_export__stage_events') }}
    {{ unread_batches_filter() }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by _dealer_code, lead_id, stage, occurred_at
            order by _extracted_at desc, _file_name desc, _row_number desc
        ) as duplicate_rank
    from source

),

renamed as (

    select
        md5(
            _dealer_code || '|dealer_export|' || lead_id || '|' || stage || '|'
            || to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')
        ) as stage_event_key,
        _dealer_code as dealer_code,
        'dealer_export'::text as source_system,
        lead_id as source_lead_id,
        stage,
        occurred_at,
        nullif(trim(payload ->> 'consultant'), '') as consultant,
        nullif(trim(payload ->> 'lost_reason'), '') as lost_reason,
        case
            when regexp_replace(payload ->> 'amount', '[\s,]', '', 'g') ~ '^-?[0-9]+(\.[0-9]+)?$'
                then regexp_replace(payload ->> 'amount', '[\s,]', '', 'g')::numeric
        end as amount,
        nullif(upper(trim(payload ->> 'currency')), '') as currency,
        {{ dealer_export_file_columns() }},
        {{ dealer_export_refresh_columns() }}
    from ranked
    where duplicate_rank = 1

),

new_versions as (

    {{ select_new_versions('renamed', key_columns) }}

)

select * from new_versions

{%- set key_columns = ['dealer_code', 'source_lead_id'] %}
{{ config(**dealer_export_staging_config(key_columns)) }}
-- One row per dealer × lead_id: the latest version of each lead across all loaded export files
-- (a later file updates the lead; ties broken by file name, then row number).

with

source as (

    select * from {{ source('dealer_export', 'dealer_export__leads') }}
    {{ unread_batches_filter() }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by _dealer_code, lead_id
            order by _extracted_at desc, _file_name desc, _row_number desc
        ) as version_rank
    from source

),

renamed as (

    select
        _dealer_code as dealer_code,
        'dealer_export'::text as source_system,
        lead_id as source_lead_id,
        created_at,
        assigned_at,
        coalesce(nullif(lower(trim(payload ->> 'channel')), ''), 'unknown') as channel,
        nullif(trim(payload ->> 'campaign'), '') as campaign,
        null::text as campaign_id,
        nullif(trim(payload ->> 'consultant'), '') as consultant,
        nullif(upper(trim(payload ->> 'grade')), '') as grade,
        nullif(trim(payload ->> 'customer_name'), '') as customer_name,
        nullif(trim(payload ->> 'phone'), '') as phone,
        nullif(trim(payload ->> 'email'), '') as email,
        nullif(trim(payload ->> 'model_of_interest'), '') as model_of_interest,
        payload as source_payload,
        {{ dealer_export_file_columns() }},
        {{ dealer_export_refresh_columns() }}
    from ranked
    where version_rank = 1

),

new_versions as (

    {{ select_new_versions('renamed', key_columns) }}

)

select * from new_versions

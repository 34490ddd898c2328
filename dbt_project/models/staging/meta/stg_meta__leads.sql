-- One row per Meta Lead Ads lead (Graph API /{form_id}/leads; the lead id is unique across Meta):
-- the lead-form submission as a lead record with the columns of stg_dealer_export__leads. The
-- answers come from field_data [{name, values}]: the standard questions full_name (else
-- first_name + last_name), phone_number and email, plus the custom car_model question as
-- model_of_interest. created_time is Graph time ('2026-05-04T02:13:00+0000', UTC). campaign is the
-- lead's campaign_name when it was requested; otherwise int_leads_resolved looks the name up by
-- campaign_id in the Insights rows, so leads and spend share one name. Organic leads (no ad) have
-- no campaign. A lead without created_time cannot be placed in the funnel and is left out (the
-- connector quarantines those already).

with

source as (

    select * from {{ source('meta', 'meta__leads') }}

),

field_answers as (

    {{ lead_form_answers(
        "source.payload -> 'field_data'",
        'name',
        "answer.value -> 'values' ->> 0",
        'lower',
    ) }}

),

renamed as (

    select
        source._dealer_code as dealer_code,
        'meta_lead_ads'::text as source_system,
        coalesce(source.payload ->> 'id', source.record_id) as source_lead_id,
        (source.payload ->> 'created_time')::timestamptz as created_at,
        null::timestamptz as assigned_at,
        'meta_lead_ads'::text as channel,
        nullif(btrim(source.payload ->> 'campaign_name'), '') as campaign,
        nullif(btrim(source.payload ->> 'campaign_id'), '') as campaign_id,
        {{ lead_form_person_columns(
            'full_name', 'first_name', 'last_name', 'phone_number', 'email', 'car_model',
        ) }},
        source.account_id as page_id,
        source.payload ->> 'form_id' as form_id,
        source.payload ->> 'ad_id' as ad_id,
        source.payload ->> 'adset_id' as adset_id,
        coalesce((source.payload ->> 'is_organic')::boolean, source.payload ->> 'ad_id' is null) as is_organic,
        source.payload ->> 'platform' as platform,
        source.payload as source_payload,
        source.record_updated_at,
        source._batch_id as batch_id,
        source._extracted_at as extracted_at
    from source
    {{ lead_form_answers_join() }}
    where source.payload ->> 'created_time' is not null

),

final as (

    select * from renamed

)

select * from final

-- One row per Salesforce org × Lead: the lead as a lead record with the columns of
-- stg_dealer_export__leads (source_system 'salesforce'). Choices:
--   * created_at = CreatedDate (Salesforce time '2026-05-04T02:13:00.000+0000', UTC).
--   * no assigned_at here: the assignment time comes from the owner history
--     (stg_salesforce__lead_owner_changes) in int_leads_unioned; is_owned_by_user = the current
--     OwnerId is a user (prefix 005; a queue, prefix 00G, is not an assignment). consultant is
--     resolved from OwnerId in int_leads_unioned.
--   * channel = LeadSource lower-cased ('web', 'phone inquiry', 'walk-in', 'event', ...), 'unknown'
--     when empty; no campaign (Campaign members are not extracted).
--   * grade = Rating (Hot/Warm/Cold) through seeds/grade_mapping.csv (source 'salesforce'); null
--     when the rating is empty or unmapped. rating keeps the value as sent.
--   * status = Lead.Status; stage = its canonical stage through seeds/stage_mapping.csv (source
--     'salesforce'); int_stage_events_unioned turns it into an event when no LeadHistory row has it.
--   * customer_name = 'FirstName LastName' (PII, not published); phone = MobilePhone, else Phone.
-- Leads without CreatedDate are left out (they cannot be placed in the funnel).

with

source as (

    select * from {{ source('salesforce', 'salesforce__leads') }}

),

renamed as (

    select
        source._dealer_code as dealer_code,
        'salesforce'::text as source_system,
        coalesce(source.payload ->> 'Id', source.record_id) as source_lead_id,
        (source.payload ->> 'CreatedDate')::timestamptz as created_at,
        coalesce(source.payload ->> 'OwnerId' like '005%', false) as is_owned_by_user,
        coalesce(nullif(lower(btrim(source.payload ->> 'LeadSource')), ''), 'unknown') as channel,
        null::text as campaign,
        null::text as campaign_id,
        {{ mapped_grade("source.payload ->> 'Rating'", 'grade_mapping') }} as grade,  -- noqa: RF04
        nullif(
            btrim(concat_ws(' ', btrim(source.payload ->> 'FirstName'), btrim(source.payload ->> 'LastName'))), ''
        ) as customer_name,
        nullif(btrim(coalesce(source.payload ->> 'MobilePhone', source.payload ->> 'Phone')), '') as phone,
        nullif(btrim(source.payload ->> 'Email'), '') as email,
        nullif(btrim(source.payload ->> 'Model_of_Interest__c'), '') as model_of_interest,
        source.payload ->> 'OwnerId' as owner_id,
        source.payload ->> 'Status' as status,
        {{ canonical_stage("source.payload ->> 'Status'", 'status_mapping') }} as stage,  -- noqa: RF04
        source.payload ->> 'Rating' as rating,
        coalesce((source.payload ->> 'IsConverted')::boolean, false) as is_converted,
        nullif(source.payload ->> 'ConvertedOpportunityId', '') as converted_opportunity_id,
        coalesce(
            (source.payload ->> 'SystemModstamp')::timestamptz,
            (source.payload ->> 'LastModifiedDate')::timestamptz,
            source.record_updated_at
        ) as modified_at,
        source.account_id as org_id,
        source.payload as source_payload,
        source.record_updated_at,
        source._batch_id as batch_id,
        source._extracted_at as extracted_at
    from source
    {{ stage_mapping_join('salesforce', "source.payload ->> 'Status'", 'status_mapping') }}
    {{ grade_mapping_join('salesforce', "source.payload ->> 'Rating'", 'grade_mapping') }}
    where source.payload ->> 'CreatedDate' is not null

),

final as (

    select * from renamed

)

select * from final

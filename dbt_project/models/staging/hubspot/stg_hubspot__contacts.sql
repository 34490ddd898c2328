-- One row per HubSpot account × contact (CRM v3 {id, properties, createdAt, updatedAt}): the
-- contact as a lead record with the columns of stg_dealer_export__leads (source_system 'hubspot').
-- Choices:
--   * created_at = properties.createdate (else createdAt).
--   * assigned_at = properties.hubspot_owner_assigneddate (when the current owner was set; null
--     while the contact has no owner).
--   * channel = properties.hs_analytics_source lower-cased (HubSpot's original source, e.g.
--     'paid_social', 'offline'), 'unknown' when not extracted; no campaign.
--   * owner_id = hubspot_owner_id; the consultant name comes from stg_hubspot__owners in
--     int_leads_unioned.
--   * phone = mobilephone, else phone; model_of_interest = the custom property car_model.
--   * lifecycle_stage = the current lifecyclestage. The funnel stages come from the contact's deals
--     (stg_hubspot__deal_stage_history via stg_hubspot__deal_contacts) or, for a contact without a
--     deal, from its lifecycle stage moves (stg_hubspot__contact_lifecycle_stages), in
--     int_stage_events_unioned.
-- Contacts without a create date are left out.

with

source as (

    select * from {{ source('hubspot', 'hubspot__contacts') }}

),

renamed as (

    select
        _dealer_code as dealer_code,
        'hubspot'::text as source_system,
        coalesce(payload ->> 'id', record_id) as source_lead_id,
        coalesce((payload #>> '{properties,createdate}')::timestamptz, (payload ->> 'createdAt')::timestamptz)
            as created_at,
        (payload #>> '{properties,hubspot_owner_assigneddate}')::timestamptz as assigned_at,
        coalesce(nullif(lower(btrim(payload #>> '{properties,hs_analytics_source}')), ''), 'unknown') as channel,
        null::text as campaign,
        null::text as campaign_id,
        null::text as grade,
        nullif(
            btrim(
                concat_ws(' ', btrim(payload #>> '{properties,firstname}'), btrim(payload #>> '{properties,lastname}'))
            ),
            ''
        ) as customer_name,
        nullif(
            btrim(coalesce(payload #>> '{properties,mobilephone}', payload #>> '{properties,phone}')), ''
        ) as phone,
        nullif(btrim(payload #>> '{properties,email}'), '') as email,
        nullif(btrim(payload #>> '{properties,car_model}'), '') as model_of_interest,
        payload #>> '{properties,hubspot_owner_id}' as owner_id,
        payload #>> '{properties,lifecyclestage}' as lifecycle_stage,
        payload #>> '{properties,hs_lead_status}' as lead_status,
        account_id as portal_id,
        payload as source_payload,
        record_updated_at,
        _batch_id as batch_id,
        _extracted_at as extracted_at
    from source
    where coalesce(payload #>> '{properties,createdate}', payload ->> 'createdAt') is not null

),

final as (

    select * from renamed

)

select * from final

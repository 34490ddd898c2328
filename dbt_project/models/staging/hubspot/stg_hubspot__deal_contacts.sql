-- One row per HubSpot deal × associated contact: the deal's `associations.contacts`, the v4
-- associations batch read (POST /crm/v4/associations/deals/contacts/batch/read) `to` entries the
-- connector stores in the deal payload ({toObjectId, associationTypes: [{category, typeId,
-- label}]}). A deal read before associations were extracted has none (no row). Which contact a
-- deal counts for is decided in int_stage_events_unioned.

with

source as (

    select * from {{ source('hubspot', 'hubspot__deals') }}

),

associations as (

    select
        source._dealer_code as dealer_code,
        source.account_id as portal_id,
        coalesce(source.payload ->> 'id', source.record_id) as deal_id,
        association.value ->> 'toObjectId' as contact_id,
        association.value -> 'associationTypes' as association_types,
        source._extracted_at as extracted_at
    from source
    cross join
        lateral {{ jsonb_elements_or_none("source.payload #> '{associations,contacts}'") }} as association

),

final as (

    select distinct on (portal_id, deal_id, contact_id) *
    from associations
    where contact_id is not null
    order by portal_id asc, deal_id asc, contact_id asc, extracted_at desc

)

select * from final

-- One row per HubSpot contact × lifecycle stage it entered: HubSpot stamps a contact's
-- properties.hs_lifecyclestage_<stage>_date ("Became a ... date", ISO 8601 UTC) when its
-- lifecyclestage becomes <stage> (subscriber, lead, marketingqualifiedlead, salesqualifiedlead,
-- opportunity, customer, evangelist, other). lifecycle_stage = <stage>, stage = its canonical stage
-- through seeds/stage_mapping.csv (source 'hubspot'), null when unmapped. The contact's owner
-- (hubspot_owner_id) is repeated on each row. int_stage_events_unioned counts these moves only for a
-- contact no deal is associated with (a deal's stages win). Contacts without a create date are left
-- out, as in stg_hubspot__contacts; a stamp that is not a time is left out.

with

source as (

    select * from {{ source('hubspot', 'hubspot__contacts') }}

),

stamps as (

    select
        source._dealer_code as dealer_code,
        source.account_id as portal_id,
        coalesce(source.payload ->> 'id', source.record_id) as contact_id,
        substring(property.key from '^hs_lifecyclestage_(.+)_date$') as lifecycle_stage,
        nullif(btrim(property.value), '') as entered_at_text,
        nullif(source.payload #>> '{properties,hubspot_owner_id}', '') as owner_id,
        source._extracted_at as extracted_at
    from source
    cross join
        lateral jsonb_each_text(
            case
                when jsonb_typeof(source.payload -> 'properties') = 'object' then source.payload -> 'properties'
                else '{}'::jsonb
            end
        ) as property
    where
        property.key ~ '^hs_lifecyclestage_.+_date$'
        and coalesce(source.payload #>> '{properties,createdate}', source.payload ->> 'createdAt') is not null

),

timed as (

    select
        dealer_code,
        portal_id,
        contact_id,
        lifecycle_stage,
        entered_at_text,
        case
            when entered_at_text ~ '^\d{13}$' then to_timestamp(entered_at_text::bigint / 1000.0)
            when entered_at_text ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d(:?\d\d)?)$'
                then entered_at_text::timestamptz
        end as occurred_at,
        owner_id,
        extracted_at
    from stamps

),

mapped as (

    select
        md5(
            timed.dealer_code || '|hubspot|' || timed.contact_id || '|lifecycle|' || timed.lifecycle_stage
        ) as stage_event_key,
        timed.*,
        {{ canonical_stage('timed.lifecycle_stage', 'stage_mapping') }} as stage  -- noqa: RF04
    from timed
    {{ stage_mapping_join('hubspot', 'timed.lifecycle_stage', 'stage_mapping') }}
    where timed.occurred_at is not null

),

final as (

    select * from mapped

)

select * from final

-- One row per HubSpot meeting × associated contact that took place or was due (a CANCELED or
-- RESCHEDULED meeting did not take place: left out; the rescheduled one is its own meeting):
-- a candidate activity of the contact (source_lead_id = contact id). meeting_type =
-- hs_activity_type, the portal's "call and meeting type" ("Test drive", "Delivery", ...) as
-- written; which activity it is, if any, is decided by seeds/activity_mapping.csv through
-- int_source_values_mapped. occurred_at = hs_meeting_start_time (else hs_timestamp). outcome from
-- hs_meeting_outcome (HubSpot's fixed values): COMPLETED -> 'show', NO_SHOW -> 'no_show',
-- SCHEDULED or none -> NULL (unknown). The same meetings stay follow-up contacts in
-- stg_hubspot__engagements.

with

source as (

    select * from {{ source('hubspot', 'hubspot__meetings') }}

),

meetings as (

    select
        _dealer_code as dealer_code,
        account_id as portal_id,
        coalesce(payload ->> 'id', record_id) as meeting_id,
        nullif(btrim(payload #>> '{properties,hs_activity_type}'), '') as meeting_type,
        upper(nullif(btrim(payload #>> '{properties,hs_meeting_outcome}'), '')) as meeting_outcome,
        coalesce(
            (payload #>> '{properties,hs_meeting_start_time}')::timestamptz,
            (payload #>> '{properties,hs_timestamp}')::timestamptz
        ) as occurred_at,
        nullif(payload #>> '{properties,hubspot_owner_id}', '') as owner_id,
        nullif(btrim(payload #>> '{properties,hs_meeting_title}'), '') as detail,
        payload #> '{associations,contacts}' as contacts,
        _extracted_at as extracted_at
    from source

),

per_contact as (

    select
        md5(meetings.dealer_code || '|hubspot|' || meetings.meeting_id || '|' || (contact.value ->> 'toObjectId'))
            as activity_key,
        meetings.dealer_code,
        'hubspot'::text as source_system,
        contact.value ->> 'toObjectId' as source_lead_id,
        meetings.meeting_type,
        meetings.meeting_outcome,
        case meetings.meeting_outcome
            when 'COMPLETED' then 'show'
            when 'NO_SHOW' then 'no_show'
        end as outcome,
        meetings.occurred_at,
        meetings.detail,
        meetings.owner_id,
        meetings.meeting_id,
        meetings.portal_id,
        meetings.extracted_at
    from meetings
    cross join
        lateral {{ jsonb_elements_or_none("meetings.contacts") }} as contact
    where
        meetings.occurred_at is not null
        and contact.value ->> 'toObjectId' is not null
        and coalesce(meetings.meeting_outcome, '') not in ('CANCELED', 'RESCHEDULED')

),

final as (

    select * from per_contact

)

select * from final

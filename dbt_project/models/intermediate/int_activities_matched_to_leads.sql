-- One row per activity (activity_key) of a resolved lead: every activity of the dealer CRM export's
-- activities*.csv (appointment, showroom_visit, test_drive, proposal, quote, order_signed, delivered,
-- first_service), every Salesforce Event and every HubSpot meeting (per contact) whose type is an
-- activity, with the lead_key of its source record's resolved lead. An activity naming a lead id
-- that has neither a lead row nor stage events matches no lead and is left out. Another source is one
-- more import CTE unioned into `activities`.
--
-- CRM events and meetings: the type (Salesforce Event.Type, HubSpot hs_activity_type) is mapped by
-- int_source_values_mapped (seeds activity_mapping / activities): only a canonical activity code
-- makes an activity; a type known to be none (a generic meeting) or unmapped (reported in
-- mart_unmapped_source_values) is no activity. A Salesforce event on an opportunity belongs to the
-- lead converted into it (as its tasks do, int_followups_unioned). consultant = the owner's name
-- (Salesforce User.Name, HubSpot owner), as for follow-ups. An event or meeting that starts after the
-- as-of time (macro as_of_at) is planned, not done, and is left out until then.

{%- set activity_columns = [
    'activity_key',
    'dealer_code',
    'source_system',
    'source_lead_id',
    'activity',
    'occurred_at',
    normalize_person_name('consultant') ~ ' as consultant',
    'outcome',
    'detail',
] %}

with

dealer_export_activities as (

    select * from {{ ref('stg_dealer_export__activities') }}

),

salesforce_events as (

    select * from {{ ref('stg_salesforce__events') }}

),

salesforce_leads as (

    select * from {{ ref('stg_salesforce__leads') }}

),

salesforce_users as (

    select * from {{ ref('stg_salesforce__users') }}

),

hubspot_meetings as (

    select * from {{ ref('stg_hubspot__meetings') }}

),

hubspot_owners as (

    select * from {{ ref('stg_hubspot__owners') }}

),

activity_types as (

    select * from {{ ref('int_source_values_mapped') }}
    where value_kind = 'activity'

),

activity_codes as (

    select * from {{ ref('activities') }}

),

lead_records as (

    select * from {{ ref('int_lead_records_matched_to_leads') }}

),

-- an event on an opportunity belongs to the lead converted into it
salesforce_typed as (

    select
        salesforce_events.activity_key,
        salesforce_events.dealer_code,
        salesforce_events.source_system,
        coalesce(salesforce_events.source_lead_id, salesforce_leads.source_lead_id) as source_lead_id,
        salesforce_events.event_type as activity_type,
        salesforce_events.occurred_at,
        salesforce_users.consultant,
        salesforce_events.outcome,
        salesforce_events.detail
    from salesforce_events
    left join salesforce_leads
        on
            salesforce_events.org_id = salesforce_leads.org_id
            and salesforce_events.opportunity_id = salesforce_leads.converted_opportunity_id
    left join salesforce_users
        on
            salesforce_events.org_id = salesforce_users.org_id
            and salesforce_events.owner_id = salesforce_users.user_id

),

hubspot_typed as (

    select
        hubspot_meetings.activity_key,
        hubspot_meetings.dealer_code,
        hubspot_meetings.source_system,
        hubspot_meetings.source_lead_id,
        hubspot_meetings.meeting_type as activity_type,
        hubspot_meetings.occurred_at,
        hubspot_owners.consultant,
        hubspot_meetings.outcome,
        hubspot_meetings.detail
    from hubspot_meetings
    left join hubspot_owners
        on
            hubspot_meetings.portal_id = hubspot_owners.portal_id
            and hubspot_meetings.owner_id = hubspot_owners.owner_id

),

crm_typed as (

    select * from salesforce_typed
    union all
    select * from hubspot_typed

),

-- the CRM's type as an activity: only a canonical activity code makes one
crm_activities as (

    select
        crm_typed.activity_key,
        crm_typed.dealer_code,
        crm_typed.source_system,
        crm_typed.source_lead_id,
        activity_codes.activity,
        crm_typed.occurred_at,
        crm_typed.consultant,
        crm_typed.outcome,
        crm_typed.detail
    from crm_typed
    inner join activity_types
        on
            crm_typed.source_system = activity_types.source_system
            and crm_typed.activity_type = activity_types.source_value
    inner join activity_codes
        on activity_types.canonical_value = activity_codes.activity
    where
        crm_typed.source_lead_id is not null
        and crm_typed.occurred_at <= {{ as_of_at() }}

),

unioned as (

    {{ union_ctes(['dealer_export_activities', 'crm_activities'], activity_columns) }}

),

activities as (

    select
        {{ lead_key('dealer_code', 'source_system', 'source_lead_id') }} as lead_record_key,
        *
    from unioned

),

final as (

    select
        activities.activity_key,
        lead_records.lead_key,
        activities.lead_record_key,
        activities.dealer_code,
        activities.source_system,
        activities.activity,
        activities.occurred_at,
        activities.consultant,
        activities.outcome,
        activities.detail
    from activities
    inner join lead_records
        on activities.lead_record_key = lead_records.lead_record_key

)

select * from final

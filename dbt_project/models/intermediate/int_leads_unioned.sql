{{
    config(
        materialized='incremental',
        unique_key='lead_record_key',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['lead_record_key'], 'unique': True}, {'columns': ['refreshed_at']}],
    )
}}
-- One row per lead record per source system (dealer_code × source_system × source_lead_id): the
-- current version of every lead record, before identity resolution. Sources: the dealer CRM export,
-- Meta Lead Ads leads, Google Ads lead form submissions, Salesforce Leads (consultant = the
-- owner's User.Name, as of the lead's load; assigned_at from the owner history), Eventbrite
-- attendees (channel event_signup) and HubSpot contacts (consultant = the owner's name; their deals'
-- stages are events in int_stage_events_unioned). Every staging model has the lead-record columns of
-- stg_dealer_export__leads (lead_record_columns; consultant is normalized here); a new source is one
-- more import CTE added to the list of `unioned` (macro union_ctes). An ad-platform
-- lead is a potential-stage lead at its created_at: a lead record needs no stage event to count as
-- potential (mart_funnel_conversion counts every lead of the cohort as potential), exactly like a
-- dealer-export lead without events.
--
-- Incremental: for each source system, a run reads the records it has not seen and replaces them by
-- lead_record_key: the dealer export's records its staging table wrote since the newest
-- refreshed_at of that source here (macro refreshed_source_filter: exact, the staging table reads
-- its load batches exactly); an API source's records loaded since the newest extracted_at of that
-- source here, minus var incremental_lookback_minutes (late-committed loads; macro
-- incremental_source_filter). A source not yet here is read in full. A later version of a record
-- (a later export, an API record updated and re-merged into raw) is always reprocessed.

{%- set lead_record_columns = [
    'dealer_code',
    'source_system',
    'source_lead_id',
    'created_at',
    'assigned_at',
    'channel',
    'campaign',
    normalize_person_name('consultant') ~ ' as consultant',
    'grade',
    'customer_name',
    'phone',
    'email',
    'model_of_interest',
    'extracted_at',
    'campaign_id',
] %}

with

dealer_export_leads as (

    select * from {{ ref('stg_dealer_export__leads') }}
    {{ refreshed_source_filter('dealer_export') }}

),

meta_leads as (

    select * from {{ ref('stg_meta__leads') }}
    {{ incremental_source_filter('meta_lead_ads') }}

),

google_ads_leads as (

    select * from {{ ref('stg_google_ads__lead_form_submissions') }}
    {{ incremental_source_filter('google_ads') }}

),

salesforce_leads as (

    select * from {{ ref('stg_salesforce__leads') }}
    {{ incremental_source_filter('salesforce') }}

),

eventbrite_attendees as (

    select * from {{ ref('stg_eventbrite__attendees') }}
    {{ incremental_source_filter('eventbrite') }}

),

hubspot_contacts as (

    select * from {{ ref('stg_hubspot__contacts') }}
    {{ incremental_source_filter('hubspot') }}

),

hubspot_owners as (

    select * from {{ ref('stg_hubspot__owners') }}

),

-- HubSpot contacts name their owner by id: the consultant is the owner's name.
hubspot_contacts_with_owner as (

    select
        hubspot_contacts.*,
        hubspot_owners.consultant
    from hubspot_contacts
    left join hubspot_owners
        on
            hubspot_contacts.portal_id = hubspot_owners.portal_id
            and hubspot_contacts.owner_id = hubspot_owners.owner_id

),

salesforce_users as (

    select * from {{ ref('stg_salesforce__users') }}

),

salesforce_owner_changes as (

    select * from {{ ref('stg_salesforce__lead_owner_changes') }}

),

-- Per lead: the first move from a queue to a user (the assignment), and whether it ever sat in
-- a queue.
salesforce_assignments as (

    select
        org_id,
        source_lead_id,
        min(changed_at) filter (where is_queue_to_user) as first_assigned_at,
        bool_or(is_from_queue) as was_in_queue
    from salesforce_owner_changes
    group by
        org_id,
        source_lead_id

),

-- Salesforce leads name their owner by user id: the consultant is the owner's User.Name.
-- assigned_at (DESIGN.md section 3): the first owner change from a queue to a user; a lead that
-- never sat in a queue and is owned by a user was assigned when created (assignment rules assign
-- on creation); a lead still in its queue is not assigned (null).
salesforce_leads_with_owner as (

    select
        salesforce_leads.*,
        salesforce_users.consultant,
        case
            when salesforce_assignments.first_assigned_at is not null
                then salesforce_assignments.first_assigned_at
            when salesforce_leads.is_owned_by_user and not coalesce(salesforce_assignments.was_in_queue, false)
                then salesforce_leads.created_at
        end as assigned_at
    from salesforce_leads
    left join salesforce_users
        on
            salesforce_leads.org_id = salesforce_users.org_id
            and salesforce_leads.owner_id = salesforce_users.user_id
    left join salesforce_assignments
        on
            salesforce_leads.org_id = salesforce_assignments.org_id
            and salesforce_leads.source_lead_id = salesforce_assignments.source_lead_id

),

unioned as (

    {{ union_ctes(
        [
            'dealer_export_leads',
            'meta_leads',
            'google_ads_leads',
            'salesforce_leads_with_owner',
            'eventbrite_attendees',
            'hubspot_contacts_with_owner',
        ],
        lead_record_columns,
    ) }}

),

keyed as (

    select
        {{ lead_key('dealer_code', 'source_system', 'source_lead_id') }} as lead_record_key,
        *
    from unioned

),

-- refreshed_at: this run, unless the row is exactly the one already held (a re-read in the lookback)
final as (

    {{ select_with_refreshed_at('keyed', 'lead_record_key') }}

)

select * from final

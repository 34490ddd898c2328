{{
    config(
        materialized='incremental',
        unique_key='stage_event_key',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['stage_event_key'], 'unique': True}, {'columns': ['lead_record_key']}, {'columns': ['refreshed_at']}],
        post_hook=[
            "delete from {{ this }} as events
            using {{ ref('stg_hubspot__contact_lifecycle_stages') }} as lifecycle,
                {{ ref('stg_hubspot__deal_contacts') }} as deal_contacts
            where
                events.stage_event_key = lifecycle.stage_event_key
                and lifecycle.portal_id = deal_contacts.portal_id
                and lifecycle.contact_id = deal_contacts.contact_id",
        ],
    )
}}
-- One row per deduplicated stage event per source system. Sources:
--   * the dealer CRM export (stage already canonical);
--   * Salesforce LeadHistory status changes (stage = mapped NewValue);
--   * Salesforce OpportunityHistory rows, attributed to the lead converted into the opportunity
--     (Lead.ConvertedOpportunityId; rows of an opportunity no lead was converted into are left out);
--   * HubSpot deal stage history (stg_hubspot__deal_stage_history), attributed to ONE contact of the
--     deal (stg_hubspot__deal_contacts): a deal associated with several contacts (a couple buying one
--     car) counts once, for the associated contact that first became a lead at the deal's dealer
--     (earliest createdate among the associated contacts with a contact row at that dealer; ties and
--     contacts without a row: the lowest contact id). A deal without associated contacts is left
--     out. consultant = the deal owner's name; amount / currency of the won event = the deal's amount
--     and deal_currency_code;
--   * a HubSpot contact's lifecycle stage moves (stg_hubspot__contact_lifecycle_stages: lead ->
--     potential, marketingqualifiedlead -> interested, ...; seeds/stage_mapping.csv) when NO deal is
--     associated with the contact: a deal's stages win, so the contact progresses by lifecycle stage
--     only while it has no deal. consultant = the contact owner's name. The post-hook removes the
--     lifecycle events of contacts a deal was associated with after they were loaded (an
--     incremental run keeps rows it does not re-read), so a run and a full refresh agree;
--   * an Eventbrite attendee's status beyond registration (Checked In -> interested, Not Attending
--     -> lost) at its `changed` time;
--   * a Salesforce lead's current Status when no LeadHistory row records it (field history not
--     tracked, or the status the lead was created with): at created_at when the lead has no history
--     at all, else at its last modification (SystemModstamp, an upper bound). Potential is skipped:
--     every lead record is potential already.
-- Ad-platform leads (Meta, Google Ads) have no events: a lead record counts as potential by itself.
-- Events whose source stage is not in seeds/stage_mapping.csv (stage null) are left out.
-- lead_record_key is the key of the source record the event names (it may have no lead row);
-- int_lead_records_matched_to_leads maps it to the resolved lead. consultant of a Salesforce event
-- = User.Name of the user who made the change. lost_reason, amount and currency: the dealer export's
-- optional columns; amount / currency of a Salesforce opportunity event = OpportunityHistory.Amount
-- and CurrencyIsoCode (null in a single-currency org, which does not send one); of a HubSpot won
-- event, see above; null elsewhere.
--
-- Incremental: per source system, reads the events it has not seen (the dealer export's exactly, by
-- refreshed_at: macro refreshed_source_filter; an API source's loaded since the newest extracted_at
-- of that source here minus var incremental_lookback_minutes: macro incremental_source_filter); late
-- events are added and a re-exported event replaces its copy (same stage_event_key). An opportunity event's
-- extracted_at is the later of its own and its lead's, so a conversion loaded after the opportunity
-- history still brings those events in.

{%- set stage_event_columns = [
    'stage_event_key',
    'dealer_code',
    'source_system',
    'source_lead_id',
    'stage',
    'occurred_at',
    normalize_person_name('consultant') ~ ' as consultant',
    'lost_reason',
    'amount',
    'currency',
    'extracted_at',
] %}

with

dealer_export_stage_events as (

    select * from {{ ref('stg_dealer_export__stage_events') }}
    {{ refreshed_source_filter('dealer_export') }}

),

salesforce_lead_history as (

    select * from {{ ref('stg_salesforce__lead_history') }}

),

salesforce_opportunity_history as (

    select * from {{ ref('stg_salesforce__opportunity_history') }}

),

salesforce_leads as (

    select * from {{ ref('stg_salesforce__leads') }}

),

eventbrite_attendees as (

    select * from {{ ref('stg_eventbrite__attendees') }}

),

salesforce_users as (

    select * from {{ ref('stg_salesforce__users') }}

),

hubspot_deal_history as (

    select * from {{ ref('stg_hubspot__deal_stage_history') }}

),

hubspot_deal_contacts as (

    select * from {{ ref('stg_hubspot__deal_contacts') }}

),

hubspot_contacts as (

    select * from {{ ref('stg_hubspot__contacts') }}

),

hubspot_owners as (

    select * from {{ ref('stg_hubspot__owners') }}

),

hubspot_contact_lifecycle as (

    select * from {{ ref('stg_hubspot__contact_lifecycle_stages') }}

),

salesforce_lead_events as (

    select
        salesforce_lead_history.stage_event_key,
        salesforce_lead_history.dealer_code,
        salesforce_lead_history.source_system,
        salesforce_lead_history.source_lead_id,
        salesforce_lead_history.stage,
        salesforce_lead_history.occurred_at,
        salesforce_users.consultant,
        null::text as lost_reason,
        null::numeric as amount,
        null::text as currency,
        salesforce_lead_history.extracted_at
    from salesforce_lead_history
    left join salesforce_users
        on
            salesforce_lead_history.org_id = salesforce_users.org_id
            and salesforce_lead_history.changed_by_id = salesforce_users.user_id
    where salesforce_lead_history.stage is not null

),

salesforce_opportunity_events as (

    select
        salesforce_opportunity_history.stage_event_key,
        salesforce_opportunity_history.dealer_code,
        salesforce_opportunity_history.source_system,
        salesforce_leads.source_lead_id,
        salesforce_opportunity_history.stage,
        salesforce_opportunity_history.occurred_at,
        salesforce_users.consultant,
        null::text as lost_reason,
        salesforce_opportunity_history.amount,
        salesforce_opportunity_history.currency,
        greatest(salesforce_opportunity_history.extracted_at, salesforce_leads.extracted_at) as extracted_at
    from salesforce_opportunity_history
    inner join salesforce_leads
        on
            salesforce_opportunity_history.org_id = salesforce_leads.org_id
            and salesforce_opportunity_history.opportunity_id = salesforce_leads.converted_opportunity_id
    left join salesforce_users
        on
            salesforce_opportunity_history.org_id = salesforce_users.org_id
            and salesforce_opportunity_history.changed_by_id = salesforce_users.user_id
    where salesforce_opportunity_history.stage is not null

),

salesforce_status_events as (

    select
        md5(
            salesforce_leads.dealer_code || '|salesforce|' || salesforce_leads.source_lead_id
            || '|status|' || salesforce_leads.status
        ) as stage_event_key,
        salesforce_leads.dealer_code,
        salesforce_leads.source_system,
        salesforce_leads.source_lead_id,
        salesforce_leads.stage,
        case
            when not exists (
                select 1
                from salesforce_lead_history as any_history
                where
                    any_history.org_id = salesforce_leads.org_id
                    and any_history.source_lead_id = salesforce_leads.source_lead_id
            ) then salesforce_leads.created_at
            else salesforce_leads.modified_at
        end as occurred_at,
        null::text as consultant,
        null::text as lost_reason,
        null::numeric as amount,
        null::text as currency,
        salesforce_leads.extracted_at
    from salesforce_leads
    where
        salesforce_leads.stage is not null
        and salesforce_leads.stage != 'potential'
        and not exists (
            select 1
            from salesforce_lead_history as same_status
            where
                same_status.org_id = salesforce_leads.org_id
                and same_status.source_lead_id = salesforce_leads.source_lead_id
                and same_status.new_status = salesforce_leads.status
        )

),

salesforce_stage_events as (

    select * from salesforce_lead_events
    union all
    select * from salesforce_opportunity_events
    union all
    select * from salesforce_status_events

),

salesforce_stage_events_loaded as (

    select * from salesforce_stage_events
    {{ incremental_source_filter('salesforce') }}

),

-- The one contact a HubSpot deal counts for (see the header): associated contacts with a contact
-- row at the deal's dealer first, the earliest created, then the lowest id (ids are digits: by
-- length, then text).
hubspot_deal_leads as (

    select distinct on (hubspot_deal_contacts.portal_id, hubspot_deal_contacts.deal_id)
        hubspot_deal_contacts.portal_id,
        hubspot_deal_contacts.deal_id,
        hubspot_deal_contacts.contact_id,
        greatest(hubspot_deal_contacts.extracted_at, hubspot_contacts.extracted_at) as extracted_at
    from hubspot_deal_contacts
    left join hubspot_contacts
        on
            hubspot_deal_contacts.portal_id = hubspot_contacts.portal_id
            and hubspot_deal_contacts.dealer_code = hubspot_contacts.dealer_code
            and hubspot_deal_contacts.contact_id = hubspot_contacts.source_lead_id
    order by
        hubspot_deal_contacts.portal_id asc,
        hubspot_deal_contacts.deal_id asc,
        hubspot_contacts.source_lead_id is null asc,
        hubspot_contacts.created_at asc,
        length(hubspot_deal_contacts.contact_id) asc,
        hubspot_deal_contacts.contact_id asc

),

hubspot_stage_events as (

    select
        hubspot_deal_history.stage_event_key,
        hubspot_deal_history.dealer_code,
        'hubspot'::text as source_system,
        hubspot_deal_leads.contact_id as source_lead_id,
        hubspot_deal_history.stage,
        hubspot_deal_history.occurred_at,
        hubspot_owners.consultant,
        null::text as lost_reason,
        case when hubspot_deal_history.stage = 'won' then hubspot_deal_history.amount end as amount,
        case when hubspot_deal_history.stage = 'won' then hubspot_deal_history.currency end as currency,
        greatest(hubspot_deal_history.extracted_at, hubspot_deal_leads.extracted_at) as extracted_at
    from hubspot_deal_history
    inner join hubspot_deal_leads
        on
            hubspot_deal_history.portal_id = hubspot_deal_leads.portal_id
            and hubspot_deal_history.deal_id = hubspot_deal_leads.deal_id
    left join hubspot_owners
        on
            hubspot_deal_history.portal_id = hubspot_owners.portal_id
            and hubspot_deal_history.owner_id = hubspot_owners.owner_id
    where hubspot_deal_history.stage is not null

),

-- A contact's lifecycle moves while no deal is associated with it (potential is skipped: every lead
-- record is potential already).
hubspot_lifecycle_events as (

    select
        hubspot_contact_lifecycle.stage_event_key,
        hubspot_contact_lifecycle.dealer_code,
        'hubspot'::text as source_system,
        hubspot_contact_lifecycle.contact_id as source_lead_id,
        hubspot_contact_lifecycle.stage,
        hubspot_contact_lifecycle.occurred_at,
        hubspot_owners.consultant,
        null::text as lost_reason,
        null::numeric as amount,
        null::text as currency,
        hubspot_contact_lifecycle.extracted_at
    from hubspot_contact_lifecycle
    left join hubspot_owners
        on
            hubspot_contact_lifecycle.portal_id = hubspot_owners.portal_id
            and hubspot_contact_lifecycle.owner_id = hubspot_owners.owner_id
    where
        hubspot_contact_lifecycle.stage is not null
        and hubspot_contact_lifecycle.stage != 'potential'
        and not exists (
            select 1
            from hubspot_deal_contacts
            where
                hubspot_deal_contacts.portal_id = hubspot_contact_lifecycle.portal_id
                and hubspot_deal_contacts.contact_id = hubspot_contact_lifecycle.contact_id
        )

),

hubspot_all_stage_events as (

    select * from hubspot_stage_events
    union all
    select * from hubspot_lifecycle_events

),

hubspot_stage_events_loaded as (

    select * from hubspot_all_stage_events
    {{ incremental_source_filter('hubspot') }}

),

-- An attendee's status beyond registration (checked in: interested; cancelled: lost) at the
-- time of its last change. The key carries the status, so a check-in adds an event and the
-- registration's potential needs none (the lead record is potential by itself).
eventbrite_status_events as (

    select
        md5(dealer_code || '|eventbrite|' || source_lead_id || '|status|' || status) as stage_event_key,
        dealer_code,
        source_system,
        source_lead_id,
        stage,
        changed_at as occurred_at,
        null::text as consultant,
        null::text as lost_reason,
        null::numeric as amount,
        null::text as currency,
        extracted_at
    from eventbrite_attendees
    where
        stage is not null
        and stage != 'potential'

),

eventbrite_stage_events_loaded as (

    select * from eventbrite_status_events
    {{ incremental_source_filter('eventbrite') }}

),

unioned as (

    {{ union_ctes(
        [
            'dealer_export_stage_events',
            'salesforce_stage_events_loaded',
            'eventbrite_stage_events_loaded',
            'hubspot_stage_events_loaded',
        ],
        stage_event_columns,
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

    {{ select_with_refreshed_at('keyed', 'stage_event_key') }}

)

select * from final

{{
    config(
        materialized='incremental',
        unique_key='stage_event_key',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
    )
}}
-- One row per deduplicated stage event per source system. Sources:
--   * the dealer CRM export (stage already canonical);
--   * Salesforce LeadHistory status changes (stage = mapped NewValue);
--   * Salesforce OpportunityHistory rows, attributed to the lead converted into the opportunity
--     (Lead.ConvertedOpportunityId; rows of an opportunity no lead was converted into are left out);
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
-- optional columns; amount of a Salesforce opportunity event = OpportunityHistory.Amount (no
-- currency: single-currency orgs do not send one); null elsewhere.
--
-- Incremental: per source system (macro incremental_source_filter), re-reads the events loaded since
-- the newest extracted_at of that source here minus var incremental_lookback_hours; late events are
-- added and a re-exported event replaces its copy (same stage_event_key). An opportunity event's
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
    {{ incremental_source_filter('dealer_export') }}

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
        null::text as currency,
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
        ['dealer_export_stage_events', 'salesforce_stage_events_loaded', 'eventbrite_stage_events_loaded'],
        stage_event_columns,
    ) }}

),

final as (

    select
        {{ lead_key('dealer_code', 'source_system', 'source_lead_id') }} as lead_record_key,
        *
    from unioned

)

select * from final

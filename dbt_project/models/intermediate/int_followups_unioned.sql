{{
    config(
        materialized='incremental',
        unique_key='followup_key',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['followup_key'], 'unique': True}, {'columns': ['refreshed_at']}],
    )
}}
-- One row per deduplicated follow-up contact per source system. Sources: the dealer CRM export,
-- completed Salesforce Tasks on leads or on the opportunity a lead converted into (consultant =
-- the task owner's User.Name) and HubSpot
-- calls, meetings, e-mails and notes with a contact (stg_hubspot__engagements; consultant = the
-- owner's name; a call's outcome from its disposition, a meeting's from its outcome, seed
-- call_outcome_mapping). Another source is
-- one more import CTE added to the list of `unioned` (macro union_ctes). lead_record_key is the key
-- of the source record contacted; int_lead_records_matched_to_leads maps it to the resolved lead.
-- outcome, grade (the lead's grade after the follow-up), purpose (sales / after_sales) and
-- recorded_at are NULL where a source has none (and on rows loaded before these columns existed,
-- until a --full-refresh).
--
-- Incremental: per source system, reads the follow-ups it has not seen (the dealer export's exactly,
-- by refreshed_at: macro refreshed_source_filter; an API source's loaded since the newest
-- extracted_at of that source here minus var incremental_lookback_minutes: macro
-- incremental_source_filter).

{%- set followup_columns = [
    'followup_key',
    'dealer_code',
    'source_system',
    'source_lead_id',
    'occurred_at',
    'contact_method',
    normalize_person_name('consultant') ~ ' as consultant',
    'note',
    'outcome',
    'grade',
    'purpose',
    'recorded_at',
    'extracted_at',
] %}

with

dealer_export_followups as (

    select * from {{ ref('stg_dealer_export__followups') }}
    {{ refreshed_source_filter('dealer_export') }}

),

salesforce_tasks as (

    select * from {{ ref('stg_salesforce__tasks') }}
    {{ incremental_source_filter('salesforce') }}

),

salesforce_users as (

    select * from {{ ref('stg_salesforce__users') }}

),

salesforce_leads as (

    select * from {{ ref('stg_salesforce__leads') }}

),

-- a task on an opportunity belongs to the lead converted into it
salesforce_tasks_attributed as (

    select
        salesforce_tasks.followup_key,
        salesforce_tasks.dealer_code,
        salesforce_tasks.source_system,
        coalesce(salesforce_tasks.source_lead_id, salesforce_leads.source_lead_id)
            as source_lead_id,
        salesforce_tasks.occurred_at,
        salesforce_tasks.contact_method,
        salesforce_tasks.owner_id,
        salesforce_tasks.note,
        salesforce_tasks.org_id,
        salesforce_tasks.extracted_at
    from salesforce_tasks
    left join salesforce_leads
        on
            salesforce_tasks.org_id = salesforce_leads.org_id
            and salesforce_tasks.opportunity_id = salesforce_leads.converted_opportunity_id
    where coalesce(salesforce_tasks.source_lead_id, salesforce_leads.source_lead_id) is not null

),

salesforce_followups as (

    select
        salesforce_tasks_attributed.*,
        salesforce_users.consultant,
        null::text as outcome,
        null::text as grade,
        null::text as purpose,
        null::timestamptz as recorded_at
    from salesforce_tasks_attributed
    left join salesforce_users
        on
            salesforce_tasks_attributed.org_id = salesforce_users.org_id
            and salesforce_tasks_attributed.owner_id = salesforce_users.user_id

),

hubspot_engagements as (

    select * from {{ ref('stg_hubspot__engagements') }}
    {{ incremental_source_filter('hubspot') }}

),

hubspot_owners as (

    select * from {{ ref('stg_hubspot__owners') }}

),

call_outcomes as (

    select * from {{ ref('call_outcome_mapping') }}
    where source = 'hubspot'

),

hubspot_followups as (

    select
        hubspot_engagements.*,
        hubspot_owners.consultant,
        call_outcomes.outcome,
        null::text as grade,
        null::text as purpose,
        null::timestamptz as recorded_at
    from hubspot_engagements
    left join hubspot_owners
        on
            hubspot_engagements.portal_id = hubspot_owners.portal_id
            and hubspot_engagements.owner_id = hubspot_owners.owner_id
    left join call_outcomes
        on hubspot_engagements.outcome_code = call_outcomes.source_value

),

unioned as (

    {{ union_ctes(['dealer_export_followups', 'salesforce_followups', 'hubspot_followups'], followup_columns) }}

),

keyed as (

    select
        {{ lead_key('dealer_code', 'source_system', 'source_lead_id') }} as lead_record_key,
        *
    from unioned

),

-- refreshed_at: this run, unless the row is exactly the one already held (a re-read in the lookback)
final as (

    {{ select_with_refreshed_at('keyed', 'followup_key') }}

)

select * from final

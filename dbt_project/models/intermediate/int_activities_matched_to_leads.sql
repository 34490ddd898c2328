-- One row per activity (activity_key) of a resolved lead: every activity of the dealer CRM export's
-- activities*.csv (appointment, showroom_visit, test_drive, proposal, quote, order_signed, delivered,
-- first_service) with the lead_key of its source record's resolved lead. An activity naming a lead id
-- that has neither a lead row nor stage events matches no lead and is left out. Another source is one
-- more import CTE unioned into `activities`.

with

dealer_export_activities as (

    select * from {{ ref('stg_dealer_export__activities') }}

),

lead_records as (

    select * from {{ ref('int_lead_records_matched_to_leads') }}

),

activities as (

    select
        {{ lead_key('dealer_code', 'source_system', 'source_lead_id') }} as lead_record_key,
        *
    from dealer_export_activities

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

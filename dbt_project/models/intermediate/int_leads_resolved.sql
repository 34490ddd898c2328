-- One row per resolved lead (lead_key = dealer_code × source_system × source_lead_id): every lead
-- record, plus a lead inferred for each lead id that has stage events but no lead record (the
-- events prove the lead exists; dropping it would lose funnel outcomes). An inferred lead has
-- created_at = its first stage event, channel 'unknown', no campaign, grade or assignment, and the
-- consultant named on its latest event that names one. Follow-ups alone do not create a lead.

with

leads as (

    select * from {{ ref('int_leads_unioned') }}

),

stage_events_by_lead as (

    select * from {{ ref('int_stage_events_pivoted_to_leads') }}

),

lead_records as (

    select
        lead_key,
        dealer_code,
        source_system,
        source_lead_id,
        created_at,
        assigned_at,
        channel,
        campaign,
        consultant,
        grade,
        false as is_inferred_from_events
    from leads

),

inferred_from_events as (

    select
        stage_events_by_lead.lead_key,
        stage_events_by_lead.dealer_code,
        stage_events_by_lead.source_system,
        stage_events_by_lead.source_lead_id,
        stage_events_by_lead.first_event_at as created_at,
        null::timestamptz as assigned_at,
        'unknown'::text as channel,
        null::text as campaign,
        stage_events_by_lead.last_event_consultant as consultant,
        null::text as grade,
        true as is_inferred_from_events
    from stage_events_by_lead
    where not exists (
        select 1
        from leads
        where leads.lead_key = stage_events_by_lead.lead_key
    )

),

unioned as (

    select * from lead_records
    union all
    select * from inferred_from_events

)

select * from unioned

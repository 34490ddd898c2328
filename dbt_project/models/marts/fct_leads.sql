-- One row per resolved lead (lead_key): the source records of one person at one dealer merged
-- (int_lead_records_matched_to_leads). Stage timestamps mean "first known at this stage or a later
-- one"; business days are counted on dealer-local dates with int_calendar_days_numbered; SLA
-- thresholds are the dealer's funnel settings (seeds/funnel_settings.csv).

with

leads as (

    select * from {{ ref('int_leads_resolved') }}

),

stages as (

    select * from {{ ref('int_stage_events_pivoted_to_leads') }}

),

followups as (

    select * from {{ ref('int_followups_aggregated_to_leads') }}

),

dealers as (

    select * from {{ ref('stg_ops__dealers') }}

),

calendar_days as (

    select * from {{ ref('int_calendar_days_numbered') }}

),

settings as (

    select * from {{ ref('int_funnel_settings_pivoted_to_dealers') }}

),

leads_joined as (

    select
        leads.lead_key,
        leads.dealer_code,
        leads.source_system,
        leads.source_lead_id,
        leads.channel,
        leads.campaign,
        leads.consultant,
        leads.grade,
        leads.created_at,
        leads.assigned_at,
        followups.first_contact_at,
        stages.interested_at,
        stages.needs_defined_at,
        stages.decision_at,
        stages.won_at,
        stages.lost_at,
        leads.is_inferred_from_events,
        leads.lead_record_count,
        settings.assignment_sla_business_days,
        settings.first_contact_sla_business_days,
        coalesce(dealers.timezone, '{{ var("default_dealer_timezone") }}') as dealer_timezone
    from leads
    left join stages
        on leads.lead_key = stages.lead_key
    left join followups
        on leads.lead_key = followups.lead_key
    left join dealers
        on leads.dealer_code = dealers.dealer_code
    left join settings
        on leads.dealer_code = settings.dealer_code

),

business_days as (

    select
        leads_joined.*,
        assigned_day.business_day_number - created_day.business_day_number as business_days_to_assign,
        contact_day.business_day_number - assigned_day.business_day_number as business_days_to_first_contact
    from leads_joined
    left join calendar_days as created_day
        on (leads_joined.created_at at time zone leads_joined.dealer_timezone)::date = created_day.date_day
    left join calendar_days as assigned_day
        on (leads_joined.assigned_at at time zone leads_joined.dealer_timezone)::date = assigned_day.date_day
    left join calendar_days as contact_day
        on (leads_joined.first_contact_at at time zone leads_joined.dealer_timezone)::date = contact_day.date_day

),

final as (

    select
        lead_key,
        dealer_code,
        source_system,
        source_lead_id,
        channel,
        campaign,
        consultant,
        grade,
        created_at,
        assigned_at,
        first_contact_at,
        interested_at,
        needs_defined_at,
        decision_at,
        won_at,
        lost_at,
        case
            when won_at is not null then 'won'
            when lost_at is not null then 'lost'
            when decision_at is not null then 'decision'
            when needs_defined_at is not null then 'needs_defined'
            when interested_at is not null then 'interested'
            else 'potential'
        end as current_stage,
        won_at is not null as is_won,
        lost_at is not null and won_at is null as is_lost,
        round(extract(epoch from won_at - created_at) / 86400, 6) as cycle_days,
        business_days_to_assign,
        business_days_to_first_contact,
        business_days_to_assign <= assignment_sla_business_days as is_assignment_sla_met,
        business_days_to_first_contact <= first_contact_sla_business_days as is_first_contact_sla_met,
        coalesce(won_at < created_at, false) as has_cycle_anomaly,
        is_inferred_from_events,
        lead_record_count
    from business_days

)

select * from final

-- One row per lead_key that has at least one stage event: when the lead was first known to be at
-- each funnel stage OR A LATER ONE. A lead that skips stages (potential -> decision) counts as
-- having reached the skipped stages at the time of the later event, so every timestamp is <= the
-- next stage's and funnel counts never increase along the funnel. `lost` is outside the ranking.

with

stage_events as (

    select * from {{ ref('int_stage_events_unioned') }}

),

ranked as (

    select
        *,
        case stage
            when 'potential' then 1
            when 'interested' then 2
            when 'needs_defined' then 3
            when 'decision' then 4
            when 'won' then 5
        end as stage_rank
    from stage_events

),

pivoted as (

    select
        lead_key,
        dealer_code,
        source_system,
        source_lead_id,
        min(occurred_at) as first_event_at,
        max(occurred_at) as last_event_at,
        min(occurred_at) filter (where stage_rank >= 2) as interested_at,
        min(occurred_at) filter (where stage_rank >= 3) as needs_defined_at,
        min(occurred_at) filter (where stage_rank >= 4) as decision_at,
        min(occurred_at) filter (where stage_rank >= 5) as won_at,
        min(occurred_at) filter (where stage = 'lost') as lost_at,
        max(stage_rank) as furthest_stage_rank,
        (array_agg(consultant order by occurred_at desc) filter (where consultant is not null))[1]
            as last_event_consultant,
        count(*)::integer as stage_event_count
    from ranked
    group by
        lead_key,
        dealer_code,
        source_system,
        source_lead_id

),

final as (

    select
        lead_key,
        dealer_code,
        source_system,
        source_lead_id,
        first_event_at,
        last_event_at,
        interested_at,
        needs_defined_at,
        decision_at,
        won_at,
        lost_at,
        case furthest_stage_rank
            when 1 then 'potential'
            when 2 then 'interested'
            when 3 then 'needs_defined'
            when 4 then 'decision'
            when 5 then 'won'
        end as furthest_stage,
        last_event_consultant,
        stage_event_count
    from pivoted

)

select * from final

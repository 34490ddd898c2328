{{ config(**lead_incremental_config()) }}
-- One row per resolved lead (lead_key) that has at least one stage event, over the events of ALL
-- its source records: when the lead was first known to be at each funnel stage OR A LATER ONE. A
-- lead that skips stages (potential -> decision) counts as having reached the skipped stages at
-- the time of the later event, so every timestamp is <= the next stage's and funnel counts never
-- increase along the funnel. Events out of order are fine (min over all); duplicates were
-- collapsed in staging. `lost` is outside the ranking.
-- <stage>_event_at = the first event AT exactly that stage (null when the lead skipped it): with the
-- cumulative <stage>_at it tells a skipped stage (no duration) from a stage spent (fct_leads).
-- won_amount / won_currency: of the latest won event carrying an amount; lost_reason_text: the
-- source's text of the latest lost event carrying a reason, lost_reason: its canonical lost reason
-- (int_source_values_mapped, seeds lost_reason_mapping / lost_reasons; unmapped text is 'other').

--
-- Incremental: a run recomputes the leads whose records int_lead_records_matched_to_leads refreshed
-- (macros changed_lead_keys, delete_changed_leads; README.md, "Incremental builds").

with

stage_events as (

    select * from {{ ref('int_stage_events_unioned') }}

),

lead_records as (

    select * from {{ ref('int_lead_records_matched_to_leads') }}
    {% if is_incremental() %}
        where lead_key in ({{ changed_lead_keys() }})
    {% endif %}

),

lost_reason_values as (

    select * from {{ ref('int_source_values_mapped') }}
    where value_kind = 'lost_reason'

),

ranked as (

    select
        lead_records.lead_key,
        stage_events.dealer_code,
        stage_events.stage,
        stage_events.occurred_at,
        stage_events.consultant,
        stage_events.lost_reason as lost_reason_text,
        lost_reason_values.canonical_value as lost_reason,
        stage_events.stage = 'lost' and stage_events.lost_reason is not null as has_lost_reason,
        stage_events.amount,
        stage_events.currency,
        case stage_events.stage
            when 'potential' then 1
            when 'interested' then 2
            when 'needs_defined' then 3
            when 'decision' then 4
            when 'won' then 5
        end as stage_rank
    from stage_events
    inner join lead_records
        on stage_events.lead_record_key = lead_records.lead_record_key
    left join lost_reason_values
        on
            stage_events.stage = 'lost'
            and stage_events.source_system = lost_reason_values.source_system
            and stage_events.lost_reason = lost_reason_values.source_value

),

pivoted as (

    select
        lead_key,
        dealer_code,
        min(occurred_at) as first_event_at,
        max(occurred_at) as last_event_at,
        min(occurred_at) filter (where stage_rank >= 2) as interested_at,
        min(occurred_at) filter (where stage_rank >= 3) as needs_defined_at,
        min(occurred_at) filter (where stage_rank >= 4) as decision_at,
        min(occurred_at) filter (where stage_rank >= 5) as won_at,
        min(occurred_at) filter (where stage = 'lost') as lost_at,
        min(occurred_at) filter (where stage = 'interested') as interested_event_at,
        min(occurred_at) filter (where stage = 'needs_defined') as needs_defined_event_at,
        min(occurred_at) filter (where stage = 'decision') as decision_event_at,
        max(occurred_at) filter (where stage = 'lost') as last_lost_at,
        (array_agg(amount order by occurred_at desc) filter (where stage = 'won' and amount is not null))[1]
            as won_amount,
        (array_agg(currency order by occurred_at desc) filter (where stage = 'won' and amount is not null))[1]
            as won_currency,
        (array_agg(lost_reason order by occurred_at desc, lost_reason_text desc) filter (where has_lost_reason))[1]
            as lost_reason,
        (array_agg(lost_reason_text order by occurred_at desc, lost_reason_text desc) filter (where has_lost_reason))[1]
            as lost_reason_text,
        max(stage_rank) as furthest_stage_rank,
        (array_agg(consultant order by occurred_at desc) filter (where consultant is not null))[1]
            as last_event_consultant,
        count(*)::integer as stage_event_count
    from ranked
    group by
        lead_key,
        dealer_code

),

final as (

    select
        lead_key,
        dealer_code,
        first_event_at,
        last_event_at,
        interested_at,
        needs_defined_at,
        decision_at,
        won_at,
        lost_at,
        interested_event_at,
        needs_defined_event_at,
        decision_event_at,
        last_lost_at,
        won_amount,
        won_currency,
        lost_reason,
        lost_reason_text,
        case furthest_stage_rank
            when 1 then 'potential'
            when 2 then 'interested'
            when 3 then 'needs_defined'
            when 4 then 'decision'
            when 5 then 'won'
        end as furthest_stage,
        last_event_consultant,
        stage_event_count,
        {{ refreshed_at() }} as refreshed_at
    from pivoted

)

select * from final

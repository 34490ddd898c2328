-- One row per dealer with any lead activity: data_as_of_at = the latest moment the dealer's data
-- describes (the latest lead creation, assignment, stage event or follow-up). Dealer exports are
-- snapshots, so an SLA or follow-up whose deadline is after this moment is not yet due (it may
-- still be met); one whose deadline has passed by then is decided. Data-driven, not now(), so a
-- rebuild of the same data gives the same marts.

with

leads as (

    select * from {{ ref('int_leads_unioned') }}

),

stage_events as (

    select * from {{ ref('int_stage_events_unioned') }}

),

followups as (

    select * from {{ ref('int_followups_unioned') }}

),

activity as (

    select
        dealer_code,
        greatest(max(created_at), max(assigned_at)) as last_activity_at
    from leads
    group by dealer_code

    union all

    select
        dealer_code,
        max(occurred_at) as last_activity_at
    from stage_events
    group by dealer_code

    union all

    select
        dealer_code,
        max(occurred_at) as last_activity_at
    from followups
    group by dealer_code

),

final as (

    select
        dealer_code,
        max(last_activity_at) as data_as_of_at
    from activity
    group by dealer_code

)

select * from final

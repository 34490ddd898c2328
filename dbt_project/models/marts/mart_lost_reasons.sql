-- One row per dealer_code × channel × lost_reason × month_start (dealer local month) in which a
-- lead was lost: why leads were lost (DESIGN.md §2 "What the group reviews"). A loss is a lead of
-- fct_leads that is lost and not won (is_lost), counted in the local month of its lost_at (the
-- activity view, as mart_funnel_activity.entered_lost). lost_reason is fct_leads.lost_reason (a
-- code of the seed lost_reasons, 'other' when unmapped) or 'unknown' when the source gave none.
-- share_of_month_lost = leads_lost ÷ all the dealer's losses of the month (every channel and
-- reason), 4 decimals. lost_from_<stage> = the losses whose furthest stage reached at or before
-- lost_at was <stage> (a stage reached only after the loss does not count).

with

leads as (

    select * from {{ ref('fct_leads') }}

),

dealerships as (

    select * from {{ ref('dim_dealerships') }}

),

losses as (

    select
        leads.dealer_code,
        leads.channel,
        coalesce(leads.lost_reason, 'unknown') as lost_reason,
        {{ dealer_timezone() }} as dealer_timezone,
        {{ period_start(to_dealer_local('leads.lost_at'), "'month'") }} as month_start,
        case
            when leads.decision_at <= leads.lost_at then 'decision'
            when leads.needs_defined_at <= leads.lost_at then 'needs_defined'
            when leads.interested_at <= leads.lost_at then 'interested'
            else 'potential'
        end as stage_at_loss
    from leads
    left join dealerships
        on leads.dealer_code = dealerships.dealer_code
    where leads.is_lost

),

counted as (

    select
        dealer_code,
        channel,
        lost_reason,
        dealer_timezone,
        month_start,
        count(*)::integer as leads_lost,
        (count(*) filter (where stage_at_loss = 'potential'))::integer as lost_from_potential,
        (count(*) filter (where stage_at_loss = 'interested'))::integer as lost_from_interested,
        (count(*) filter (where stage_at_loss = 'needs_defined'))::integer as lost_from_needs_defined,
        (count(*) filter (where stage_at_loss = 'decision'))::integer as lost_from_decision
    from losses
    group by
        dealer_code,
        channel,
        lost_reason,
        dealer_timezone,
        month_start

),

final as (

    select
        dealer_code,
        channel,
        lost_reason,
        month_start,
        leads_lost,
        round(
            leads_lost::numeric / sum(leads_lost) over (partition by dealer_code, month_start), 4
        ) as share_of_month_lost,
        lost_from_potential,
        lost_from_interested,
        lost_from_needs_defined,
        lost_from_decision,
        {{ is_period_complete("'month'", 'month_start', 'dealer_timezone') }} as is_period_complete
    from counted

)

select * from final

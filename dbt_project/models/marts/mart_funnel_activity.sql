-- One row per dealer_code × channel × period_grain (week, month, quarter, year) × period_start in which
-- something HAPPENED (the activity view, DESIGN.md §2 "Two views of a period"): how many leads
-- entered each stage in the period, whatever their creation date, periods cut in dealer local time.
-- entered_potential = leads created in the period; entered_<stage> = leads whose <stage>_at falls in
-- the period (<stage>_at is the first time at that stage or a later one, so a skipped stage is
-- entered with the later one); entered_lost = leads lost in the period (lost_at) and not won since
-- (won takes precedence, as fct_leads.is_lost). won_in_period = entered_won, the name the policy's
-- weekly review uses; amount_won = sum of fct_leads.amount of those leads (NULL when none has an
-- amount). is_period_complete: the period has ended by the as-of time (run start, or var as_of_at).
-- Cohort figures (leads created in the period and how far they got) are mart_funnel_conversion.

with

leads as (

    select * from {{ ref('fct_leads') }}

),

dealerships as (

    select * from {{ ref('dim_dealerships') }}

),

leads_local as (

    select
        leads.lead_key,
        leads.dealer_code,
        leads.channel,
        leads.amount,
        leads.is_won,
        leads.is_lost,
        leads.created_at,
        leads.interested_at,
        leads.needs_defined_at,
        leads.decision_at,
        leads.won_at,
        leads.lost_at,
        {{ dealer_timezone() }} as dealer_timezone
    from leads
    left join dealerships
        on leads.dealer_code = dealerships.dealer_code

),

stage_entries as (

    select
        dealer_code,
        channel,
        dealer_timezone,
        'potential' as entered_stage,
        created_at at time zone dealer_timezone as entered_at_local,
        null::numeric as amount
    from leads_local
    where created_at is not null

    union all

    select
        dealer_code,
        channel,
        dealer_timezone,
        'interested' as entered_stage,
        interested_at at time zone dealer_timezone as entered_at_local,
        null::numeric as amount
    from leads_local
    where interested_at is not null

    union all

    select
        dealer_code,
        channel,
        dealer_timezone,
        'needs_defined' as entered_stage,
        needs_defined_at at time zone dealer_timezone as entered_at_local,
        null::numeric as amount
    from leads_local
    where needs_defined_at is not null

    union all

    select
        dealer_code,
        channel,
        dealer_timezone,
        'decision' as entered_stage,
        decision_at at time zone dealer_timezone as entered_at_local,
        null::numeric as amount
    from leads_local
    where decision_at is not null

    union all

    select
        dealer_code,
        channel,
        dealer_timezone,
        'won' as entered_stage,
        won_at at time zone dealer_timezone as entered_at_local,
        amount
    from leads_local
    where won_at is not null

    union all

    select
        dealer_code,
        channel,
        dealer_timezone,
        'lost' as entered_stage,
        lost_at at time zone dealer_timezone as entered_at_local,
        null::numeric as amount
    from leads_local
    where lost_at is not null and is_lost

),

entries_in_periods as (

    select
        stage_entries.dealer_code,
        stage_entries.channel,
        stage_entries.dealer_timezone,
        stage_entries.entered_stage,
        stage_entries.amount,
        period_grains.period_grain,
        {{ period_start('stage_entries.entered_at_local') }} as period_start
    from stage_entries
    cross join {{ period_grains() }}

),

counted as (

    select
        dealer_code,
        channel,
        dealer_timezone,
        period_grain,
        period_start,
        (count(*) filter (where entered_stage = 'potential'))::integer as entered_potential,
        (count(*) filter (where entered_stage = 'interested'))::integer as entered_interested,
        (count(*) filter (where entered_stage = 'needs_defined'))::integer as entered_needs_defined,
        (count(*) filter (where entered_stage = 'decision'))::integer as entered_decision,
        (count(*) filter (where entered_stage = 'won'))::integer as entered_won,
        (count(*) filter (where entered_stage = 'lost'))::integer as entered_lost,
        (sum(amount) filter (where entered_stage = 'won'))::numeric as amount_won
    from entries_in_periods
    group by
        dealer_code,
        channel,
        dealer_timezone,
        period_grain,
        period_start

),

final as (

    select
        dealer_code,
        channel,
        period_grain,
        period_start,
        entered_potential,
        entered_interested,
        entered_needs_defined,
        entered_decision,
        entered_won,
        entered_lost,
        entered_won as won_in_period,
        amount_won,
        {{ is_period_complete('period_grain', 'period_start', 'dealer_timezone') }} as is_period_complete
    from counted

)

select * from final

-- One row per dealer_code × channel × period_grain (week, month, quarter) × period_start for the
-- cohort of leads CREATED in that period, cut in dealer local time. Only non-empty cohorts have a
-- row. A lead counts at a stage when it reached that stage or a later one (fct_leads), so counts
-- never increase along potential -> interested -> needs_defined -> decision -> won. Rates are
-- rounded to 4 decimals and NULL when their denominator is 0.

with

leads as (

    select * from {{ ref('fct_leads') }}

),

dealerships as (

    select * from {{ ref('dim_dealerships') }}

),

period_grains as (

    select period_grain
    from (values ('week'), ('month'), ('quarter')) as grains (period_grain)

),

leads_local as (

    select
        leads.dealer_code,
        leads.channel,
        leads.created_at
        at time zone coalesce(dealerships.timezone, '{{ var("default_dealer_timezone") }}') as created_at_local,
        leads.interested_at,
        leads.needs_defined_at,
        leads.decision_at,
        leads.won_at,
        leads.is_lost
    from leads
    left join dealerships
        on leads.dealer_code = dealerships.dealer_code

),

cohorts as (

    select
        leads_local.dealer_code,
        leads_local.channel,
        period_grains.period_grain,
        date_trunc(period_grains.period_grain, leads_local.created_at_local)::date as period_start,
        leads_local.interested_at,
        leads_local.needs_defined_at,
        leads_local.decision_at,
        leads_local.won_at,
        leads_local.is_lost
    from leads_local
    cross join period_grains

),

counted as (

    select
        dealer_code,
        channel,
        period_grain,
        period_start,
        count(*)::integer as leads_potential,
        count(interested_at)::integer as leads_interested,
        count(needs_defined_at)::integer as leads_needs_defined,
        count(decision_at)::integer as leads_decision,
        count(won_at)::integer as leads_won,
        (count(*) filter (where is_lost))::integer as leads_lost
    from cohorts
    group by
        dealer_code,
        channel,
        period_grain,
        period_start

),

final as (

    select
        dealer_code,
        channel,
        period_grain,
        period_start,
        leads_potential,
        leads_interested,
        leads_needs_defined,
        leads_decision,
        leads_won,
        leads_lost,
        round(leads_interested::numeric / nullif(leads_potential, 0), 4) as rate_potential_to_interested,
        round(leads_needs_defined::numeric / nullif(leads_interested, 0), 4) as rate_interested_to_needs_defined,
        round(leads_decision::numeric / nullif(leads_needs_defined, 0), 4) as rate_needs_defined_to_decision,
        round(leads_won::numeric / nullif(leads_decision, 0), 4) as rate_decision_to_won,
        round(leads_won::numeric / nullif(leads_potential, 0), 4) as rate_lead_to_won
    from counted

)

select * from final

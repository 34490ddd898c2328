-- One row per region × brand × period_grain (week, month, quarter) × period_start for group HQ:
-- the dealers' funnels rolled up. Funnel counts are the sums of mart_funnel_conversion over the
-- region's dealers of that brand and all channels (cohort = leads created in the period, each
-- dealer's periods cut in its own local time); rates are recomputed from the summed counts (not
-- averaged), NULL when the denominator is 0. Cycle figures are over the leads WON in the period
-- (as mart_sales_cycle, cycle anomalies left out), computed from the leads themselves because a
-- median or p90 cannot be summed from dealer medians.

with

funnel as (

    select * from {{ ref('mart_funnel_conversion') }}

),

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

funnel_rolled_up as (

    select
        coalesce(dealerships.region, 'unassigned') as region,
        coalesce(dealerships.brand, 'unknown') as brand,
        funnel.period_grain,
        funnel.period_start,
        count(distinct funnel.dealer_code)::integer as dealers,
        sum(funnel.leads_potential)::integer as leads_potential,
        sum(funnel.leads_interested)::integer as leads_interested,
        sum(funnel.leads_needs_defined)::integer as leads_needs_defined,
        sum(funnel.leads_decision)::integer as leads_decision,
        sum(funnel.leads_won)::integer as leads_won,
        sum(funnel.leads_lost)::integer as leads_lost
    from funnel
    left join dealerships
        on funnel.dealer_code = dealerships.dealer_code
    group by
        coalesce(dealerships.region, 'unassigned'),
        coalesce(dealerships.brand, 'unknown'),
        funnel.period_grain,
        funnel.period_start

),

won_leads as (

    select
        coalesce(dealerships.region, 'unassigned') as region,
        coalesce(dealerships.brand, 'unknown') as brand,
        leads.won_at at time zone coalesce(dealerships.timezone, '{{ var("default_dealer_timezone") }}')
            as won_at_local,
        leads.cycle_days,
        leads.has_cycle_anomaly
    from leads
    left join dealerships
        on leads.dealer_code = dealerships.dealer_code
    where leads.is_won

),

cycles as (

    select
        won_leads.region,
        won_leads.brand,
        period_grains.period_grain,
        date_trunc(period_grains.period_grain, won_leads.won_at_local)::date as period_start,
        count(*)::integer as leads_won_in_period,
        avg(won_leads.cycle_days) filter (where not won_leads.has_cycle_anomaly) as cycle_days_avg,
        percentile_cont(0.5) within group (order by won_leads.cycle_days)
        filter (where not won_leads.has_cycle_anomaly) as cycle_days_median,
        percentile_cont(0.9) within group (order by won_leads.cycle_days)
        filter (where not won_leads.has_cycle_anomaly) as cycle_days_p90
    from won_leads
    cross join period_grains
    group by
        won_leads.region,
        won_leads.brand,
        period_grains.period_grain,
        date_trunc(period_grains.period_grain, won_leads.won_at_local)::date

),

joined as (

    select
        coalesce(funnel_rolled_up.region, cycles.region) as region,
        coalesce(funnel_rolled_up.brand, cycles.brand) as brand,
        coalesce(funnel_rolled_up.period_grain, cycles.period_grain) as period_grain,
        coalesce(funnel_rolled_up.period_start, cycles.period_start) as period_start,
        coalesce(funnel_rolled_up.dealers, 0) as dealers,
        coalesce(funnel_rolled_up.leads_potential, 0) as leads_potential,
        coalesce(funnel_rolled_up.leads_interested, 0) as leads_interested,
        coalesce(funnel_rolled_up.leads_needs_defined, 0) as leads_needs_defined,
        coalesce(funnel_rolled_up.leads_decision, 0) as leads_decision,
        coalesce(funnel_rolled_up.leads_won, 0) as leads_won,
        coalesce(funnel_rolled_up.leads_lost, 0) as leads_lost,
        coalesce(cycles.leads_won_in_period, 0) as leads_won_in_period,
        cycles.cycle_days_avg,
        cycles.cycle_days_median,
        cycles.cycle_days_p90
    from funnel_rolled_up
    full outer join cycles
        on
            funnel_rolled_up.region = cycles.region
            and funnel_rolled_up.brand = cycles.brand
            and funnel_rolled_up.period_grain = cycles.period_grain
            and funnel_rolled_up.period_start = cycles.period_start

),

final as (

    select
        region,
        brand,
        period_grain,
        period_start,
        dealers,
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
        round(leads_won::numeric / nullif(leads_potential, 0), 4) as rate_lead_to_won,
        leads_won_in_period,
        round(cycle_days_avg, 4) as cycle_days_avg,
        round(cycle_days_median::numeric, 4) as cycle_days_median,
        round(cycle_days_p90::numeric, 4) as cycle_days_p90
    from joined

)

select * from final

-- One row per region × brand × period_grain (week, month, quarter) × period_start for group HQ:
-- the dealers' funnels rolled up. Funnel counts are the sums of mart_funnel_conversion over the
-- region's dealers of that brand and all channels (cohort = leads created in the period, each
-- dealer's periods cut in its own local time); rates are recomputed from the summed counts (not
-- averaged) with the macro funnel_rates, NULL when the denominator is 0. Maturity rolls up the
-- dealers' cohorts: complete / mature only when every dealer's cohort of the period is, and
-- cohort_age_days is the youngest dealer's (a period with wins but no cohort: age and completeness
-- from the winning dealers' local time, no rate mature as there is no rate). Cycle figures are
-- over the leads WON in the period
-- (won_in_period; as mart_sales_cycle, cycle anomalies left out), computed from the leads
-- themselves because a median or p90 cannot be summed from dealer medians.

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
        sum(funnel.leads_lost)::integer as leads_lost,
        min(funnel.cohort_age_days)::integer as cohort_age_days,
        bool_and(funnel.is_period_complete) as is_period_complete,
        bool_and(funnel.is_potential_to_interested_mature) as is_potential_to_interested_mature,
        bool_and(funnel.is_interested_to_needs_defined_mature) as is_interested_to_needs_defined_mature,
        bool_and(funnel.is_needs_defined_to_decision_mature) as is_needs_defined_to_decision_mature,
        bool_and(funnel.is_decision_to_won_mature) as is_decision_to_won_mature,
        bool_and(funnel.is_lead_to_won_mature) as is_lead_to_won_mature,
        bool_and(funnel.is_mature) as is_mature
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
        coalesce(dealerships.timezone, '{{ var("default_dealer_timezone") }}') as dealer_timezone,
        leads.won_at at time zone coalesce(dealerships.timezone, '{{ var("default_dealer_timezone") }}')
            as won_at_local,
        leads.cycle_days,
        leads.has_cycle_anomaly
    from leads
    left join dealerships
        on leads.dealer_code = dealerships.dealer_code
    where leads.is_won

),

{%- set won_period_start = 'date_trunc(period_grains.period_grain, won_leads.won_at_local)::date' %}

cycles as (

    select
        won_leads.region,
        won_leads.brand,
        period_grains.period_grain,
        date_trunc(period_grains.period_grain, won_leads.won_at_local)::date as period_start,
        count(*)::integer as won_in_period,
        min(
            {{ cohort_age_days('period_grains.period_grain', won_period_start, 'won_leads.dealer_timezone') }}
        ) as cohort_age_days,
        bool_and(
            {{ is_period_complete('period_grains.period_grain', won_period_start, 'won_leads.dealer_timezone') }}
        ) as is_period_complete,
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
        coalesce(funnel_rolled_up.cohort_age_days, cycles.cohort_age_days) as cohort_age_days,
        coalesce(funnel_rolled_up.is_period_complete, cycles.is_period_complete) as is_period_complete,
        coalesce(funnel_rolled_up.is_potential_to_interested_mature, false) as is_potential_to_interested_mature,
        coalesce(funnel_rolled_up.is_interested_to_needs_defined_mature, false)
            as is_interested_to_needs_defined_mature,
        coalesce(funnel_rolled_up.is_needs_defined_to_decision_mature, false) as is_needs_defined_to_decision_mature,
        coalesce(funnel_rolled_up.is_decision_to_won_mature, false) as is_decision_to_won_mature,
        coalesce(funnel_rolled_up.is_lead_to_won_mature, false) as is_lead_to_won_mature,
        coalesce(funnel_rolled_up.is_mature, false) as is_mature,
        coalesce(cycles.won_in_period, 0) as won_in_period,
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
        {{ funnel_rates() }},
        cohort_age_days,
        is_period_complete,
        is_potential_to_interested_mature,
        is_interested_to_needs_defined_mature,
        is_needs_defined_to_decision_mature,
        is_decision_to_won_mature,
        is_lead_to_won_mature,
        is_mature,
        won_in_period,
        round(cycle_days_avg, 4) as cycle_days_avg,
        round(cycle_days_median::numeric, 4) as cycle_days_median,
        round(cycle_days_p90::numeric, 4) as cycle_days_p90
    from joined

)

select * from final

-- One row per region × brand × period_grain (week, month, quarter, year) × period_start for group HQ:
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

funnel_rolled_up as (

    select
        coalesce(dealerships.region, 'unassigned') as region,
        coalesce(dealerships.brand, 'unknown') as brand,
        funnel.period_grain,
        funnel.period_start,
        count(distinct funnel.dealer_code)::integer as dealers,
        {{ funnel_cohorts_rolled_up('funnel') }}
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
        {{ dealer_timezone() }} as dealer_timezone,
        {{ to_dealer_local('leads.won_at') }} as won_at_local,
        leads.cycle_days,
        leads.has_cycle_anomaly
    from leads
    left join dealerships
        on leads.dealer_code = dealerships.dealer_code
    where leads.is_won

),

{%- set won_period_start = period_start('won_leads.won_at_local') %}

cycles as (

    select
        won_leads.region,
        won_leads.brand,
        period_grains.period_grain,
        {{ won_period_start }} as period_start,
        count(*)::integer as won_in_period,
        min(
            {{ cohort_age_days('period_grains.period_grain', won_period_start, 'won_leads.dealer_timezone') }}
        ) as cohort_age_days,
        bool_and(
            {{ is_period_complete('period_grains.period_grain', won_period_start, 'won_leads.dealer_timezone') }}
        ) as is_period_complete,
        {{ rounded_distributions(['won_leads.cycle_days'], where='not won_leads.has_cycle_anomaly') }}
    from won_leads
    cross join {{ period_grains() }}
    group by
        won_leads.region,
        won_leads.brand,
        period_grains.period_grain,
        {{ won_period_start }}

),

{%- set keys = ['region', 'brand', 'period_grain', 'period_start'] %}

joined as (

    select
        {{ coalesced_keys('funnel_rolled_up', 'cycles', keys) }},
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
        on {{ keys_match('funnel_rolled_up', 'cycles', keys) }}

),

final as (

    select
        region,
        brand,
        period_grain,
        period_start,
        dealers,
        {{ rolled_up_funnel_columns() }},
        won_in_period,
        cycle_days_avg,
        cycle_days_median,
        cycle_days_p90
    from joined

)

select * from final

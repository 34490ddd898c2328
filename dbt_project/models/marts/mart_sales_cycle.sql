-- One row per dealer_code × channel × period_grain (week, month, quarter, year) × period_start for the
-- leads WON in the period, cut in dealer local time (won_at at time zone the dealer's timezone).
-- won_in_period counts every won lead; the cycle and stage figures leave out leads flagged with an
-- impossible duration (fct_leads.anomaly_reason; has_cycle_anomaly, counted in
-- leads_with_cycle_anomaly), whose durations are NULL anyway, so a data error cannot pull a
-- figure below zero. cycle_days = (won_at − created_at) in days; median and p90 are continuous
-- percentiles (percentile_cont: linear interpolation between the two nearest leads). Days in a
-- stage are fct_leads.days_in_<stage> (from reaching it to reaching the next; potential:
-- created_at → interested_at; decision: decision_at → won_at): a stage the lead skipped is NULL
-- there and left out of that stage's average, median and p90 (not counted as 0). All rounded to
-- 4 decimals.

with

leads as (

    select * from {{ ref('fct_leads') }}

),

dealerships as (

    select * from {{ ref('dim_dealerships') }}

),

won_leads as (

    select
        leads.dealer_code,
        leads.channel,
        {{ to_dealer_local('leads.won_at') }} as won_at_local,
        leads.has_cycle_anomaly,
        leads.cycle_days,
        leads.days_in_potential,
        leads.days_in_interested,
        leads.days_in_needs_defined,
        leads.days_in_decision
    from leads
    left join dealerships
        on leads.dealer_code = dealerships.dealer_code
    where leads.is_won

),

cohorts as (

    select
        won_leads.*,
        period_grains.period_grain,
        {{ period_start('won_leads.won_at_local') }} as period_start
    from won_leads
    cross join {{ period_grains() }}

),

aggregated as (

    select
        dealer_code,
        channel,
        period_grain,
        period_start,
        count(*)::integer as won_in_period,
        (count(*) filter (where has_cycle_anomaly))::integer as leads_with_cycle_anomaly,
        {{ rounded_distributions(
            ['cycle_days', 'days_in_potential', 'days_in_interested', 'days_in_needs_defined', 'days_in_decision'],
            where='not has_cycle_anomaly',
        ) }}
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
        won_in_period,
        cycle_days_avg,
        cycle_days_median,
        cycle_days_p90,
        days_in_potential_avg,
        days_in_interested_avg,
        days_in_needs_defined_avg,
        days_in_decision_avg,
        leads_with_cycle_anomaly,
        days_in_potential_median,
        days_in_potential_p90,
        days_in_interested_median,
        days_in_interested_p90,
        days_in_needs_defined_median,
        days_in_needs_defined_p90,
        days_in_decision_median,
        days_in_decision_p90
    from aggregated

)

select * from final

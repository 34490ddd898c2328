-- One row per dealer_code × channel × period_grain (week, month, quarter) × period_start for the
-- leads WON in the period, cut in dealer local time (won_at at time zone the dealer's timezone).
-- leads_won counts every won lead; the cycle figures leave out leads won before their recorded
-- creation (has_cycle_anomaly, counted in leads_with_cycle_anomaly) so a data error cannot pull
-- the averages below zero. cycle_days = (won_at − created_at) in days; median and p90 are
-- continuous percentiles (percentile_cont: linear interpolation between the two nearest leads).
-- Days in a stage = from reaching it to reaching the next (potential: created_at → interested_at;
-- decision: decision_at → won_at); a skipped stage spends 0 days. All rounded to 4 decimals.

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

won_leads as (

    select
        leads.dealer_code,
        leads.channel,
        leads.won_at
        at time zone coalesce(dealerships.timezone, '{{ var("default_dealer_timezone") }}') as won_at_local,
        leads.has_cycle_anomaly,
        leads.cycle_days,
        extract(epoch from leads.interested_at - leads.created_at) / 86400 as days_in_potential,
        extract(epoch from leads.needs_defined_at - leads.interested_at) / 86400 as days_in_interested,
        extract(epoch from leads.decision_at - leads.needs_defined_at) / 86400 as days_in_needs_defined,
        extract(epoch from leads.won_at - leads.decision_at) / 86400 as days_in_decision
    from leads
    left join dealerships
        on leads.dealer_code = dealerships.dealer_code
    where leads.is_won

),

cohorts as (

    select
        won_leads.*,
        period_grains.period_grain,
        date_trunc(period_grains.period_grain, won_leads.won_at_local)::date as period_start
    from won_leads
    cross join period_grains

),

aggregated as (

    select
        dealer_code,
        channel,
        period_grain,
        period_start,
        count(*)::integer as leads_won,
        (count(*) filter (where has_cycle_anomaly))::integer as leads_with_cycle_anomaly,
        avg(cycle_days) filter (where not has_cycle_anomaly) as cycle_days_avg,
        percentile_cont(0.5) within group (order by cycle_days) filter (where not has_cycle_anomaly)
            as cycle_days_median,
        percentile_cont(0.9) within group (order by cycle_days) filter (where not has_cycle_anomaly)
            as cycle_days_p90,
        avg(days_in_potential) filter (where not has_cycle_anomaly) as days_in_potential_avg,
        avg(days_in_interested) filter (where not has_cycle_anomaly) as days_in_interested_avg,
        avg(days_in_needs_defined) filter (where not has_cycle_anomaly) as days_in_needs_defined_avg,
        avg(days_in_decision) filter (where not has_cycle_anomaly) as days_in_decision_avg
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
        leads_won,
        round(cycle_days_avg, 4) as cycle_days_avg,
        round(cycle_days_median::numeric, 4) as cycle_days_median,
        round(cycle_days_p90::numeric, 4) as cycle_days_p90,
        round(days_in_potential_avg, 4) as days_in_potential_avg,
        round(days_in_interested_avg, 4) as days_in_interested_avg,
        round(days_in_needs_defined_avg, 4) as days_in_needs_defined_avg,
        round(days_in_decision_avg, 4) as days_in_decision_avg,
        leads_with_cycle_anomaly
    from aggregated

)

select * from final

-- One row per dealer_code × channel × period_grain (week, month, quarter, year) × period_start for the
-- cohort of leads CREATED in that period, cut in dealer local time. Only non-empty cohorts have a
-- row. A lead counts at a stage when it reached that stage or a later one (fct_leads), so counts
-- never increase along potential -> interested -> needs_defined -> decision -> won. Rates come from
-- the macro funnel_rates (4 decimals, NULL when the denominator is 0). Each row says how old the
-- cohort is at the as-of time (run_started_at, or var as_of_at) and whether each rate is mature
-- enough to judge (macro cohort_maturity_columns, settings maturity_days_<rate>).

with

leads as (

    select * from {{ ref('fct_leads') }}

),

dealerships as (

    select * from {{ ref('dim_dealerships') }}

),

settings as (

    select * from {{ ref('int_funnel_settings_pivoted_to_dealers') }}

),

leads_local as (

    select
        leads.dealer_code,
        leads.channel,
        {{ dealer_timezone() }} as dealer_timezone,
        {{ to_dealer_local('leads.created_at') }} as created_at_local,
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
        leads_local.dealer_timezone,
        period_grains.period_grain,
        {{ period_start('leads_local.created_at_local') }} as period_start,
        leads_local.interested_at,
        leads_local.needs_defined_at,
        leads_local.decision_at,
        leads_local.won_at,
        leads_local.is_lost
    from leads_local
    cross join {{ period_grains() }}

),

counted as (

    select
        dealer_code,
        channel,
        dealer_timezone,
        period_grain,
        period_start,
        {{ cohort_stage_counts() }}
    from cohorts
    group by
        dealer_code,
        channel,
        dealer_timezone,
        period_grain,
        period_start

),

final as (

    select
        counted.dealer_code,
        counted.channel,
        counted.period_grain,
        counted.period_start,
        counted.leads_potential,
        counted.leads_interested,
        counted.leads_needs_defined,
        counted.leads_decision,
        counted.leads_won,
        counted.leads_lost,
        {{ funnel_rates(relation='counted') }},
        {{ cohort_maturity_columns(
            'counted.period_grain', 'counted.period_start', 'counted.dealer_timezone', 'settings'
        ) }}
    from counted
    left join settings
        on counted.dealer_code = settings.dealer_code

)

select * from final

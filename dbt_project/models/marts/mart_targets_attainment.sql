-- One row per dealer_code × consultant ('(all)' for the dealer's own target) × metric ×
-- period_grain (month, quarter, year) × period_start in which the dealer set a target
-- (targets*.csv, stg_dealer_export__targets; DESIGN.md §2 "Assessment": the quarterly report shows
-- attainment against targets). Periods are dealer-local calendar periods.
--
-- actual is what happened in the target's month, from fct_leads (the activity view, the figures
-- of mart_funnel_activity and mart_consultant_scorecard):
--   leads       the dealer: leads created in the month (mart_funnel_activity.entered_potential);
--               a consultant: leads assigned to them in the month (the scorecard's leads_assigned:
--               assigned_at, or created_at for a lead known without an assignment time);
--   interested  leads that reached interested in the month (entered_interested);
--   won         leads won in the month (won_in_period);
--   amount      sales amount of the leads won in the month (amount_won; 0 when none has one).
-- A quarter or year sums its months' targets and the actuals OF THOSE SAME MONTHS, so target and
-- actual always cover the same months; months_with_target says how many that is (a year with
-- targets for 7 months compares 7 months). attainment = actual ÷ target, 4 decimals, NULL when
-- the target is 0. is_period_complete: the period has ended by the as-of time (dealer local time).
-- Consultant names are trimmed with inner spaces collapsed and go through
-- seeds/consultant_renames.csv, as in fct_leads.

with

targets as (

    select * from {{ ref('stg_dealer_export__targets') }}

),

leads as (

    select * from {{ ref('fct_leads') }}

),

dealerships as (

    select * from {{ ref('dim_dealerships') }}

),

consultant_renames as (

    select * from {{ ref('consultant_renames') }}

),

targets_renamed as (

    select
        targets.dealer_code,
        coalesce(
            {{ normalize_person_name('consultant_renames.new_name') }}, targets.consultant, '(all)'
        ) as consultant,
        targets.metric,
        targets.month_start,
        sum(targets.target) as target  -- noqa: RF04
    from targets
    left join consultant_renames
        on
            targets.dealer_code = consultant_renames.dealer_code
            and targets.consultant = {{ normalize_person_name('consultant_renames.old_name') }}
    group by
        targets.dealer_code,
        coalesce(
            {{ normalize_person_name('consultant_renames.new_name') }}, targets.consultant, '(all)'
        ),
        targets.metric,
        targets.month_start

),

leads_local as (

    select
        leads.dealer_code,
        leads.consultant,
        leads.amount,
        {{ to_dealer_local('leads.created_at') }} as created_at_local,
        {{ to_dealer_local('coalesce(leads.assigned_at, leads.created_at)') }} as assigned_at_local,
        {{ to_dealer_local('leads.interested_at') }} as interested_at_local,
        {{ to_dealer_local('leads.won_at') }} as won_at_local
    from leads
    left join dealerships
        on leads.dealer_code = dealerships.dealer_code

),

-- One row per lead × scope: the dealer as a whole ('(all)') and the lead's consultant.
lead_scopes as (

    select
        dealer_code,
        '(all)' as consultant,
        created_at_local as leads_at_local,
        interested_at_local,
        won_at_local,
        amount
    from leads_local

    union all

    select
        dealer_code,
        consultant,
        assigned_at_local as leads_at_local,
        interested_at_local,
        won_at_local,
        amount
    from leads_local
    where consultant is not null

),

monthly_facts as (

    select
        dealer_code,
        consultant,
        'leads' as metric,
        date_trunc('month', leads_at_local)::date as month_start,
        1::numeric as fact_value
    from lead_scopes

    union all

    select
        dealer_code,
        consultant,
        'interested' as metric,
        date_trunc('month', interested_at_local)::date as month_start,
        1::numeric as fact_value
    from lead_scopes
    where interested_at_local is not null

    union all

    select
        dealer_code,
        consultant,
        'won' as metric,
        date_trunc('month', won_at_local)::date as month_start,
        1::numeric as fact_value
    from lead_scopes
    where won_at_local is not null

    union all

    select
        dealer_code,
        consultant,
        'amount' as metric,
        date_trunc('month', won_at_local)::date as month_start,
        amount as fact_value
    from lead_scopes
    where won_at_local is not null and amount is not null

),

monthly_actuals as (

    select
        dealer_code,
        consultant,
        metric,
        month_start,
        sum(fact_value) as actual
    from monthly_facts
    group by
        dealer_code,
        consultant,
        metric,
        month_start

),

monthly as (

    select
        targets_renamed.dealer_code,
        targets_renamed.consultant,
        targets_renamed.metric,
        targets_renamed.month_start,
        targets_renamed.target,
        coalesce(monthly_actuals.actual, 0) as actual
    from targets_renamed
    left join monthly_actuals
        on
            targets_renamed.dealer_code = monthly_actuals.dealer_code
            and targets_renamed.consultant = monthly_actuals.consultant
            and targets_renamed.metric = monthly_actuals.metric
            and targets_renamed.month_start = monthly_actuals.month_start

),

periods as (

    select
        monthly.dealer_code,
        monthly.consultant,
        monthly.metric,
        target_grains.period_grain,
        {{ period_start('monthly.month_start', 'target_grains.period_grain') }} as period_start,
        sum(monthly.target) as target,  -- noqa: RF04
        sum(monthly.actual) as actual,
        count(*)::integer as months_with_target
    from monthly
    cross join (values ('month'), ('quarter'), ('year')) as target_grains (period_grain)
    group by
        monthly.dealer_code,
        monthly.consultant,
        monthly.metric,
        target_grains.period_grain,
        {{ period_start('monthly.month_start', 'target_grains.period_grain') }}

),

final as (

    select
        periods.dealer_code,
        periods.consultant,
        periods.period_grain,
        periods.period_start,
        periods.metric,
        periods.target,
        periods.actual,
        round(periods.actual / nullif(periods.target, 0), 4) as attainment,
        periods.months_with_target,
        {{ is_period_complete('periods.period_grain', 'periods.period_start', dealer_timezone()) }}
            as is_period_complete
    from periods
    left join dealerships
        on periods.dealer_code = dealerships.dealer_code

)

select * from final

-- DESIGN.md §2: a column name has one meaning everywhere. `leads_won` counts a COHORT's wins (of
-- the leads created, or for the scorecard assigned, in the period, those won so far); wins that
-- happened in the period are `won_in_period`. Per dealer (region × brand for the group overview)
-- × dealer-local month, each mart's leads_won must equal the cohort count from fct_leads. Returns
-- one row per mismatch, plus one row per mart column named leads_won this test does not check
-- (a new mart with leads_won must be added here).

with

leads as (

    select * from {{ ref('fct_leads') }}

),

dealerships as (

    select * from {{ ref('dim_dealerships') }}

),

funnel as (

    select * from {{ ref('mart_funnel_conversion') }}

),

monitoring as (

    select * from {{ ref('mart_funnel_monitoring') }}

),

channel_roi as (

    select * from {{ ref('mart_channel_roi') }}

),

scorecard as (

    select * from {{ ref('mart_consultant_scorecard') }}

),

group_overview as (

    select * from {{ ref('mart_group_overview') }}

),

leads_local as (

    select
        leads.dealer_code,
        coalesce(dealerships.region, 'unassigned') as region,
        coalesce(dealerships.brand, 'unknown') as brand,
        leads.consultant,
        leads.won_at,
        date_trunc(
            'month',
            leads.created_at at time zone coalesce(dealerships.timezone, '{{ var("default_dealer_timezone") }}')
        )::date as created_month,
        date_trunc(
            'month',
            coalesce(leads.assigned_at, leads.created_at)
            at time zone coalesce(dealerships.timezone, '{{ var("default_dealer_timezone") }}')
        )::date as assigned_month
    from leads
    left join dealerships
        on leads.dealer_code = dealerships.dealer_code

),

created_cohorts as (

    select
        dealer_code,
        created_month as month_start,
        count(won_at) as cohort_wins
    from leads_local
    group by dealer_code, created_month

),

assigned_cohorts as (

    select
        dealer_code,
        assigned_month as month_start,
        count(won_at) as cohort_wins
    from leads_local
    where consultant is not null
    group by dealer_code, assigned_month

),

region_cohorts as (

    select
        region,
        brand,
        created_month as month_start,
        count(won_at) as cohort_wins
    from leads_local
    group by region, brand, created_month

),

published as (

    select
        'mart_funnel_conversion' as mart,
        dealer_code as grain,
        period_start as month_start,
        sum(leads_won) as leads_won
    from funnel
    where period_grain = 'month'
    group by dealer_code, period_start

    union all

    select
        'mart_funnel_monitoring' as mart,
        dealer_code as grain,
        period_start as month_start,
        sum(leads_won) as leads_won
    from monitoring
    where period_grain = 'month'
    group by dealer_code, period_start

    union all

    select
        'mart_channel_roi' as mart,
        dealer_code as grain,
        month_start,
        sum(leads_won) as leads_won
    from channel_roi
    group by dealer_code, month_start

    union all

    select
        'mart_consultant_scorecard' as mart,
        dealer_code as grain,
        month_start,
        sum(leads_won) as leads_won
    from scorecard
    group by dealer_code, month_start

    union all

    select
        'mart_group_overview' as mart,
        region || ' / ' || brand as grain,
        period_start as month_start,
        sum(leads_won) as leads_won
    from group_overview
    where period_grain = 'month'
    group by region, brand, period_start

),

expected as (

    select
        marts.mart,
        created_cohorts.dealer_code as grain,
        created_cohorts.month_start,
        created_cohorts.cohort_wins
    from created_cohorts
    cross join
        (values ('mart_funnel_conversion'), ('mart_funnel_monitoring'), ('mart_channel_roi')) as marts (mart)

    union all

    select
        'mart_consultant_scorecard' as mart,
        dealer_code as grain,
        month_start,
        cohort_wins
    from assigned_cohorts

    union all

    select
        'mart_group_overview' as mart,
        region || ' / ' || brand as grain,
        month_start,
        cohort_wins
    from region_cohorts

),

mismatches as (

    select
        coalesce(published.mart, expected.mart) as mart,
        coalesce(published.grain, expected.grain) as grain,
        coalesce(published.month_start, expected.month_start) as month_start,
        coalesce(published.leads_won, 0) as leads_won,
        coalesce(expected.cohort_wins, 0) as cohort_wins,
        'leads_won is not the cohort''s wins' as problem
    from published
    full outer join expected
        on
            published.mart = expected.mart
            and published.grain = expected.grain
            and published.month_start = expected.month_start
    where coalesce(published.leads_won, 0) != coalesce(expected.cohort_wins, 0)

),

unchecked as (

    select
        mart_columns.table_name as mart,
        null as grain,
        null::date as month_start,
        null::bigint as leads_won,
        null::bigint as cohort_wins,
        'a mart column named leads_won that this test does not check' as problem
    from information_schema.columns as mart_columns
    where
        mart_columns.table_schema = '{{ ref("fct_leads").schema }}'
        and mart_columns.column_name = 'leads_won'
        and mart_columns.table_name not in (
            'mart_funnel_conversion',
            'mart_funnel_monitoring',
            'mart_channel_roi',
            'mart_consultant_scorecard',
            'mart_group_overview'
        )

),

final as (

    select * from mismatches
    union all
    select * from unchecked

)

select * from final

-- One row per period_grain (month, quarter, year) × period_start × dealer_code × metric: the
-- headline metrics of every dealer of dim_dealerships in every period, plus one group-total row per
-- period and metric (dealer_code '(group)'), in long form for mart_dealer_ranking, which ranks them
-- and adds the changes. Periods are cut in each dealer's local time.
--
-- Headline metrics (the activity view, what happened in the period):
--   leads               leads created (mart_funnel_activity.entered_potential, all channels);
--   interested          leads that reached interested (entered_interested);
--   won_in_period       leads won (won_in_period);
--   amount_won          sales amount of those wins (amount_won; NULL when none has an amount);
--   satisfaction_score  average of the survey answers given in the period (0-10 scale).
-- Every grain is mart_funnel_activity's own (month, quarter, year); satisfaction is averaged over
-- the answers themselves at every grain (an average of averages would weigh months wrongly).
-- A dealer with no activity in a period has 0 leads / interested / won and a NULL amount and
-- satisfaction. The group row sums the dealers (satisfaction: every answer of every dealer).
-- is_period_complete: the period has ended in the dealer's local time (group row: for every dealer).

with

activity as (

    select * from {{ ref('mart_funnel_activity') }}

),

dealerships as (

    select * from {{ ref('dim_dealerships') }}

),

survey_answers as (

    select * from {{ ref('int_surveys_matched_to_leads') }}

),

activity_by_dealer as (

    select
        dealer_code,
        period_grain,
        period_start,
        sum(entered_potential) as leads,
        sum(entered_interested) as interested,
        sum(won_in_period) as won_in_period,
        sum(amount_won) as amount_won
    from activity
    where period_grain in ('month', 'quarter', 'year')
    group by
        dealer_code,
        period_grain,
        period_start

),

answers_in_periods as (

    select
        survey_answers.dealer_code,
        survey_answers.satisfaction_score,
        ranking_grains.period_grain,
        {{ period_start(to_dealer_local('survey_answers.occurred_at'), 'ranking_grains.period_grain') }}
            as period_start
    from survey_answers
    left join dealerships
        on survey_answers.dealer_code = dealerships.dealer_code
    cross join (values ('month'), ('quarter'), ('year')) as ranking_grains (period_grain)

),

satisfaction as (

    select
        coalesce(dealer_code, '(group)') as dealer_code,
        period_grain,
        period_start,
        round(avg(satisfaction_score), 4) as satisfaction_score
    from answers_in_periods
    group by grouping sets ((dealer_code, period_grain, period_start), (period_grain, period_start))

),

periods as (

    select
        period_grain,
        period_start
    from activity_by_dealer
    union
    select
        period_grain,
        period_start
    from satisfaction

),

dealer_periods as (

    select
        dealerships.dealer_code,
        periods.period_grain,
        periods.period_start,
        coalesce(activity_by_dealer.leads, 0) as leads,
        coalesce(activity_by_dealer.interested, 0) as interested,
        coalesce(activity_by_dealer.won_in_period, 0) as won_in_period,
        activity_by_dealer.amount_won,
        satisfaction.satisfaction_score,
        {{ is_period_complete('periods.period_grain', 'periods.period_start', dealer_timezone()) }}
            as is_period_complete
    from dealerships
    cross join periods
    left join activity_by_dealer
        on
            dealerships.dealer_code = activity_by_dealer.dealer_code
            and periods.period_grain = activity_by_dealer.period_grain
            and periods.period_start = activity_by_dealer.period_start
    left join satisfaction
        on
            dealerships.dealer_code = satisfaction.dealer_code
            and periods.period_grain = satisfaction.period_grain
            and periods.period_start = satisfaction.period_start

),

group_periods as (

    select
        '(group)' as dealer_code,
        dealer_periods.period_grain,
        dealer_periods.period_start,
        sum(dealer_periods.leads) as leads,
        sum(dealer_periods.interested) as interested,
        sum(dealer_periods.won_in_period) as won_in_period,
        sum(dealer_periods.amount_won) as amount_won,
        max(satisfaction.satisfaction_score) as satisfaction_score,
        bool_and(dealer_periods.is_period_complete) as is_period_complete
    from dealer_periods
    left join satisfaction
        on
            satisfaction.dealer_code = '(group)'
            and dealer_periods.period_grain = satisfaction.period_grain
            and dealer_periods.period_start = satisfaction.period_start
    group by
        dealer_periods.period_grain,
        dealer_periods.period_start

),

all_rows as (

    select * from dealer_periods
    union all
    select * from group_periods

),

metric_values as (

    select
        all_rows.period_grain,
        all_rows.period_start,
        all_rows.dealer_code,
        metrics.metric,
        metrics.metric_value,
        all_rows.dealer_code = '(group)' as is_group_total,
        all_rows.is_period_complete
    from all_rows
    cross join lateral (
        values
        ('leads', all_rows.leads::numeric),
        ('interested', all_rows.interested::numeric),
        ('won_in_period', all_rows.won_in_period::numeric),
        ('amount_won', all_rows.amount_won),
        ('satisfaction_score', all_rows.satisfaction_score)
    ) as metrics (metric, metric_value)

)

select * from metric_values

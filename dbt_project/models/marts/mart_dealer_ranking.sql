-- One row per period_grain (month, quarter, year) × period_start × dealer_code × metric: every
-- dealer ranked on each headline metric of the period (leads, interested, won_in_period,
-- amount_won, satisfaction_score; see int_dealer_metrics_aggregated_to_periods), plus the group
-- total row (dealer_code '(group)'), with the change on the previous period (month on month,
-- quarter on quarter, year on year) and on the same period a year before (DESIGN.md §2 "What the
-- group reviews").
-- dealer_rank: 1 = the highest metric_value among the dealers that have one (ties share a rank,
-- rank()); NULL for a NULL value and on the group row; dealers_ranked = how many dealers have a
-- value. change_vs_* = (value − earlier) ÷ earlier, 4 decimals, NULL when the earlier value is NULL
-- or 0 (previous_period_value / previous_year_value show it).

with

metric_values as (

    select * from {{ ref('int_dealer_metrics_aggregated_to_periods') }}

),

ranked as (

    select
        *,
        case
            when not is_group_total and metric_value is not null
                then rank() over (
                    partition by period_grain, period_start, metric, is_group_total, metric_value is null
                    order by metric_value desc
                )
        end as dealer_rank,
        count(metric_value) filter (where not is_group_total) over (
            partition by period_grain, period_start, metric
        ) as dealers_ranked
    from metric_values

),

final as (

    select
        ranked.period_grain,
        ranked.period_start,
        ranked.dealer_code,
        ranked.metric,
        ranked.metric_value,
        ranked.dealer_rank::integer as dealer_rank,
        ranked.dealers_ranked::integer as dealers_ranked,
        ranked.is_group_total,
        previous_period.metric_value as previous_period_value,
        round(
            (ranked.metric_value - previous_period.metric_value) / nullif(previous_period.metric_value, 0), 4
        ) as change_vs_previous_period,
        previous_year.metric_value as previous_year_value,
        round(
            (ranked.metric_value - previous_year.metric_value) / nullif(previous_year.metric_value, 0), 4
        ) as change_vs_previous_year,
        ranked.is_period_complete
    from ranked
    left join metric_values as previous_period
        on
            ranked.dealer_code = previous_period.dealer_code
            and ranked.metric = previous_period.metric
            and ranked.period_grain = previous_period.period_grain
            and previous_period.period_start = (ranked.period_start - case ranked.period_grain
                when 'month' then interval '1 month'
                when 'quarter' then interval '3 months'
                else interval '1 year'
            end)::date
    left join metric_values as previous_year
        on
            ranked.dealer_code = previous_year.dealer_code
            and ranked.metric = previous_year.metric
            and ranked.period_grain = previous_year.period_grain
            and previous_year.period_start = (ranked.period_start - interval '1 year')::date

)

select * from final

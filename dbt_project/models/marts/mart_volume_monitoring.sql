-- One row per dealer_code × week (period_start, a Monday in dealer local time) from the dealer's
-- first week with a lead up to the as-of week, zero-lead weeks included: the published lead-volume
-- monitor (DESIGN.md §2 "Monitoring and alerts"). A week's leads (all channels, by created_at) are
-- compared with the median and the MAD (median absolute deviation) of the same dealer's previous
-- volume_history_weeks weeks: robust_z = (leads - median) / scale, scale = max(1.4826 × MAD,
-- sqrt(max(median, 1))) so a dealer whose weeks are all alike is judged on Poisson noise, not on
-- a zero spread. Weekly totals carry the weekday pattern (busy Saturdays), so a week compares
-- like with like at realistic volumes. The alert code only compares robust_z with its threshold.
-- A week is judged when it is complete, has at least volume_min_history_weeks of history, and lies
-- before the dealer's latest week with a lead (is_before_data_horizon): that week may be only
-- partly delivered, and weeks after it are silence, which the sources' freshness and outage
-- alerts report (a volume "drop" there would repeat them, or be a file not yet dropped).

with

monitoring as (

    select * from {{ ref('mart_funnel_monitoring') }}

),

dealers as (

    select * from {{ ref('dim_dealerships') }}

),

settings as (

    select * from {{ ref('int_funnel_settings_pivoted_to_dealers') }}

),

funnel_settings as (

    select * from {{ ref('funnel_settings') }}

),

group_defaults as (

    select
        max(value::integer) filter (where setting = 'volume_history_weeks') as volume_history_weeks,
        max(value::integer) filter (where setting = 'volume_min_history_weeks')
            as volume_min_history_weeks
    from funnel_settings
    where dealer_code is null or dealer_code = ''

),

dealer_spans as (

    select
        monitoring.dealer_code,
        min(monitoring.period_start) as first_week,
        max(monitoring.period_start) as last_week_with_leads,
        coalesce(dealers.timezone, '{{ var("default_dealer_timezone") }}') as dealer_timezone
    from monitoring
    left join dealers
        on monitoring.dealer_code = dealers.dealer_code
    where monitoring.period_grain = 'week'
    group by
        monitoring.dealer_code,
        dealers.timezone

),

dealer_weeks as (

    select
        dealer_spans.dealer_code,
        dealer_spans.dealer_timezone,
        dealer_spans.last_week_with_leads,
        week_start::date as period_start
    from dealer_spans
    cross join lateral generate_series(
        dealer_spans.first_week,
        date_trunc('week', {{ as_of_local_date('dealer_spans.dealer_timezone') }})::date,
        interval '7 days'
    ) as week_start

),

weekly as (

    select
        dealer_weeks.dealer_code,
        dealer_weeks.period_start,
        coalesce(monitoring.leads_potential, 0) as leads,
        dealer_weeks.period_start < dealer_weeks.last_week_with_leads as is_before_data_horizon,
        {{ is_period_complete("'week'", 'dealer_weeks.period_start', 'dealer_weeks.dealer_timezone') }}
            as is_period_complete,
        coalesce(settings.volume_history_weeks, group_defaults.volume_history_weeks)::integer
            as history_weeks_setting,
        coalesce(settings.volume_min_history_weeks, group_defaults.volume_min_history_weeks)::integer
            as min_history_weeks
    from dealer_weeks
    cross join group_defaults
    left join monitoring
        on
            dealer_weeks.dealer_code = monitoring.dealer_code
            and monitoring.period_grain = 'week'
            and dealer_weeks.period_start = monitoring.period_start
    left join settings
        on dealer_weeks.dealer_code = settings.dealer_code

),

history_pairs as (

    select
        weekly.dealer_code,
        weekly.period_start,
        history.leads as history_leads
    from weekly
    inner join weekly as history
        on
            weekly.dealer_code = history.dealer_code
            and weekly.period_start > history.period_start
            and weekly.period_start - 7 * weekly.history_weeks_setting <= history.period_start

),

medians as (

    select
        dealer_code,
        period_start,
        count(*)::integer as history_weeks,
        percentile_cont(0.5) within group (order by history_leads) as baseline_median
    from history_pairs
    group by
        dealer_code,
        period_start

),

deviations as (

    select
        history_pairs.dealer_code,
        history_pairs.period_start,
        percentile_cont(0.5) within group (
            order by abs(history_pairs.history_leads - medians.baseline_median)
        ) as baseline_mad
    from history_pairs
    inner join medians
        on
            history_pairs.dealer_code = medians.dealer_code
            and history_pairs.period_start = medians.period_start
    group by
        history_pairs.dealer_code,
        history_pairs.period_start

),

final as (

    select
        weekly.dealer_code,
        weekly.period_start,
        weekly.leads::integer as leads,
        coalesce(medians.history_weeks, 0) as history_weeks,
        round(medians.baseline_median::numeric, 2) as baseline_median,
        round(deviations.baseline_mad::numeric, 2) as baseline_mad,
        round(
            greatest(1.4826 * deviations.baseline_mad, sqrt(greatest(medians.baseline_median, 1)))::numeric,
            4
        ) as baseline_scale,
        round(
            ((weekly.leads - medians.baseline_median) / greatest(
                1.4826 * deviations.baseline_mad, sqrt(greatest(medians.baseline_median, 1))
            ))::numeric,
            4
        ) as robust_z,
        weekly.is_period_complete,
        weekly.is_before_data_horizon,
        weekly.is_period_complete
        and weekly.is_before_data_horizon
        and coalesce(medians.history_weeks, 0) >= weekly.min_history_weeks
            as is_judgeable
    from weekly
    left join medians
        on
            weekly.dealer_code = medians.dealer_code
            and weekly.period_start = medians.period_start
    left join deviations
        on
            weekly.dealer_code = deviations.dealer_code
            and weekly.period_start = deviations.period_start

)

select * from final

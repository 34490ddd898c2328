-- One row per dealer_code × period_grain (week, month, quarter, year) × period_start: the published
-- monitoring mart (DESIGN.md §2 "Monitoring and alerts"). Every figure an alert or a summary reads
-- is computed here; Python compares, it does not recompute. The cohort view of
-- mart_funnel_conversion with all channels together: leads created in the period (dealer local
-- time) and how far they have got, the five rates (macro funnel_rates), the cohort's maturity
-- (identical on every channel row of a dealer × period, so carried over), and for each rate its
-- one-sided 95 % Wilson bounds (rate_<name>_lower / _upper, z = 1.644854, macro wilson_bound) so a
-- breach is judged only where the bound says it is real. Only periods with a lead created have a row.

with

funnel as (

    select * from {{ ref('mart_funnel_conversion') }}

),

rolled_up as (

    select
        dealer_code,
        period_grain,
        period_start,
        {{ funnel_cohorts_rolled_up() }}
    from funnel
    group by
        dealer_code,
        period_grain,
        period_start

),

final as (

    select
        dealer_code,
        period_grain,
        period_start,
        {{ rolled_up_funnel_columns() }},
        {{ funnel_rate_wilson_bounds() }}
    from rolled_up

)

select * from final

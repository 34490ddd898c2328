-- One row per dealer_code × period_grain (week, month, quarter) × period_start: the published
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
        sum(leads_potential)::integer as leads_potential,
        sum(leads_interested)::integer as leads_interested,
        sum(leads_needs_defined)::integer as leads_needs_defined,
        sum(leads_decision)::integer as leads_decision,
        sum(leads_won)::integer as leads_won,
        sum(leads_lost)::integer as leads_lost,
        min(cohort_age_days)::integer as cohort_age_days,
        bool_and(is_period_complete) as is_period_complete,
        bool_and(is_potential_to_interested_mature) as is_potential_to_interested_mature,
        bool_and(is_interested_to_needs_defined_mature) as is_interested_to_needs_defined_mature,
        bool_and(is_needs_defined_to_decision_mature) as is_needs_defined_to_decision_mature,
        bool_and(is_decision_to_won_mature) as is_decision_to_won_mature,
        bool_and(is_lead_to_won_mature) as is_lead_to_won_mature,
        bool_and(is_mature) as is_mature
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
        leads_potential,
        leads_interested,
        leads_needs_defined,
        leads_decision,
        leads_won,
        leads_lost,
        {{ funnel_rates() }},
        cohort_age_days,
        is_period_complete,
        is_potential_to_interested_mature,
        is_interested_to_needs_defined_mature,
        is_needs_defined_to_decision_mature,
        is_decision_to_won_mature,
        is_lead_to_won_mature,
        is_mature,
        {{ funnel_rate_wilson_bounds() }}
    from rolled_up

)

select * from final

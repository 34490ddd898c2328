-- One row per dealer_code × model_of_interest × period_grain (week, month, quarter, year) × period_start
-- (dealer local time) with a lead created or won: the model mix of the activity view.
-- entered_potential = leads created in the period interested in the model; won_in_period = leads
-- of that model won in the period (whatever their creation date). model_of_interest is
-- fct_leads.model_of_interest, '(unknown)' when the lead names no model.

with

leads as (

    select * from {{ ref('fct_leads') }}

),

dealerships as (

    select * from {{ ref('dim_dealerships') }}

),

leads_local as (

    select
        leads.dealer_code,
        coalesce(nullif(btrim(leads.model_of_interest), ''), '(unknown)') as model_of_interest,
        {{ to_dealer_local('leads.created_at') }} as created_at_local,
        {{ to_dealer_local('leads.won_at') }} as won_at_local
    from leads
    left join dealerships
        on leads.dealer_code = dealerships.dealer_code

),

entries as (

    select
        dealer_code,
        model_of_interest,
        'potential' as entered_stage,
        created_at_local as entered_at_local
    from leads_local

    union all

    select
        dealer_code,
        model_of_interest,
        'won' as entered_stage,
        won_at_local as entered_at_local
    from leads_local
    where won_at_local is not null

),

final as (

    select
        entries.dealer_code,
        entries.model_of_interest,
        period_grains.period_grain,
        {{ period_start('entries.entered_at_local') }} as period_start,
        (count(*) filter (where entries.entered_stage = 'potential'))::integer as entered_potential,
        (count(*) filter (where entries.entered_stage = 'won'))::integer as won_in_period
    from entries
    cross join {{ period_grains() }}
    group by
        entries.dealer_code,
        entries.model_of_interest,
        period_grains.period_grain,
        {{ period_start('entries.entered_at_local') }}

)

select * from final

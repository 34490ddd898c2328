-- One row per dealer_code × channel × campaign × month_start (dealer-local month) that has leads
-- created or ad spend. Leads are the cohort CREATED in the month (fct_leads.campaign from the
-- dealer export, '(none)' when the lead has no campaign); leads_won = the cohort's leads won so
-- far. spend = the ad platforms' daily spend of the campaign in the month (Meta Insights,
-- Google Ads campaign costs; matched on dealer × channel code × campaign name; the spend day is
-- the ad account's day), NULL when no platform reports spend for the row (organic channels, or a
-- campaign without a spend source) — never a made-up 0. cost_per_lead = spend ÷ leads,
-- cost_per_won = spend ÷ leads_won: NULL when spend is NULL or the denominator is 0. Rounded to 4
-- decimals; amounts in the account currency (currency column). Currencies are never mixed: a row
-- whose spend comes from accounts in different currencies (two ad accounts of the dealer on one
-- channel and campaign name) has has_mixed_currencies = true and spend, cost_per_lead,
-- cost_per_won and currency NULL (never a sum of yuan and dollars); impressions and clicks add up.

with

leads as (

    select * from {{ ref('fct_leads') }}

),

dealerships as (

    select * from {{ ref('dim_dealerships') }}

),

ad_spend as (

    select * from {{ ref('int_ad_spend_unioned') }}

),

lead_cohorts as (

    select
        leads.dealer_code,
        leads.channel,
        coalesce(leads.campaign, '(none)') as campaign,
        {{ period_start(to_dealer_local('leads.created_at'), "'month'") }} as month_start,
        count(*)::integer as leads,
        (count(*) filter (where leads.is_won))::integer as leads_won
    from leads
    left join dealerships
        on leads.dealer_code = dealerships.dealer_code
    group by
        leads.dealer_code,
        leads.channel,
        coalesce(leads.campaign, '(none)'),
        {{ period_start(to_dealer_local('leads.created_at'), "'month'") }}

),

monthly_spend as (

    select
        dealer_code,
        channel,
        coalesce(campaign, '(none)') as campaign,
        date_trunc('month', spend_date)::date as month_start,
        case when count(distinct coalesce(currency, '')) = 1 then sum(spend) end as spend,
        case when count(distinct coalesce(currency, '')) = 1 then min(currency) end as currency,
        count(distinct coalesce(currency, '')) > 1 as has_mixed_currencies,
        sum(impressions)::bigint as impressions,
        sum(clicks)::bigint as clicks
    from ad_spend
    group by
        dealer_code,
        channel,
        coalesce(campaign, '(none)'),
        date_trunc('month', spend_date)::date

),

{%- set keys = ['dealer_code', 'channel', 'campaign', 'month_start'] %}

joined as (

    select
        {{ coalesced_keys('lead_cohorts', 'monthly_spend', keys) }},
        monthly_spend.spend,
        monthly_spend.currency,
        coalesce(monthly_spend.has_mixed_currencies, false) as has_mixed_currencies,
        monthly_spend.impressions,
        monthly_spend.clicks,
        coalesce(lead_cohorts.leads, 0) as leads,
        coalesce(lead_cohorts.leads_won, 0) as leads_won
    from lead_cohorts
    full outer join monthly_spend
        on {{ keys_match('lead_cohorts', 'monthly_spend', keys) }}

),

final as (

    select
        dealer_code,
        channel,
        campaign,
        month_start,
        round(spend, 4) as spend,
        leads,
        leads_won,
        round(spend / nullif(leads, 0), 4) as cost_per_lead,
        round(spend / nullif(leads_won, 0), 4) as cost_per_won,
        currency,
        impressions,
        clicks,
        has_mixed_currencies
    from joined

)

select * from final

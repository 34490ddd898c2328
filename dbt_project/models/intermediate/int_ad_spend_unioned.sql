-- One row per ad account × campaign × day of every ad platform (Meta Insights, Google Ads campaign
-- costs), with the dealer, the channel code used by the dealer export and the campaign name, so
-- spend joins leads on dealer_code × channel × campaign × month.

{%- set ad_spend_columns = [
    'dealer_code',
    'channel',
    'account_id',
    'campaign_id',
    'campaign',
    'spend_date',
    'spend',
    'currency',
    'impressions',
    'clicks',
] %}

with

meta_insights as (

    select * from {{ ref('stg_meta__insights') }}

),

google_ads_campaign_costs as (

    select * from {{ ref('stg_google_ads__campaign_costs') }}

),

unioned as (

    {{ union_ctes(['meta_insights', 'google_ads_campaign_costs'], ad_spend_columns) }}

),

final as (

    select
        md5(channel || '|' || account_id || '|' || campaign_id || '|' || spend_date::text) as ad_spend_key,
        *
    from unioned

)

select * from final

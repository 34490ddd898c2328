-- One row per Meta ad account × campaign × day (record_id = campaign_id|date_start): the daily spend
-- of a campaign from the Insights API (level=campaign, time_increment=1). `spend` comes as a decimal
-- string in the account currency; impressions and clicks as integer strings.

with

source as (

    select * from {{ source('meta', 'meta__insights') }}

),

renamed as (

    select
        _dealer_code as dealer_code,
        'meta_lead_ads'::text as channel,
        account_id,
        payload ->> 'campaign_id' as campaign_id,
        nullif(btrim(payload ->> 'campaign_name'), '') as campaign,
        (payload ->> 'date_start')::date as spend_date,
        coalesce(nullif(payload ->> 'spend', '')::numeric, 0) as spend,
        upper(payload ->> 'account_currency') as currency,
        nullif(payload ->> 'impressions', '')::bigint as impressions,
        nullif(payload ->> 'clicks', '')::bigint as clicks,
        record_updated_at,
        _extracted_at as extracted_at
    from source

)

select * from renamed

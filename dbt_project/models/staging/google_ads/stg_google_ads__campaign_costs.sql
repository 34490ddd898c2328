-- One row per Google Ads customer × campaign × day (record_id = campaign.id|segments.date): the
-- daily cost of a campaign from a GAQL searchStream row. cost = metrics.costMicros / 1e6 (int64
-- values arrive as JSON strings; a missing metric is 0 because the API omits zero values).

with

source as (

    select * from {{ source('google_ads', 'google_ads__campaign_costs') }}

),

renamed as (

    select
        _dealer_code as dealer_code,
        'google_ads'::text as channel,
        account_id,
        payload #>> '{campaign,id}' as campaign_id,
        nullif(btrim(payload #>> '{campaign,name}'), '') as campaign,
        (payload #>> '{segments,date}')::date as spend_date,
        coalesce((payload #>> '{metrics,costMicros}')::numeric, 0) / 1000000 as spend,
        upper(payload #>> '{customer,currencyCode}') as currency,
        coalesce((payload #>> '{metrics,impressions}')::bigint, 0) as impressions,
        coalesce((payload #>> '{metrics,clicks}')::bigint, 0) as clicks,
        record_updated_at,
        _extracted_at as extracted_at
    from source

)

select * from renamed

-- One row per HubSpot deal × entry of propertiesWithHistory.dealstage ({value, timestamp,
-- updatedByUserId}, newest first in the API): a deal's stage change. stage = the stage id through
-- seeds/stage_mapping.csv (source 'hubspot'; the default pipeline's ids), null when unmapped.
-- The deal's current amount (properties.amount, a decimal string), currency
-- (properties.deal_currency_code, ISO 4217; null in a single-currency portal) and owner
-- (hubspot_owner_id) are repeated on each row. int_stage_events_unioned attributes the events to
-- one associated contact (stg_hubspot__deal_contacts).

with

source as (

    select * from {{ source('hubspot', 'hubspot__deals') }}

),

history as (

    select
        source._dealer_code as dealer_code,
        source.account_id as portal_id,
        coalesce(source.payload ->> 'id', source.record_id) as deal_id,
        source.payload #>> '{properties,pipeline}' as pipeline_id,
        entry.value ->> 'value' as deal_stage_id,
        (entry.value ->> 'timestamp')::timestamptz as occurred_at,
        entry.value ->> 'updatedByUserId' as updated_by_user_id,
        nullif(btrim(source.payload #>> '{properties,amount}'), '')::numeric as amount,
        upper(nullif(btrim(source.payload #>> '{properties,deal_currency_code}'), '')) as currency,
        nullif(source.payload #>> '{properties,hubspot_owner_id}', '') as owner_id,
        source._extracted_at as extracted_at
    from source
    cross join
        lateral {{ jsonb_elements_or_none("source.payload #> '{propertiesWithHistory,dealstage}'") }} as entry

),

mapped as (

    select
        md5(
            history.dealer_code || '|hubspot|' || history.deal_id || '|' || history.deal_stage_id || '|'
            || coalesce(to_char(history.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), '')
        ) as stage_event_key,
        history.*,
        {{ canonical_stage('history.deal_stage_id', 'stage_mapping') }} as stage  -- noqa: RF04
    from history
    {{ stage_mapping_join('hubspot', 'history.deal_stage_id', 'stage_mapping') }}
    where
        history.deal_stage_id is not null
        and history.occurred_at is not null

),

final as (

    select * from mapped

)

select * from final

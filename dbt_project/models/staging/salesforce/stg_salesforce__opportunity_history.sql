-- One row per Salesforce OpportunityHistory row: the opportunity's StageName at CreatedDate, as a
-- stage event of the opportunity. stage = StageName through seeds/stage_mapping.csv (source
-- 'salesforce'); amount = Amount, currency = CurrencyIsoCode (sent by multi-currency orgs only; null
-- otherwise). An opportunity belongs to the lead converted into it (Lead.ConvertedOpportunityId);
-- int_stage_events_unioned attributes the event to that lead.

with

source as (

    select * from {{ source('salesforce', 'salesforce__opportunity_history') }}

),

renamed as (

    select
        {{ salesforce_history_event_keys() }},
        source.payload ->> 'OpportunityId' as opportunity_id,
        source.payload ->> 'StageName' as stage_name,
        {{ canonical_stage("source.payload ->> 'StageName'", 'stage_name_mapping') }} as stage,  -- noqa: RF04
        (source.payload ->> 'CreatedDate')::timestamptz as occurred_at,
        source.payload ->> 'CreatedById' as changed_by_id,
        nullif(source.payload ->> 'Amount', '')::numeric as amount,
        upper(nullif(btrim(source.payload ->> 'CurrencyIsoCode'), '')) as currency,
        source.account_id as org_id,
        source._batch_id as batch_id,
        source._extracted_at as extracted_at
    from source
    {{ stage_mapping_join('salesforce', "source.payload ->> 'StageName'", 'stage_name_mapping') }}
    where
        source.payload ->> 'OpportunityId' is not null
        and source.payload ->> 'CreatedDate' is not null

),

final as (

    select * from renamed

)

select * from final

-- One row per Salesforce LeadHistory row of the Status field: a lead's status change as a stage
-- event. stage = NewValue through seeds/stage_mapping.csv (source 'salesforce'); null when the
-- value is not in the mapping (left out by int_stage_events_unioned). occurred_at = CreatedDate.
-- History rows are immutable (the connector reads them by CreatedDate).

with

source as (

    select * from {{ source('salesforce', 'salesforce__lead_history') }}

),

renamed as (

    select
        {{ salesforce_history_event_keys() }},
        source.payload ->> 'LeadId' as source_lead_id,
        source.payload ->> 'OldValue' as old_status,
        source.payload ->> 'NewValue' as new_status,
        {{ canonical_stage("source.payload ->> 'NewValue'", 'status_mapping') }} as stage,  -- noqa: RF04
        (source.payload ->> 'CreatedDate')::timestamptz as occurred_at,
        source.payload ->> 'CreatedById' as changed_by_id,
        source.account_id as org_id,
        source._batch_id as batch_id,
        source._extracted_at as extracted_at
    from source
    {{ stage_mapping_join('salesforce', "source.payload ->> 'NewValue'", 'status_mapping') }}
    where
        source.payload ->> 'Field' = 'Status'
        and source.payload ->> 'LeadId' is not null
        and source.payload ->> 'CreatedDate' is not null

),

final as (

    select * from renamed

)

select * from final

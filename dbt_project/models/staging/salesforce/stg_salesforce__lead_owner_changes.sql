-- One row per Salesforce LeadHistory row of the Owner field in id form: a change of a lead's
-- owner. Salesforce records an owner change as TWO LeadHistory rows of Field 'Owner', one with the
-- old and new owner ids, one with their names; only the id row is kept (NewValue an id: prefix 005
-- for a user, 00G for a queue). is_queue_to_user = the lead moved from a queue to a user, i.e.
-- was assigned to a consultant. changed_at = CreatedDate. History rows are immutable.

with

source as (

    select * from {{ source('salesforce', 'salesforce__lead_history') }}

),

renamed as (

    select
        source._dealer_code as dealer_code,
        coalesce(source.payload ->> 'Id', source.record_id) as lead_history_id,
        source.payload ->> 'LeadId' as source_lead_id,
        source.payload ->> 'OldValue' as old_owner_id,
        source.payload ->> 'NewValue' as new_owner_id,
        (source.payload ->> 'CreatedDate')::timestamptz as changed_at,
        source.payload ->> 'CreatedById' as changed_by_id,
        source.account_id as org_id,
        source._extracted_at as extracted_at
    from source
    where
        source.payload ->> 'Field' = 'Owner'
        and source.payload ->> 'LeadId' is not null
        and source.payload ->> 'CreatedDate' is not null
        and source.payload ->> 'NewValue' ~ '^(005|00G)[A-Za-z0-9]+$'

),

final as (

    select
        *,
        coalesce(old_owner_id like '00G%', false) as is_from_queue,
        coalesce(old_owner_id like '00G%' and new_owner_id like '005%', false) as is_queue_to_user
    from renamed

)

select * from final

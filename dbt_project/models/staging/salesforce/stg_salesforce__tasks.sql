-- One row per completed Salesforce Task on a Lead (WhoId with the Lead key prefix 00Q) or on an
-- Opportunity (WhatId with the prefix 006, e.g. the one a lead converted into; int_followups_unioned
-- attributes it to that lead): a follow-up contact with the columns of stg_dealer_export__followups. Choices: only
-- Status = 'Completed' tasks are contacts made (an open task is a plan, not a contact);
-- occurred_at = CompletedDateTime when extracted, else CreatedDate (the task is logged when the
-- call is made); contact_method = TaskSubtype lower-cased ('call', 'email', 'task'); note =
-- Subject; consultant resolved from OwnerId in int_followups_unioned. source_lead_id is NULL for a
-- task on an opportunity (opportunity_id set). Tasks on contacts only are not attributed.

with

source as (

    select * from {{ source('salesforce', 'salesforce__tasks') }}

),

renamed as (

    select
        {{ salesforce_record_links('followup_key') }},
        coalesce(
            (source.payload ->> 'CompletedDateTime')::timestamptz,
            (source.payload ->> 'CreatedDate')::timestamptz
        ) as occurred_at,
        nullif(lower(btrim(source.payload ->> 'TaskSubtype')), '') as contact_method,
        source.payload ->> 'OwnerId' as owner_id,
        nullif(btrim(source.payload ->> 'Subject'), '') as note,
        source.account_id as org_id,
        source._batch_id as batch_id,
        source._extracted_at as extracted_at
    from source
    where
        source.payload ->> 'Status' = 'Completed'
        and (source.payload ->> 'WhoId' like '00Q%' or source.payload ->> 'WhatId' like '006%')
        and source.payload ->> 'CreatedDate' is not null

),

final as (

    select * from renamed

)

select * from final

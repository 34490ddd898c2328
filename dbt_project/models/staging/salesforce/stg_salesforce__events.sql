-- One row per Salesforce Event (a calendar entry: showroom visit, test drive, delivery, ...) on a
-- Lead (WhoId with the Lead key prefix 00Q) or on an Opportunity (WhatId with the prefix 006, e.g.
-- the one a lead converted into: int_activities_matched_to_leads attributes it to that lead).
-- event_type = Type as the org's picklist wrote it (trimmed); which activity it is, if any, is
-- decided by seeds/activity_mapping.csv through int_source_values_mapped. occurred_at =
-- StartDateTime (else CreatedDate). Salesforce events carry no outcome: outcome is NULL (an
-- appointment's show-up is unknown). Events on contacts or accounts only are not attributed.

with

source as (

    select * from {{ source('salesforce', 'salesforce__events') }}

),

renamed as (

    select
        {{ salesforce_record_links('activity_key') }},
        nullif(btrim(source.payload ->> 'Type'), '') as event_type,
        coalesce(
            (source.payload ->> 'StartDateTime')::timestamptz,
            (source.payload ->> 'CreatedDate')::timestamptz
        ) as occurred_at,
        null::text as outcome,
        nullif(btrim(source.payload ->> 'Subject'), '') as detail,
        source.payload ->> 'OwnerId' as owner_id,
        coalesce(source.payload ->> 'Id', source.record_id) as event_id,
        source.account_id as org_id,
        source._extracted_at as extracted_at
    from source
    where
        (source.payload ->> 'WhoId' like '00Q%' or source.payload ->> 'WhatId' like '006%')
        and coalesce(source.payload ->> 'StartDateTime', source.payload ->> 'CreatedDate') is not null

),

final as (

    select * from renamed

)

select * from final

-- One row per Salesforce org × User: the consultants. consultant = Name, trimmed (inner
-- whitespace collapsed later with the other sources' names).

with

source as (

    select * from {{ source('salesforce', 'salesforce__users') }}

),

renamed as (

    select
        _dealer_code as dealer_code,
        account_id as org_id,
        coalesce(payload ->> 'Id', record_id) as user_id,
        nullif(btrim(payload ->> 'Name'), '') as consultant,
        payload ->> 'Email' as email,
        (payload ->> 'IsActive')::boolean as is_active,
        payload ->> 'Title' as title,
        record_updated_at,
        _extracted_at as extracted_at
    from source

),

final as (

    select * from renamed

)

select * from final

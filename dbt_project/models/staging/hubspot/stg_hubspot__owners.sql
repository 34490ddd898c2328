-- One row per HubSpot account × owner (GET /crm/v3/owners): the consultants.
-- consultant = 'firstName lastName' as HubSpot displays it (null when both are empty).

with

source as (

    select * from {{ source('hubspot', 'hubspot__owners') }}

),

renamed as (

    select
        _dealer_code as dealer_code,
        account_id as portal_id,
        coalesce(payload ->> 'id', record_id) as owner_id,
        nullif(btrim(concat_ws(' ', btrim(payload ->> 'firstName'), btrim(payload ->> 'lastName'))), '')
            as consultant,
        payload ->> 'email' as email,
        coalesce((payload ->> 'archived')::boolean, false) as is_archived,
        record_updated_at,
        _extracted_at as extracted_at
    from source

),

final as (

    select * from renamed

)

select * from final

-- One row per dealer_code: the dealer registry.

with

source as (

    select * from {{ source('ops', 'dealers') }}

),

renamed as (

    select
        dealer_code,
        dealer_name,
        region,
        brand,
        timezone,
        manager,
        is_registered,
        first_seen_at,
        updated_at
    from source

)

select * from renamed

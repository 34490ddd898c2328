-- One row per dealer (dealer_code).

with

dealers as (

    select * from {{ ref('stg_ops__dealers') }}

),

final as (

    select
        dealer_code,
        dealer_name,
        region,
        brand,
        timezone,
        is_registered
    from dealers

)

select * from final

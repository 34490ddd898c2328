-- One row per lead record per source system (dealer_code × source_system × source_lead_id).
-- Only the dealer CRM export feeds leads today; another source is one more import CTE with the
-- same columns, added to `unioned` with `union all`.

with

dealer_export_leads as (

    select * from {{ ref('stg_dealer_export__leads') }}

),

unioned as (

    select
        dealer_code,
        source_system,
        source_lead_id,
        created_at,
        assigned_at,
        channel,
        campaign,
        consultant,
        grade,
        customer_name,
        phone,
        email,
        model_of_interest
    from dealer_export_leads

),

final as (

    select
        {{ lead_key('dealer_code', 'source_system', 'source_lead_id') }} as lead_key,
        *
    from unioned

)

select * from final

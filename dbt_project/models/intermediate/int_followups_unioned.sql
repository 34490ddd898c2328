-- One row per deduplicated follow-up contact per source system. Only the dealer CRM export feeds
-- follow-ups today; another source is one more import CTE added to `unioned` with `union all`.

with

dealer_export_followups as (

    select * from {{ ref('stg_dealer_export__followups') }}

),

unioned as (

    select
        followup_key,
        dealer_code,
        source_system,
        source_lead_id,
        occurred_at,
        contact_method,
        consultant,
        note
    from dealer_export_followups

),

final as (

    select
        {{ lead_key('dealer_code', 'source_system', 'source_lead_id') }} as lead_key,
        *
    from unioned

)

select * from final

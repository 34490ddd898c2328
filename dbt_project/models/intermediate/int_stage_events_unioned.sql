-- One row per deduplicated stage event per source system. Only the dealer CRM export feeds stage
-- events today; another source is one more import CTE added to `unioned` with `union all`.

with

dealer_export_stage_events as (

    select * from {{ ref('stg_dealer_export__stage_events') }}

),

unioned as (

    select
        stage_event_key,
        dealer_code,
        source_system,
        source_lead_id,
        stage,
        occurred_at,
        consultant
    from dealer_export_stage_events

),

final as (

    select
        {{ lead_key('dealer_code', 'source_system', 'source_lead_id') }} as lead_key,
        *
    from unioned

)

select * from final

-- One row per HubSpot account × deal pipeline × stage (GET /crm/v3/pipelines/deals): the stage
-- labels for BI (deal_stage_id -> label), with display order, closed flag and the canonical stage
-- through seeds/stage_mapping.csv (source 'hubspot').

with

source as (

    select * from {{ source('hubspot', 'hubspot__pipelines') }}

),

stages as (

    select
        source._dealer_code as dealer_code,
        source.account_id as portal_id,
        coalesce(source.payload ->> 'id', source.record_id) as pipeline_id,
        source.payload ->> 'label' as pipeline_label,
        pipeline_stage.value ->> 'id' as deal_stage_id,
        pipeline_stage.value ->> 'label' as deal_stage_label,
        (pipeline_stage.value ->> 'displayOrder')::integer as display_order,
        (pipeline_stage.value #>> '{metadata,isClosed}')::boolean as is_closed,
        source._extracted_at as extracted_at
    from source
    cross join
        lateral {{ jsonb_elements_or_none("source.payload -> 'stages'") }} as pipeline_stage

),

mapped as (

    select
        stages.*,
        {{ canonical_stage('stages.deal_stage_id', 'stage_mapping') }} as stage  -- noqa: RF04
    from stages
    {{ stage_mapping_join('hubspot', 'stages.deal_stage_id', 'stage_mapping') }}

),

final as (

    select * from mapped

)

select * from final

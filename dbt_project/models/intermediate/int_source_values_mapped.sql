-- One row per value_kind × source_system × source_value: every distinct channel of a lead record
-- (int_leads_unioned), every distinct lost reason of a lost stage event (int_stage_events_unioned)
-- and every distinct CRM event / meeting type (stg_salesforce__events.event_type,
-- stg_hubspot__meetings.meeting_type) as the source wrote it, with its canonical value (DESIGN.md
-- section 3). The one place where free text meets the seeds: int_leads_resolved takes the
-- canonical channel from here, int_stage_events_pivoted_to_leads the canonical lost reason,
-- int_activities_matched_to_leads the activity, mart_unmapped_source_values counts the unmapped
-- ones.
-- Matching compares keys (macro source_value_key: case, whitespace and separators ignored), in this
-- order: a mapping row of the value's own source system; a mapping row with an empty source (any
-- source); the canonical code itself (seeds channels / lost_reasons: a canonical code is accepted as
-- is). A value whose key is empty is missing: channel 'unknown', lost reason null (not given). Any
-- other value is unmapped: canonical value 'other', is_unmapped true; it is never dropped and never
-- becomes a new channel. An activity type: a canonical activity code, NULL when activity_mapping
-- says it is no activity (a mapping row with no activity), 'other' when unmapped; only a code makes
-- an activity. A table rebuilt on every run, so a seed change applies to every record.

with

lead_records as (

    select * from {{ ref('int_leads_unioned') }}

),

stage_events as (

    select * from {{ ref('int_stage_events_unioned') }}

),

salesforce_events as (

    select * from {{ ref('stg_salesforce__events') }}

),

hubspot_meetings as (

    select * from {{ ref('stg_hubspot__meetings') }}

),

source_values as (

    select distinct
        'channel'::text as value_kind,
        source_system,
        channel as source_value
    from lead_records
    where channel is not null

    union all

    select distinct
        'lost_reason'::text as value_kind,
        source_system,
        lost_reason as source_value
    from stage_events
    where
        stage = 'lost'
        and lost_reason is not null

    union all

    select distinct
        'activity'::text as value_kind,
        source_system,
        event_type as source_value
    from salesforce_events
    where event_type is not null

    union all

    select distinct
        'activity'::text as value_kind,
        source_system,
        meeting_type as source_value
    from hubspot_meetings
    where meeting_type is not null

),

mappings as (

    {{ source_value_mappings() }}

),

keyed as (

    select
        value_kind,
        source_system,
        source_value,
        {{ source_value_key('source_value') }} as source_value_key
    from source_values

),

matched as (

    select distinct on (keyed.value_kind, keyed.source_system, keyed.source_value)
        keyed.value_kind,
        keyed.source_system,
        keyed.source_value,
        mappings.canonical_value,
        true as is_matched
    from keyed
    inner join mappings
        on
            keyed.value_kind = mappings.value_kind
            and keyed.source_value_key = mappings.source_value_key
            and (mappings.mapping_source is null or keyed.source_system = mappings.mapping_source)
    -- a row of the value's own source first, then a row for every source or the code itself
    order by
        keyed.value_kind asc,
        keyed.source_system asc,
        keyed.source_value asc,
        mappings.mapping_source is null asc

),

final as (

    select
        keyed.value_kind,
        keyed.source_system,
        keyed.source_value,
        keyed.source_value_key,
        case
            when matched.is_matched then matched.canonical_value
            when keyed.source_value_key is null and keyed.value_kind = 'channel' then 'unknown'
            when keyed.source_value_key is null then null
            else 'other'
        end as canonical_value,
        keyed.source_value_key is not null and matched.is_matched is null as is_unmapped
    from keyed
    left join matched
        on
            keyed.value_kind = matched.value_kind
            and keyed.source_system = matched.source_system
            and keyed.source_value = matched.source_value

)

select * from final

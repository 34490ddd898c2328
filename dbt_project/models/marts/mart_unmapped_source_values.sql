-- One row per dealer_code × value_kind × source_system × source_value_key: a channel, a lost
-- reason or a CRM event / meeting type (activity) that a source sends and the seeds do not map
-- (int_source_values_mapped.is_unmapped), so it is published as 'other' (an activity type: the
-- event is no activity) (DESIGN.md section 3). The data-quality metric of the mapping: how many
-- records carry it (record_count: lead records for a channel, lost stage events for a lost
-- reason, Salesforce events or HubSpot meetings × contact for an activity). Empty when everything
-- is mapped. The GX suite mart_unmapped_source_values lists every row's report_line as ONE warning
-- check, so a run reports its unmapped values once, in the data-quality digest; the fix is a row
-- in seeds/channel_mapping.csv, lost_reason_mapping.csv or activity_mapping.csv for
-- source_value_key (an activity_mapping row with no activity marks a type as no activity).

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

    select * from {{ ref('int_source_values_mapped') }}

),

records as (

    select
        dealer_code,
        'channel'::text as value_kind,
        source_system,
        channel as source_value,
        extracted_at
    from lead_records

    union all

    select
        dealer_code,
        'lost_reason'::text as value_kind,
        source_system,
        lost_reason as source_value,
        extracted_at
    from stage_events
    where stage = 'lost'

    union all

    select
        dealer_code,
        'activity'::text as value_kind,
        source_system,
        event_type as source_value,
        extracted_at
    from salesforce_events

    union all

    select
        dealer_code,
        'activity'::text as value_kind,
        source_system,
        meeting_type as source_value,
        extracted_at
    from hubspot_meetings

),

unmapped as (

    select
        records.dealer_code,
        records.value_kind,
        records.source_system,
        source_values.source_value_key,
        mode() within group (order by btrim(records.source_value)) as source_value,
        min(source_values.canonical_value) as mapped_to,
        count(*)::integer as record_count,
        max(records.extracted_at) as last_extracted_at
    from records
    inner join source_values
        on
            records.value_kind = source_values.value_kind
            and records.source_system = source_values.source_system
            and records.source_value = source_values.source_value
    where source_values.is_unmapped
    group by
        records.dealer_code,
        records.value_kind,
        records.source_system,
        source_values.source_value_key

),

final as (

    select
        dealer_code,
        value_kind,
        source_system,
        source_value_key,
        source_value,
        mapped_to,
        record_count,
        last_extracted_at,
        format(
            '%s %L (%s, %s): %s record(s) as %s',
            value_kind, source_value, source_system, dealer_code, record_count,
            case when value_kind = 'activity' then 'no activity' else mapped_to end
        ) as report_line
    from unmapped

)

select * from final

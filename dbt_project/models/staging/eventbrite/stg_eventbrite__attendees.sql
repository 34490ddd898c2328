-- One row per Eventbrite organization × attendee (source_lead_id = attendee id): an event
-- registration as a lead record with the columns of stg_dealer_export__leads. Choices:
--   * channel 'event_signup' (registrations of the dealer's test-drive days and launches);
--     campaign null (events have no ad spend source; event_id is kept).
--   * created_at = created (the registration, Eventbrite time '2026-05-04T02:13:00Z', UTC).
--   * customer_name / phone / email from profile (name, else first_name + last_name; cell_phone).
--   * status = the attendee status ('Attending', 'Checked In', 'Not Attending'); checked_in true
--     counts as 'Checked In'. stage = its canonical stage through seeds/stage_mapping.csv (source
--     'eventbrite': a registration is potential, a check-in shows interest, a cancellation is lost);
--     int_stage_events_unioned turns a non-potential status into an event at `changed` (the time
--     of the check-in or cancellation, the attendee's last change).
-- Attendees without created are left out.

with

source as (

    select * from {{ source('eventbrite', 'eventbrite__attendees') }}

),

renamed as (

    select
        source._dealer_code as dealer_code,
        'eventbrite'::text as source_system,
        coalesce(source.payload ->> 'id', source.record_id) as source_lead_id,
        (source.payload ->> 'created')::timestamptz as created_at,
        null::timestamptz as assigned_at,
        'event_signup'::text as channel,
        null::text as campaign,
        null::text as campaign_id,
        null::text as consultant,
        null::text as grade,
        coalesce(
            nullif(btrim(source.payload #>> '{profile,name}'), ''),
            nullif(
                btrim(
                    concat_ws(
                        ' ',
                        btrim(source.payload #>> '{profile,first_name}'),
                        btrim(source.payload #>> '{profile,last_name}')
                    )
                ),
                ''
            )
        ) as customer_name,
        nullif(btrim(source.payload #>> '{profile,cell_phone}'), '') as phone,
        nullif(btrim(source.payload #>> '{profile,email}'), '') as email,
        null::text as model_of_interest,
        source.payload ->> 'event_id' as event_id,
        case
            when coalesce((source.payload ->> 'checked_in')::boolean, false) then 'Checked In'
            else source.payload ->> 'status'
        end as status,
        coalesce((source.payload ->> 'checked_in')::boolean, false) as is_checked_in,
        coalesce((source.payload ->> 'cancelled')::boolean, false) as is_cancelled,
        coalesce((source.payload ->> 'changed')::timestamptz, source.record_updated_at) as changed_at,
        source.account_id as organization_id,
        source.payload as source_payload,
        source.record_updated_at,
        source._batch_id as batch_id,
        source._extracted_at as extracted_at
    from source
    where source.payload ->> 'created' is not null

),

mapped as (

    select
        renamed.*,
        {{ canonical_stage('renamed.status', 'status_mapping') }} as stage  -- noqa: RF04
    from renamed
    {{ stage_mapping_join('eventbrite', 'renamed.status', 'status_mapping') }}

),

final as (

    select * from mapped

)

select * from final

-- One row per dealer_code × source that has delivered or failed: the published freshness
-- monitor (DESIGN.md §2 "Monitoring and alerts"), the one home of "how stale is a source".
-- last_loaded_at = the end of the dealer's latest successful batch of that source (a file landed
-- or an API object extracted, even with zero new rows); hours_since_last_load is measured at the
-- as-of time (run start, or var as_of_at). A source is in OUTAGE when the latest extract of any
-- of its objects for that dealer failed with a connection error (ops.load_batches status
-- failed with a conn_id; abandoned batches excluded): the outage fields come from that record.
-- Only sources that delivered or were extracted have a row, so an API that is not configured is
-- absent, never "stale". The alert rule source_silent compares hours_since_last_load with its
-- threshold and reports outages; it computes nothing.

with

batches as (

    select * from {{ ref('stg_ops__load_batches') }}

),

finished as (

    select *
    from batches
    where
        dealer_code is not null
        and status in ('loaded', 'failed')
        and not is_abandoned

),

last_loads as (

    select
        dealer_code,
        source,
        max(ended_at) as last_loaded_at
    from finished
    where status = 'loaded'
    group by
        dealer_code,
        source

),

latest_per_object as (

    select distinct on (dealer_code, source, object)
        dealer_code,
        source,
        object,
        status,
        ended_at,
        conn_id,
        error_class,
        error_message
    from finished
    order by dealer_code asc, source asc, object asc, ended_at desc

),

outages as (

    select
        dealer_code,
        source,
        max(ended_at) as outage_failed_at,
        string_agg(object, ', ' order by object) as outage_objects,
        (array_agg(conn_id order by ended_at desc))[1] as outage_conn_id,
        (array_agg(error_class order by ended_at desc))[1] as outage_error_class,
        (array_agg(error_message order by ended_at desc))[1] as outage_error_message
    from latest_per_object
    where status = 'failed' and conn_id is not null
    group by
        dealer_code,
        source

),

dealer_sources as (

    select
        dealer_code,
        source
    from last_loads
    union
    select
        dealer_code,
        source
    from outages

),

final as (

    select
        dealer_sources.dealer_code,
        dealer_sources.source,
        last_loads.last_loaded_at,
        -- greatest() skips NULLs, so a source that never delivered is kept NULL explicitly
        case
            when last_loads.last_loaded_at is not null
                then round(
                    greatest(
                        extract(epoch from {{ as_of_at() }} - last_loads.last_loaded_at) / 3600.0,
                        0
                    )::numeric,
                    1
                )
        end as hours_since_last_load,
        outages.outage_failed_at is not null as is_outage,
        outages.outage_failed_at,
        outages.outage_objects,
        outages.outage_conn_id,
        outages.outage_error_class,
        outages.outage_error_message,
        {{ as_of_at() }} as as_of_at
    from dealer_sources
    left join last_loads
        on
            dealer_sources.dealer_code = last_loads.dealer_code
            and dealer_sources.source = last_loads.source
    left join outages
        on
            dealer_sources.dealer_code = outages.dealer_code
            and dealer_sources.source = outages.source

)

select * from final

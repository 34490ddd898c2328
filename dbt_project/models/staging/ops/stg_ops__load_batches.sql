-- One row per load batch (batch_id): every file landing and every API extract object, with the
-- outage fields of a failed extract lifted out of detail.

with

source as (

    select * from {{ source('ops', 'load_batches') }}

),

renamed as (

    select
        batch_id,
        source,
        dealer_code,
        object,
        status,
        started_at,
        finished_at,
        coalesce(finished_at, started_at) as ended_at,
        rows_in,
        rows_loaded,
        rows_quarantined,
        detail ->> 'conn_id' as conn_id,
        detail ->> 'error_class' as error_class,
        detail ->> 'error' as error_message,
        coalesce((detail ->> 'abandoned')::boolean, false) as is_abandoned
    from source

)

select * from renamed

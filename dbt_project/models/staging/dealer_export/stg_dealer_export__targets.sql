-- One row per dealer × month × metric × consultant ('' key part for the dealer's own target): the
-- monthly targets of the export files. A target restated in a later file replaces the earlier one
-- (latest by _extracted_at, _file_name, _row_number wins).

with

source as (

    select * from {{ source('dealer_export', 'dealer_export__targets') }}

),

cleaned as (

    select
        _dealer_code as dealer_code,
        month as month_start,
        metric,
        {{ normalize_person_name('consultant') }} as consultant,
        target,
        {{ dealer_export_file_columns() }}
    from source

),

ranked as (

    select
        *,
        row_number() over (
            partition by dealer_code, month_start, metric, coalesce(consultant, '')
            order by extracted_at desc, file_name desc, file_row_number desc
        ) as restated_rank
    from cleaned

),

final as (

    select
        md5(
            dealer_code || '|' || to_char(month_start, 'YYYY-MM-DD') || '|' || metric || '|'
            || coalesce(consultant, '')
        ) as target_key,
        dealer_code,
        month_start,
        metric,
        consultant,
        consultant is null as is_dealer_target,
        target,
        batch_id,
        file_name,
        file_row_number,
        extracted_at
    from ranked
    where restated_rank = 1

)

select * from final

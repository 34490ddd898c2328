-- One row per calendar date from var calendar_start_date to var calendar_end_date, classified as a
-- business day or not on the working-day calendar (seed named by var holiday_calendar), with a
-- running business_day_number.
--
-- is_business_day: a make-up working day, or a Monday-Friday that is not a holiday.
-- business_day_number: the number of business days on or before date_day within the calendar.
-- Business days elapsed from date a to date b = number(b) - number(a): the business days in (a, b],
-- i.e. after a's date up to and including b's date (Fri -> next Mon = 1, same date = 0).

with

holidays as (

    select * from {{ ref(var('holiday_calendar')) }}

),

date_spine as (

    select
        generate_series(
            '{{ var("calendar_start_date") }}'::date,
            '{{ var("calendar_end_date") }}'::date,
            interval '1 day'
        )::date as date_day

),

classified as (

    select
        date_spine.date_day,
        extract(isodow from date_spine.date_day)::integer as iso_day_of_week,
        holidays.day_type,
        holidays.name as holiday_name,
        coalesce(holidays.is_provisional, false) as is_provisional,
        case
            when holidays.day_type = 'makeup_workday' then true
            when holidays.day_type = 'holiday' then false
            else extract(isodow from date_spine.date_day) < 6
        end as is_business_day
    from date_spine
    left join holidays
        on date_spine.date_day = holidays.holiday_date

),

numbered as (

    select
        *,
        sum(case when is_business_day then 1 else 0 end) over (
            order by date_day
            rows between unbounded preceding and current row
        )::integer as business_day_number
    from classified

)

select * from numbered

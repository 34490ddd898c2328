-- One row per dealer × calendar date (var calendar_start_date to var calendar_end_date): the dealer's
-- working calendar. is_working_day: a make-up working day of the holiday calendar, or a weekday listed
-- in the dealer's working_weekdays setting (ISO day digits, 12345 = Monday–Friday, 123456 with
-- Saturday) that is not a public holiday. working_day_number: the dealer's working days on or before
-- date_day; working days elapsed from date a to date b = number(b) - number(a) (after a's date up to
-- and including b's, as int_calendar_days_numbered counts business days).

with

calendar_days as (

    select * from {{ ref('int_calendar_days_numbered') }}

),

settings as (

    select * from {{ ref('int_funnel_settings_pivoted_to_dealers') }}

),

classified as (

    select
        settings.dealer_code,
        calendar_days.date_day,
        calendar_days.iso_day_of_week,
        calendar_days.day_type,
        calendar_days.holiday_name,
        case
            when calendar_days.day_type = 'makeup_workday' then true
            when calendar_days.day_type = 'holiday' then false
            else strpos(settings.working_weekdays::bigint::text, calendar_days.iso_day_of_week::text) > 0
        end as is_working_day
    from settings
    cross join calendar_days

),

numbered as (

    select
        *,
        sum(case when is_working_day then 1 else 0 end) over (
            partition by dealer_code
            order by date_day
            rows between unbounded preceding and current row
        )::integer as working_day_number
    from classified

)

select * from numbered

-- Fails for each working_weekdays row of seeds/funnel_settings.csv that is not a set of ISO day
-- digits (1 = Monday … 7 = Sunday, each at most once, at least one): e.g. 12345, 123456. A typo
-- such as 0 or 8 would otherwise silently drop or never count a weekday.

with

settings as (

    select * from {{ ref('funnel_settings') }}

),

working_weekdays as (

    select
        dealer_code,
        btrim(value) as weekday_digits
    from settings
    where btrim(setting) = 'working_weekdays'

),

final as (

    select *
    from working_weekdays
    where
        weekday_digits !~ '^[1-7]{1,7}$'
        or (
            select count(distinct day_digit)
            from regexp_split_to_table(working_weekdays.weekday_digits, '') as day_digit
        ) != length(weekday_digits)

)

select * from final

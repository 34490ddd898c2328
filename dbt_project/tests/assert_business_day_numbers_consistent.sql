-- business_day_number increases by exactly 1 on a business day and by 0 otherwise.

with calendar_days as (

    select
        *,
        business_day_number
        - lag(business_day_number, 1, 0) over (order by date_day) as step
    from {{ ref('int_calendar_days_numbered') }}

)

select *
from calendar_days
where step != case when is_business_day then 1 else 0 end

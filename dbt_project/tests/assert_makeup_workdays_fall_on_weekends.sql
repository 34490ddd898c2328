-- A make-up working day is by definition a Saturday or Sunday worked in exchange for a holiday
-- bridge day: catches typos in the holiday seed.

select *
from {{ ref(var('holiday_calendar')) }}
where
    day_type = 'makeup_workday'
    and extract(isodow from holiday_date) < 6

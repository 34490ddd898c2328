-- Fails for each row of seeds/funnel_settings.csv whose value is not a plain number (e.g. '2 days',
-- '1,5', empty): every setting is a count of days, weeks, months, quarters or contacts.

select *
from {{ ref('funnel_settings') }}
where
    value is null
    or value !~ {{ numeric_setting_pattern() }}

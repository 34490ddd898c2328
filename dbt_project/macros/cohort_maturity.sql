{#-
    Cohort maturity (DESIGN.md §2 "Two views of a period"): how old a cohort is at the as-of time
    and whether it is old enough to judge each of its rates.

    The as-of time is the run's start (run_started_at, UTC) unless the var `as_of_at` (an ISO
    timestamp, e.g. '2026-10-11T12:00:00+08:00') pins it, as the tests do.
-#}
{% macro as_of_at() -%}
    {#- run_started_at is always set by dbt; the fallback only lets sqlfluff's templater render. -#}
    {%- set started = run_started_at.isoformat() if run_started_at is defined else '1970-01-01T00:00:00+00:00' -%}
    '{{ var("as_of_at", started) }}'::timestamptz
{%- endmacro %}

{#- The first local date AFTER the period (exclusive end) of a week, month, quarter or year. -#}
{% macro period_end_date(period_grain, period_start) -%}
    ({{ period_start }} + case {{ period_grain }}
        when 'week' then interval '7 days'
        when 'month' then interval '1 month'
        when 'quarter' then interval '3 months'
        when 'year' then interval '1 year'
    end)::date
{%- endmacro %}

{#- The as-of date in a time zone (the dealer's local date at the as-of time). -#}
{% macro as_of_local_date(timezone) -%}
    ({{ as_of_at() }} at time zone {{ timezone }})::date
{%- endmacro %}

{#- The period has ended by the as-of time, in the dealer's local time. -#}
{% macro is_period_complete(period_grain, period_start, timezone) -%}
    ({{ as_of_local_date(timezone) }} >= {{ period_end_date(period_grain, period_start) }})
{%- endmacro %}

{#-
    Full days from the period's last local day to the as-of local date: the age of the youngest
    lead the cohort can hold. 0 while the period is open (the as-of date is on or before its last
    day). A week of Mon 05-04..Sun 05-10 is 1 day old on Mon 05-11, 7 days old on Sun 05-17.
-#}
{% macro cohort_age_days(period_grain, period_start, timezone) -%}
    greatest(
        {{ as_of_local_date(timezone) }} - ({{ period_end_date(period_grain, period_start) }} - 1),
        0
    )::integer
{%- endmacro %}

{#-
    The maturity select-list items of a cohort row: cohort_age_days, is_period_complete,
    is_<rate>_mature for each of the five rates (complete and cohort_age_days >= the dealer's
    setting maturity_days_<rate>), and is_mature (every rate mature). `settings` is the alias of
    int_funnel_settings_pivoted_to_dealers joined on the row's dealer; a dealer without settings
    is never mature (false, not NULL). No trailing comma.
-#}
{% macro cohort_maturity_columns(period_grain, period_start, timezone, settings) -%}
    {%- set age = cohort_age_days(period_grain, period_start, timezone) -%}
    {%- set complete = is_period_complete(period_grain, period_start, timezone) -%}
    {{ age }} as cohort_age_days,
    {{ complete }} as is_period_complete,
    {% for rate in funnel_rate_names() -%}
        coalesce({{ complete }} and {{ age }} >= {{ settings }}.maturity_days_{{ rate }}, false)
        as is_{{ rate }}_mature,
    {% endfor -%}
    {{ is_cohort_mature(period_grain, period_start, timezone, settings) }} as is_mature
{%- endmacro %}

{#- Complete and old enough for every rate (the expression of is_mature). -#}
{% macro is_cohort_mature(period_grain, period_start, timezone, settings) -%}
    {%- set age = cohort_age_days(period_grain, period_start, timezone) -%}
    coalesce({{ is_period_complete(period_grain, period_start, timezone) }}
    {%- for rate in funnel_rate_names() %}
        and {{ age }} >= {{ settings }}.maturity_days_{{ rate }}
    {%- endfor %}, false)
{%- endmacro %}

{#- The maturity column names cohort_maturity_columns produces, in order. -#}
{% macro cohort_maturity_column_names() -%}
    {%- set names = ['cohort_age_days', 'is_period_complete'] -%}
    {%- for rate in funnel_rate_names() -%}
        {%- do names.append('is_' ~ rate ~ '_mature') -%}
    {%- endfor -%}
    {%- do names.append('is_mature') -%}
    {{ return(names) }}
{%- endmacro %}

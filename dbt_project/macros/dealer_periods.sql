{#-
    Dealer local time (DESIGN.md §2 "Two views of a period"): every period of a mart is cut in the
    dealer's own time zone, with the same grains everywhere.

    dealer_timezone(): returns the expression of the dealer's IANA time zone: the `timezone` of
    dim_dealerships (joined as `dealerships`), or var default_dealer_timezone for a dealer missing
    from the registry.
-#}
{% macro dealer_timezone(dealerships='dealerships') -%}
    coalesce({{ dealerships }}.timezone, '{{ var("default_dealer_timezone") }}')
{%- endmacro %}

{#-
    Returns the expression of a timestamptz as the dealer's local wall-clock time (timestamp
    without time zone, in dealer_timezone()).
-#}
{% macro to_dealer_local(timestamp, dealerships='dealerships') -%}
    {{ timestamp }} at time zone {{ dealer_timezone(dealerships) }}
{%- endmacro %}

{#-
    Returns a from-clause item: the relation `period_grains`, one column period_grain, one row per
    grain a periodic mart is cut in ('week', 'month', 'quarter', 'year'). Cross join it to have each row
    once per grain.
-#}
{% macro period_grains() -%}
    (values ('week'), ('month'), ('quarter'), ('year')) as period_grains (period_grain)
{%- endmacro %}

{#-
    Returns the expression of the period start (a date): the first local day of the period of
    grain `period_grain` (default: the period_grains() column) that holds `local_timestamp`.
-#}
{% macro period_start(local_timestamp, period_grain='period_grains.period_grain') -%}
    date_trunc({{ period_grain }}, {{ local_timestamp }})::date
{%- endmacro %}

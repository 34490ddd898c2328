{#-
    Several cohort rows of mart_funnel_conversion (e.g. a dealer's channels, a region's dealers)
    rolled up into one.

    funnel_cohorts_rolled_up(): returns the aggregate select-list items of the roll-up, in contract
    order: each stage count summed (integer); cohort_age_days the youngest row's (min);
    is_period_complete and every is_*_mature true only when true on every row (bool_and).
    `relation` qualifies the source columns. No trailing comma.
-#}
{% macro funnel_cohorts_rolled_up(relation=none) -%}
    {%- set prefix = relation ~ '.' if relation else '' -%}
    {%- for column in funnel_count_columns() -%}
        sum({{ prefix }}{{ column }})::integer as {{ column }},
    {% endfor -%}
    {%- for column in cohort_maturity_column_names() -%}
        {%- if column == 'cohort_age_days' -%}
            min({{ prefix }}{{ column }})::integer as {{ column }}
        {%- else -%}
            bool_and({{ prefix }}{{ column }}) as {{ column }}
        {%- endif -%}
        {%- if not loop.last %},
        {% endif -%}
    {%- endfor -%}
{%- endmacro %}

{#-
    Returns the published select-list items of a rolled-up funnel row, in contract order: the stage
    counts, the five rate_<name> recomputed from the summed counts (funnel_rates) and the maturity
    columns, read from a relation holding funnel_cohorts_rolled_up's columns. No trailing comma.
-#}
{% macro rolled_up_funnel_columns() -%}
    {%- for column in funnel_count_columns() -%}
        {{ column }},
    {% endfor -%}
    {{ funnel_rates() }},
    {% for column in cohort_maturity_column_names() -%}
        {{ column }}{{ ',' if not loop.last }}
    {% endfor -%}
{%- endmacro %}

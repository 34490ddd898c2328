{#-
    Returns the select-list items that summarise each of `columns` over the rows of a group for
    which `where` holds: `<name>_avg` (avg), `<name>_median` and `<name>_p90` (continuous
    percentiles, percentile_cont 0.5 and 0.9: linear interpolation between the two nearest rows),
    each rounded to 4 decimals (numeric), NULL when no row qualifies. `<name>` is the column without
    its relation (`won_leads.cycle_days` -> cycle_days_avg). No trailing comma.
-#}
{% macro rounded_distributions(columns, where) -%}
    {%- for column in columns -%}
        {%- set name = column.split('.')[-1] -%}
        {%- set rows = 'filter (where ' ~ where ~ ')' -%}
        round(avg({{ column }}) {{ rows }}, 4) as {{ name }}_avg,
        {% for quantile, suffix in [(0.5, 'median'), (0.9, 'p90')] -%}
            round((percentile_cont({{ quantile }}) within group (order by {{ column }}) {{ rows }})::numeric, 4)
            as {{ name }}_{{ suffix }}
            {%- if not loop.last %},
        {% endif -%}
        {%- endfor -%}
        {%- if not loop.last %},
        {% endif -%}
    {%- endfor -%}
{%- endmacro %}

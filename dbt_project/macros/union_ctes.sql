{#-
    `select <columns> from <cte>` for each of `ctes`, joined with `union all`: a unioned model names
    its sources and its output columns once. A column is a name or `<expression> as <name>`
    (applied to every branch); every CTE must have the columns the list reads.
-#}
{% macro union_ctes(ctes, columns) -%}
    {%- for cte in ctes %}
    select
        {%- for column in columns %}
        {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ cte }}
    {%- if not loop.last %}

    union all
    {% endif %}
    {%- endfor %}
{%- endmacro %}

{#-
    Funnel monotonicity: fails for each row where a column is greater than the column before it
    in `columns` (e.g. leads_potential >= leads_interested >= ... >= leads_won), or is NULL.
-#}
{% test not_increasing_along(model, columns) %}

select *
from {{ model }}
where
    false
    {%- for column in columns %}
    or {{ column }} is null
    {%- if not loop.first %}
    or {{ column }} > {{ columns[loop.index0 - 1] }}
    {%- endif %}
    {%- endfor %}

{% endtest %}

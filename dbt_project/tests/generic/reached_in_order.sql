{#-
    Stage-timestamp monotonicity on one row: for each consecutive pair (earlier, later) of `columns`,
    fails when `later` is set but `earlier` is NULL or after it. A lead at a stage has reached every
    earlier stage, no later than it reached this one.
-#}
{% test reached_in_order(model, columns) %}

select *
from {{ model }}
where
    false
    {%- for column in columns %}
    {%- if not loop.first %}
    {%- set earlier = columns[loop.index0 - 1] %}
    or ({{ column }} is not null and ({{ earlier }} is null or {{ earlier }} > {{ column }}))
    {%- endif %}
    {%- endfor %}

{% endtest %}

{#-
    Returns the aggregate expression of the first non-NULL value of `expression` in the group, in
    the order `order_by` (an order-by list, e.g. 'created_at, source_lead_id'; add desc for the
    last), NULL when every value is NULL. For a group by: the value one record of several wins.
-#}
{% macro first_non_null(expression, order_by) -%}
    (array_agg({{ expression }} order by {{ order_by }}) filter (where {{ expression }} is not null))[1]
{%- endmacro %}

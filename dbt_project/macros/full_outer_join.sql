{#-
    Two aggregates at the same grain full-outer-joined on their key columns (e.g. lead cohorts and
    ad spend per dealer × channel × campaign × month), so a key found on either side has a row.

    coalesced_keys(left, right, keys): returns the select-list items
    `coalesce(<left>.<key>, <right>.<key>) as <key>`, one per key, so every row has its key
    whichever side it came from. No trailing comma.
-#}
{% macro coalesced_keys(left, right, keys) -%}
    {%- for key in keys -%}
        coalesce({{ left }}.{{ key }}, {{ right }}.{{ key }}) as {{ key }}
        {%- if not loop.last %},
        {% endif -%}
    {%- endfor -%}
{%- endmacro %}

{#- Returns the join condition: each key of `keys` equal on `left` and `right` (and-ed). -#}
{% macro keys_match(left, right, keys) -%}
    {%- for key in keys -%}
        {{ 'and ' if not loop.first }}{{ left }}.{{ key }} = {{ right }}.{{ key }}
        {%- if not loop.last %}
        {% endif -%}
    {%- endfor -%}
{%- endmacro %}

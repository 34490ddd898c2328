{#-
    The elements of a jsonb array, none when `json_value` is not an array (missing, null, an
    object): `cross join lateral {{ jsonb_elements_or_none(...) }} as alias` keeps the row's
    elements only, without failing on a record whose field is not an array.
-#}
{% macro jsonb_elements_or_none(json_value) -%}
    jsonb_array_elements(
        case when jsonb_typeof({{ json_value }}) = 'array' then {{ json_value }} else '[]'::jsonb end
    )
{%- endmacro %}

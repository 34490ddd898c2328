{#-
    Stable surrogate key of a resolved lead: md5 of dealer_code|source_system|source_lead_id.
    The same inputs always give the same key, across runs and rebuilds.
-#}
{% macro lead_key(dealer_code, source_system, source_lead_id) -%}
    md5({{ dealer_code }} || '|' || {{ source_system }} || '|' || {{ source_lead_id }})
{%- endmacro %}

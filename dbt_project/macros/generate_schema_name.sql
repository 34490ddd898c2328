{#- Use the layer's schema name as is (staging, intermediate, marts), not <target>_<layer>.
    Write-audit-publish: the marts layer goes to var('marts_schema') when set (the pipeline
    builds a candidate schema, validates it, then swaps it in as marts); default marts. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}
    {%- elif custom_schema_name | trim == 'marts' -%}{{ var('marts_schema', 'marts') | trim }}
    {%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}

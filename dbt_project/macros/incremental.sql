{#-
    Incremental filter of a source's rows in a unioned incremental model: the rows loaded since the
    newest extracted_at that model already holds FOR THAT SOURCE SYSTEM, minus var
    incremental_lookback_hours. Per source, not global: a source added to a running warehouse (its
    raw table already filled by the connector for weeks) has no rows in the model yet, so its
    watermark is -infinity and all its rows are read on the next incremental run, instead of being
    skipped by another source's newer watermark. Renders nothing on a full build.
-#}
{% macro incremental_source_filter(source_system, extracted_at='extracted_at') -%}
    {%- if is_incremental() %}
        where {{ extracted_at }} > (
            select
                coalesce(max(extracted_at), '-infinity'::timestamptz)
                - interval '{{ var("incremental_lookback_hours") }} hours'
            from {{ this }}
            where source_system = '{{ source_system }}'
        )
    {%- endif %}
{%- endmacro %}

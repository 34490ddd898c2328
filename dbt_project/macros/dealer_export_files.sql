{#-
    The load columns every dealer-export staging model keeps from its raw table (the batch, the
    file and its row, the load time), renamed once here.
-#}
{% macro dealer_export_file_columns() -%}
    _batch_id as batch_id,
    _file_name as file_name,
    _row_number as file_row_number,
    _extracted_at as extracted_at
{%- endmacro %}

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

{#-
    The config of a dealer-export staging model over a raw table that only grows (leads, stage
    events, follow-ups, activities, surveys): {{ config(**dealer_export_staging_config(key_columns)) }}.
    An incremental table, not a view: each run deduplicates only the raw rows loaded since the
    newest extracted_at it holds (macro incremental_source_filter on _extracted_at, with the
    lookback), and replaces the rows of the keys they carry (delete+insert on `key_columns`). The
    version kept is the same as a full dedupe's: versions are ranked by _extracted_at first, and a
    held version newer than the lookback's start is re-read and ranked with the new ones. As a view,
    every model downstream and every test re-ran the window over every raw row on every run (at
    1,000,000 leads, 75 s of the unioned models and ~40 s of tests per run; BENCHMARKS.md).
    The unique index enforces the grain; extracted_at is indexed for the unioned models'
    incremental filter, refreshed_at for this run's tests (macros/test_scope.sql).
-#}
{% macro dealer_export_staging_config(key_columns) -%}
    {%- do return({
        'materialized': 'incremental',
        'unique_key': key_columns,
        'incremental_strategy': 'delete+insert',
        'on_schema_change': 'append_new_columns',
        'indexes': [
            {'columns': key_columns, 'unique': True},
            {'columns': ['extracted_at']},
            {'columns': ['refreshed_at']},
        ],
    }) -%}
{%- endmacro %}

{#-
    The final select of an incremental dealer-export staging model: `cte`'s rows, except, on an
    incremental run, a kept version that is the one already held (same batch, file and row: a raw
    row re-read in the lookback window). It is not rewritten, and its refreshed_at stays that of
    the run that wrote it, so this run's tests and the models downstream see only what changed.
-#}
{% macro select_new_versions(cte, key_columns) -%}
    select {{ cte }}.*
    from {{ cte }}
    {%- if is_incremental() %}
        left join {{ this }} as held
            on
                {%- for column in key_columns %}
                {{ 'and ' if not loop.first }}{{ cte }}.{{ column }} = held.{{ column }}
                {%- endfor %}
        where
            (held.batch_id, held.file_name, held.file_row_number)
            is distinct from ({{ cte }}.batch_id, {{ cte }}.file_name, {{ cte }}.file_row_number)
    {%- endif %}
{%- endmacro %}

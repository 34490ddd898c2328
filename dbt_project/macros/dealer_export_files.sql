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
    An incremental table, not a view: each run deduplicates only the raw rows of the load batches
    it has not read yet (macro unread_batches_filter) and replaces the rows of the keys they carry
    (delete+insert on `key_columns`) when they are newer versions (macro select_new_versions), so
    the version kept is the same as a full dedupe's. As a view, every model downstream and every
    test re-ran the window over every raw row on every run (at 1,000,000 leads, 75 s of the
    unioned models and ~40 s of tests per run; BENCHMARKS.md).
    The unique index enforces the grain; refreshed_at is indexed for the unioned models'
    incremental filter (macro refreshed_source_filter) and this run's tests (macros/test_scope.sql),
    read_xmin for the max() that every read of the raw table and every scoped source test takes
    twice (without the index, each is a scan of the whole staging table).
-#}
{% macro dealer_export_staging_config(key_columns) -%}
    {%- do return({
        'materialized': 'incremental',
        'unique_key': key_columns,
        'incremental_strategy': 'delete+insert',
        'on_schema_change': 'append_new_columns',
        'indexes': [
            {'columns': key_columns, 'unique': True},
            {'columns': ['refreshed_at']},
            {'columns': ['read_xmin']},
        ],
    }) -%}
{%- endmacro %}

{#-
    Incremental filter of a dealer-export raw table (README.md, "Incremental builds"):
    the rows of the load batches written by a transaction this model may not have seen, i.e. whose
    ops.load_batches.xact_id is at least the newest read_xmin it holds (the oldest transaction
    still in progress when it last read; every older one had committed or aborted by then). Exact,
    with no lookback window: a file whose load transaction ran long and committed after a newer
    file was read is still read by the next run, however old its _extracted_at. A batch re-read
    (committed before that read, but with an xid above its xmin) is ranked again and, being the
    version already held, not rewritten (macro select_new_versions). A model without read_xmin yet
    (built before the column existed) reads every row once. Renders nothing on a full build.
-#}
{% macro unread_batches_filter() -%}
    {%- if is_incremental() %}
        where {{ unread_batches_condition(this) }}
    {%- endif %}
{%- endmacro %}

{#- The condition of unread_batches_filter, for `staging`'s raw table: also what a `dbt build`
    tests of that raw table (macros/test_scope.sql, which passes the relation of load_batches).
    `= any(array(...))`: the batch list is read first and its rows fetched through the raw table's
    _batch_id index; `in (...)` or an `or` around it made PostgreSQL scan the whole raw table. -#}
{% macro unread_batches_condition(staging, load_batches=none) -%}
    _batch_id = any(array(
        select batch_id
        from {{ load_batches or source('ops', 'load_batches') }}
        where
            xact_id >= (select max(read_xmin) from {{ staging }})
            or (select max(read_xmin) from {{ staging }}) is null
    ))
{%- endmacro %}

{#-
    The columns an incremental dealer-export staging model stamps on every row it writes:
    refreshed_at (this dbt run) and read_xmin (pg_snapshot_xmin of the snapshot that read the raw
    rows: macro unread_batches_filter reads the batches of transactions from there on next time).
-#}
{% macro dealer_export_refresh_columns() -%}
    {{ refreshed_at() }} as refreshed_at,
    pg_snapshot_xmin(pg_current_snapshot()) as read_xmin
{%- endmacro %}

{#-
    The final select of an incremental dealer-export staging model: `cte`'s rows, except, on an
    incremental run, a version that does not rank above the one already held for its key (versions
    rank by extracted_at, then file name, then row number, as in the models' own dedupe): the held
    version itself, re-read, is not rewritten, and its refreshed_at stays that of the run that
    wrote it, so this run's tests and the models downstream see only what changed; an older
    version read late (its load committed after a newer one was read) does not replace the newer.
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
            held.{{ key_columns[0] }} is null
            or ({{ cte }}.extracted_at, {{ cte }}.file_name, {{ cte }}.file_row_number)
            > (held.extracted_at, held.file_name, held.file_row_number)
    {%- endif %}
{%- endmacro %}

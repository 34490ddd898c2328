{#-
    Planner statistics for a table the model just wrote: `analyze` it in the model's own
    transaction (post-hook in dbt_project.yml). A table made by `create table as` has none until
    autovacuum gets to it, which is after the build (or never, where autovacuum is off), so every
    model reading it was planned on guesses: at 200,000 leads int_sla_checks_evaluated was planned
    for 500 sales contacts instead of 290,000 (nested merge joins estimated at 10^13 rows) and took
    378 s of a 492 s build; with statistics, 13 s of 90 s (BENCHMARKS.md). `analyze` samples a
    fixed number of rows, so it costs well under a second at any size. Views have no statistics
    of their own: nothing to do.
-#}
{% macro analyze_table() %}
    {%- if model.config.materialized in ('table', 'incremental') -%}
        analyze {{ this }}
    {%- endif -%}
{% endmacro %}

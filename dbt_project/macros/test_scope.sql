{#-
    What a generic test reads (dbt's own get_where_subquery, overridden): in a `dbt build`, a test of
    an incremental model that documents refreshed_at reads only the rows that build wrote
    (refreshed_at = this invocation's start, macro refreshed_at), so the audit runs on what changed
    before it is published, and an hourly run tests 1 % of a table, not all of it. Rows a build did
    not write were tested by the build that wrote them. A full refresh writes every row, so every
    row is tested; a `dbt test` on its own (no build) reads every row. A test's own `where` config
    still applies on top.

    What it does not see: a row left alone that an upstream change made wrong (a relationships
    parent gone). The unique indexes of the incremental models enforce their grain on every row,
    and the full refresh that any project, registry or key change forces (ops.dbt_builds) tests
    everything.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- if execute and flags.WHICH == 'build' -%}
        {%- set tested = graph.nodes.get(model.attached_node) if model.attached_node else none -%}
        {%- if tested and tested.config.materialized == 'incremental' and 'refreshed_at' in tested.columns -%}
            {%- do conditions.append('refreshed_at >= ' ~ refreshed_at()) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ') ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

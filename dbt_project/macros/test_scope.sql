{#-
    What a generic test reads (dbt's own get_where_subquery, overridden): in a `dbt build`, a test of
    an incremental model that documents refreshed_at reads only the rows that build wrote
    (refreshed_at = this invocation's start, macro refreshed_at), so the audit runs on what changed
    before it is published, and an hourly run tests 1 % of a table, not all of it. Rows a build did
    not write were tested by the build that wrote them. A full refresh writes every row, so every
    row is tested; a `dbt test` on its own (no build) reads every row. A test's own `where` config
    still applies on top.

    A source test of a raw table that an incremental staging model reads by load batch (the
    dealer export's: macro unread_batches_filter) reads only the rows of the batches that model
    has not read yet, the rows this build stages. If such a test fails, the staging model is
    skipped, its read_xmin stays, and the next build tests the same batches again.

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
        {%- set staging = batch_reading_relation(model.depends_on.nodes) -%}
        {%- if staging is not none -%}
            {%- set batches = graph.sources['source.' ~ project_name ~ '.ops.load_batches'] -%}
            {%- do conditions.append(unread_batches_condition(
                staging,
                api.Relation.create(database=batches.database, schema=batches.schema, identifier=batches.identifier),
            )) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ') ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- The table of the incremental model that reads by load batch (it documents read_xmin) the one
    source a test depends on, or none: a test of a dealer-export raw table finds its staging table
    here. None on a full refresh (every raw row is staged again, so every row is tested) and while
    that table does not exist yet or has no read_xmin. -#}
{% macro batch_reading_relation(depends_on) -%}
    {%- if flags.FULL_REFRESH or depends_on | length != 1 or depends_on[0] not in graph.sources -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and depends_on[0] in node.depends_on.nodes
            and node.config.materialized == 'incremental' and 'read_xmin' in node.columns -%}
            {%- set relation = adapter.get_relation(node.database, node.schema, node.alias) -%}
            {%- if relation is not none
                and 'read_xmin' in adapter.get_columns_in_relation(relation) | map(attribute='name') -%}
                {%- do return(relation) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do return(none) -%}
{%- endmacro %}

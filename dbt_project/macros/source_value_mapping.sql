{#-
    The matching key of a free-text source value (a channel, a lost reason, a CRM event or meeting
    type) for the seeds channel_mapping / lost_reason_mapping / activity_mapping and the canonical
    lists channels / lost_reasons / activities
    (DESIGN.md section 3): lower case, every run of whitespace (full-width too) and separators
    (_ - . / · 、 , ， : ： and brackets) as one space, trimmed; null when nothing is left. So
    'walk_in', 'walk-in' and ' Walk In ' are one key, 'walk in'. The one home of the rule: the
    mapping (int_source_values_mapped) and the seed tests compare keys made here.
-#}
{% macro source_value_key(value) -%}
    nullif(btrim(regexp_replace(lower({{ value }}), '[[:space:]_./·、，,:：()（）　-]+', ' ', 'g')), '')
{%- endmacro %}

{#-
    Every row of the mapping seeds and of the canonical lists as one relation (a select to use as
    a CTE body): value_kind ('channel', 'lost_reason', 'activity'), mapping_source (the row's
    source system, null for every source and for a canonical code), source_value,
    source_value_key, canonical_value and is_canonical (a canonical code, accepted as is).
    canonical_value is null on an activity_mapping row with no activity: a value known to be no
    activity (a generic meeting, a call). Read by
    int_source_values_mapped and by the test assert_source_value_mappings_are_unambiguous.
-#}
{% macro source_value_mappings() -%}
    {%- set lists = [
        ('channel', 'channel_mapping', 'channels', 'channel'),
        ('lost_reason', 'lost_reason_mapping', 'lost_reasons', 'lost_reason'),
        ('activity', 'activity_mapping', 'activities', 'activity'),
    ] -%}
    {%- for value_kind, mapping_seed, list_seed, column in lists %}
    select
        '{{ value_kind }}'::text as value_kind,
        nullif(btrim(source), '') as mapping_source,
        source_value,
        {{ source_value_key('source_value') }} as source_value_key,
        nullif(btrim({{ column }}), '') as canonical_value,
        false as is_canonical
    from {{ ref(mapping_seed) }}

    union all

    select
        '{{ value_kind }}'::text as value_kind,
        null::text as mapping_source,
        {{ column }} as source_value,
        {{ source_value_key(column) }} as source_value_key,
        btrim({{ column }}) as canonical_value,
        true as is_canonical
    from {{ ref(list_seed) }}
    {%- if not loop.last %}

    union all
    {% endif %}
    {%- endfor %}
{%- endmacro %}

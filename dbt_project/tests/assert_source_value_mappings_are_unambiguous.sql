-- Fails for each matching key that the mapping seeds resolve in more than one way (DESIGN.md
-- section 3; keys made by macro source_value_key): two canonical values with one key; two mapping
-- rows of one source (or two for any source) with one key; a mapping row for any source whose key
-- is a canonical value's key (redundant or contradictory: the canonical code is accepted as is); a
-- mapping row or canonical value whose key is empty (it could never match).

with

mappings as (

    select
        value_kind,
        coalesce(mapping_source, '') as mapping_source,
        source_value,
        source_value_key
    from ({{ source_value_mappings() }}) as seed_rows

),

ambiguous as (

    select
        value_kind,
        mapping_source,
        source_value_key,
        string_agg(source_value, ' | ' order by source_value) as source_values,
        'more than one row for one key' as problem
    from mappings
    where source_value_key is not null
    group by
        value_kind,
        mapping_source,
        source_value_key
    having count(*) > 1

),

empty_keys as (

    select
        value_kind,
        mapping_source,
        source_value_key,
        source_value as source_values,
        'empty key' as problem
    from mappings
    where source_value_key is null

),

final as (

    select * from ambiguous
    union all
    select * from empty_keys

)

select * from final

{#-
    Canonical stage of a source's stage name (DESIGN.md section 3 "Stages"): a canonical code is
    accepted as is, anything else goes through seeds/stage_mapping.csv (the one home of the
    mapping: the Python loaders read the same file through settings.load_stage_mapping()), matched
    case-insensitively after trimming. Null when the name is not in the mapping.
    `mapping_relation` is the alias of the stage_mapping seed joined with stage_mapping_join().
-#}
{% macro canonical_stage(source_stage, mapping_relation) -%}
    (
        case
            when lower(btrim({{ source_stage }})) in (
                'potential', 'interested', 'needs_defined', 'decision', 'won', 'lost'
            ) then lower(btrim({{ source_stage }}))
            else {{ mapping_relation }}.stage
        end
    )
{%- endmacro %}

{% macro stage_mapping_join(source_name, source_stage, mapping_relation) -%}
    left join {{ ref('stage_mapping') }} as {{ mapping_relation }}
        on
            {{ mapping_relation }}.source = '{{ source_name }}'
            and lower(btrim({{ mapping_relation }}.source_stage)) = lower(btrim({{ source_stage }}))
{%- endmacro %}

{#-
    Key columns of a stage event read from a Salesforce *History row (LeadHistory,
    OpportunityHistory) of the CTE `source`: stage_event_key (md5 of dealer|salesforce|history row
    Id; rows are immutable), dealer_code and source_system.
-#}
{% macro salesforce_history_event_keys() -%}
    md5(source._dealer_code || '|salesforce|' || coalesce(source.payload ->> 'Id', source.record_id))
        as stage_event_key,
        source._dealer_code as dealer_code,
        'salesforce'::text as source_system
{%- endmacro %}

{#-
    Policy grade (A-D) of a source's lead rating through seeds/grade_mapping.csv (the one home of
    the mapping), matched case-insensitively after trimming; a policy grade is accepted as is.
    Null when the rating is empty or not in the mapping. `mapping_relation` is the alias of the
    grade_mapping seed joined with grade_mapping_join().
-#}
{% macro mapped_grade(source_grade, mapping_relation) -%}
    (
        case
            when upper(btrim({{ source_grade }})) in ('A', 'B', 'C', 'D') then upper(btrim({{ source_grade }}))
            else {{ mapping_relation }}.grade
        end
    )
{%- endmacro %}

{% macro grade_mapping_join(source_name, source_grade, mapping_relation) -%}
    left join {{ ref('grade_mapping') }} as {{ mapping_relation }}
        on
            {{ mapping_relation }}.source = '{{ source_name }}'
            and lower(btrim({{ mapping_relation }}.source_grade)) = lower(btrim({{ source_grade }}))
{%- endmacro %}

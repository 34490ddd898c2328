{#-
    Returns the select-list items counting a cohort (one row per lead, fct_leads columns) at each
    funnel stage, as integers: every lead under `entered` (leads_potential; a consultant's cohort
    calls it leads_assigned), leads_<stage> for the leads with <stage>_at (reached that stage or a
    later one) for interested, needs_defined, decision and won, and leads_lost (is_lost). No
    trailing comma.
-#}
{% macro cohort_stage_counts(entered='leads_potential') -%}
    count(*)::integer as {{ entered }},
    {% for stage in ['interested', 'needs_defined', 'decision', 'won'] -%}
        count({{ stage }}_at)::integer as leads_{{ stage }},
    {% endfor -%}
    (count(*) filter (where is_lost))::integer as leads_lost
{%- endmacro %}

{#- Returns the names of the six stage count columns of a cohort row, leads_potential .. leads_lost. -#}
{% macro funnel_count_columns() -%}
    {{ return(['leads_potential', 'leads_interested', 'leads_needs_defined', 'leads_decision', 'leads_won', 'leads_lost']) }}
{%- endmacro %}

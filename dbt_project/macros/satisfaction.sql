{#-
    A satisfaction answer on the one 0-10 scale every mart compares (DESIGN.md §2 "Assessment"):
    score × 10 ÷ scale_max, 4 decimals (a 4 on a 5-point scale is 8, an NPS 9 stays 9). The one home
    of the rule: the dealer export's surveys*.csv (stg_dealer_export__surveys) and the CRM survey
    responses (stg_hubspot__feedback_submissions, scale from seeds/survey_scales.csv) use it.
-#}
{% macro satisfaction_score(score, scale_max) -%}
    round(({{ score }}) * 10 / ({{ scale_max }}), 4)
{%- endmacro %}

{#-
    The settings of the dealer's funnel policy (DESIGN.md section 2: every `[X]` of the policy).
    Values live in seeds/funnel_settings.csv (group default = empty dealer_code, plus optional
    per-dealer overrides); this list is what the tests accept and what
    int_funnel_settings_pivoted_to_dealers turns into columns. Document a new setting in
    seeds/_seeds.yml too.
-#}
{% macro funnel_setting_names() -%}
    {{ return([
        'assignment_sla_business_days',
        'first_contact_sla_business_days',
        'interested_min_contacts_per_week',
        'grade_a_min_days_between_contacts',
        'grade_a_max_days_between_contacts',
        'grade_b_min_days_between_contacts',
        'grade_b_max_days_between_contacts',
        'grade_c_min_days_between_contacts',
        'grade_c_max_days_between_contacts',
        'grade_d_min_days_between_contacts',
        'grade_d_max_days_between_contacts',
        'post_sale_first_visit_hours',
        'post_sale_first_visit_working_days',
        'post_sale_followup_weeks',
        'post_sale_followup_months',
        'post_sale_followup_quarters',
        'post_sale_followup_tolerance_days',
        'first_service_due_days',
        'first_service_reminder_days',
        'maturity_days_potential_to_interested',
        'maturity_days_interested_to_needs_defined',
        'maturity_days_needs_defined_to_decision',
        'maturity_days_decision_to_won',
        'maturity_days_lead_to_won',
        'clock_skew_minutes',
        'reenquiry_new_lead_days',
        'volume_history_weeks',
        'volume_min_history_weeks',
        'working_weekdays',
    ]) }}
{%- endmacro %}

{#- A numeric literal as the settings seed accepts it: optional sign, digits, optional decimals. -#}
{% macro numeric_setting_pattern() -%}
    '^\s*-?[0-9]+(\.[0-9]+)?\s*$'
{%- endmacro %}

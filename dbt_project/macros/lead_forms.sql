{#-
    Lead-form answers (Meta Lead Ads field_data, Google Ads leadFormSubmissionFields): one row per
    source record (account_id, record_id) of the CTE `source` with `answers`, a jsonb object of
    question -> answer. `fields` is the jsonb array of {<name_key>: question, ...} objects (anything
    else counts as no answers), `answer` the expression of one answer's value (alias `answer`),
    `name_case` upper or lower (how questions are keyed).
-#}
{% macro lead_form_answers(fields, name_key, answer, name_case) -%}
    select
        source.account_id,
        source.record_id,
        jsonb_object_agg(
            {{ name_case }}(btrim(answer.value ->> '{{ name_key }}')),
            {{ answer }}
        ) filter (where answer.value ->> '{{ name_key }}' is not null) as answers
    from source
    cross join
        lateral jsonb_array_elements(
            case
                when jsonb_typeof({{ fields }}) = 'array' then {{ fields }}
                else '[]'::jsonb
            end
        ) as answer
    group by
        source.account_id,
        source.record_id
{%- endmacro %}

{#- One trimmed answer of `field_answers.answers`; null when missing or blank. -#}
{% macro lead_form_answer(question) -%}
    nullif(btrim(field_answers.answers ->> '{{ question }}'), '')
{%- endmacro %}

{#- The full-name answer, else the first- and last-name answers joined by a space. -#}
{% macro lead_form_customer_name(full_name, first_name, last_name) -%}
    coalesce(
        {{ lead_form_answer(full_name) }},
        nullif(
            btrim(
                concat_ws(
                    ' ',
                    {{ lead_form_answer(first_name) }},
                    {{ lead_form_answer(last_name) }}
                )
            ),
            ''
        )
    )
{%- endmacro %}

{#- Join the answers (CTE field_answers, from lead_form_answers) to their source record. -#}
{% macro lead_form_answers_join() -%}
    left join field_answers
        on
            source.account_id = field_answers.account_id
            and source.record_id = field_answers.record_id
{%- endmacro %}

{#-
    The lead-record columns a lead form fills (stg_dealer_export__leads shape): no consultant and no
    grade (nobody has worked the lead yet), then customer_name, phone, email and model_of_interest
    from the answers to the named questions.
-#}
{% macro lead_form_person_columns(full_name, first_name, last_name, phone, email, model) -%}
    null::text as consultant,
        null::text as grade,
        {{ lead_form_customer_name(full_name, first_name, last_name) }} as customer_name,
        {{ lead_form_answer(phone) }} as phone,
        {{ lead_form_answer(email) }} as email,
        {{ lead_form_answer(model) }} as model_of_interest
{%- endmacro %}

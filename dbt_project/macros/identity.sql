{#-
    Identity keys for matching one person's records within a dealer (DESIGN.md section 4).

    normalize_phone: a mainland-China mobile number becomes its 11-digit national form whatever the
    formatting (spaces, dashes, dots, brackets, a +86 / 0086 / 86 prefix): '+86 138 0000 0001',
    '0086-13800000001' and '138-0000-0001' are all '13800000001'. Any other number becomes E.164:
    '+' and the digits when it carries an international prefix (+ or 00), else it is taken as a
    Chinese national number (+86, trunk 0 dropped): '021-5555 1234' -> '+862155551234'. Fewer than 7
    digits, or more than 15, is not a phone (null).

    normalize_email: lower-cased and trimmed; null unless it looks like local@domain.
-#}
{% macro normalize_phone(phone) -%}
    (
        case
            when {{ _phone_digits(phone) }} ~ '^(0086|86)?1[3-9][0-9]{9}$'
                then right({{ _phone_digits(phone) }}, 11)
            when length({{ _phone_digits(phone) }}) not between 7 and 17 then null
            when {{ _phone_digits(phone) }} like '00%'
                then '+' || substr({{ _phone_digits(phone) }}, 3)
            when btrim({{ phone }}) like '+%' then '+' || {{ _phone_digits(phone) }}
            when length({{ _phone_digits(phone) }}) > 13 then null
            else '+86' || ltrim({{ _phone_digits(phone) }}, '0')
        end
    )
{%- endmacro %}

{% macro _phone_digits(phone) -%}
    regexp_replace({{ phone }}, '[^0-9]', '', 'g')
{%- endmacro %}

{% macro normalize_email(email) -%}
    (
        case
            when lower(btrim({{ email }})) ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'
                then lower(btrim({{ email }}))
        end
    )
{%- endmacro %}

{#- A person's name as an identity: trimmed, inner runs of whitespace collapsed to one space. -#}
{% macro normalize_person_name(name) -%}
    nullif(regexp_replace(btrim({{ name }}), '\s+', ' ', 'g'), '')
{%- endmacro %}

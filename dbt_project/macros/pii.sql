{#-
    Customer identity in the marts (DESIGN.md §5): a keyed hash and a masked form, never clear.
    pii_hash(expr): HMAC-SHA256 of the text as lowercase hex, with the padded keys the pipeline
    gives each session (dealerfunnel.access.pii: settings dealerfunnel.pii_ipad/_opad); NULL for
    NULL. The key never appears in SQL. mask_phone: first 3 and last 4 digits (138****1234);
    mask_email: first character of the local part and the domain (z***@example.com);
    mask_name: the family name's first character (张**).
-#}
{% macro pii_hash(expr) -%}
    encode(
        sha256(
            decode(current_setting('dealerfunnel.pii_opad'), 'hex')
            || sha256(
                decode(current_setting('dealerfunnel.pii_ipad'), 'hex')
                || convert_to({{ expr }}, 'UTF8')
            )
        ),
        'hex'
    )
{%- endmacro %}

{% macro mask_phone(expr) -%}
    case
        when length(regexp_replace({{ expr }}, '[^0-9]', '', 'g')) >= 7
            then left(right(regexp_replace({{ expr }}, '[^0-9]', '', 'g'), 11), 3)
                || '****'
                || right(regexp_replace({{ expr }}, '[^0-9]', '', 'g'), 4)
    end
{%- endmacro %}

{% macro mask_email(expr) -%}
    case
        when position('@' in {{ expr }}) > 1
            then left({{ expr }}, 1) || '***' || substr({{ expr }}, position('@' in {{ expr }}))
    end
{%- endmacro %}

{% macro mask_name(expr) -%}
    case
        when length(trim({{ expr }})) > 0
            then left(trim({{ expr }}), 1) || repeat('*', greatest(length(trim({{ expr }})) - 1, 1))
    end
{%- endmacro %}

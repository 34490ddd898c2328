{#-
    The matching key of a free-text source value (a channel, a lost reason) for the seeds
    channel_mapping / lost_reason_mapping and the canonical lists channels / lost_reasons
    (DESIGN.md section 3): lower case, every run of whitespace (full-width too) and separators
    (_ - . / · 、 , ， : ： and brackets) as one space, trimmed; null when nothing is left. So
    'walk_in', 'walk-in' and ' Walk In ' are one key, 'walk in'. The one home of the rule: the
    mapping (int_source_values_mapped) and the seed tests compare keys made here.
-#}
{% macro source_value_key(value) -%}
    nullif(btrim(regexp_replace(lower({{ value }}), '[[:space:]_./·、，,:：()（）　-]+', ' ', 'g')), '')
{%- endmacro %}

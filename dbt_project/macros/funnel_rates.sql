{#-
    The five conversion rates of the dealer's funnel (DESIGN.md §2), in ONE place. Every mart that
    publishes a `rate_*` column builds it with these macros, so the formula, the rounding (4
    decimals) and the NULL on a zero denominator are the same everywhere.

    funnel_rate_parts(): rate name -> (numerator stage, denominator stage).
-#}
{% macro funnel_rate_parts() -%}
    {{ return({
        'potential_to_interested': ('interested', 'potential'),
        'interested_to_needs_defined': ('needs_defined', 'interested'),
        'needs_defined_to_decision': ('decision', 'needs_defined'),
        'decision_to_won': ('won', 'decision'),
        'lead_to_won': ('won', 'potential'),
    }) }}
{%- endmacro %}

{#- The rate names in funnel order (without the `rate_` prefix). -#}
{% macro funnel_rate_names() -%}
    {{ return([
        'potential_to_interested',
        'interested_to_needs_defined',
        'needs_defined_to_decision',
        'decision_to_won',
        'lead_to_won',
    ]) }}
{%- endmacro %}

{#- numerator ÷ denominator, rounded to 4 decimals, NULL when the denominator is 0 (or NULL). -#}
{% macro funnel_rate(numerator, denominator) -%}
    round(({{ numerator }})::numeric / nullif({{ denominator }}, 0), 4)
{%- endmacro %}

{#-
    The `rate_*` select-list items from the stage counts. `counts` maps a stage to the column (or
    expression) holding its count; the default is the `leads_<stage>` columns. `rates` limits the
    output to some of the five (e.g. a cohort whose potential count is called leads_assigned). The
    items are separated by commas, without a trailing one: the caller writes the comma after.
-#}
{% macro funnel_rates(counts=none, rates=none, relation=none) -%}
    {%- set columns = {} -%}
    {%- for stage in ['potential', 'interested', 'needs_defined', 'decision', 'won'] -%}
        {%- set column = (counts or {}).get(stage, 'leads_' ~ stage) -%}
        {%- do columns.update({stage: (relation ~ '.' ~ column) if relation else column}) -%}
    {%- endfor -%}
    {%- set parts = funnel_rate_parts() -%}
    {%- for rate in (rates or funnel_rate_names()) -%}
        {{ funnel_rate(columns[parts[rate][0]], columns[parts[rate][1]]) }} as rate_{{ rate }}
        {%- if not loop.last %},
        {% endif -%}
    {%- endfor -%}
{%- endmacro %}

{#-
    One bound of the Wilson score interval of a proportion successes ÷ trials at 95 % confidence
    (z = 1.959964, the 97.5th percentile of the standard normal):

        centre    = (p + z²/2n) / (1 + z²/n)
        halfwidth = z · sqrt(p(1 − p)/n + z²/4n²) / (1 + z²/n)      p = successes / n, n = trials

    side = 'lower' (centre − halfwidth) or 'upper' (centre + halfwidth); rounded to 4 decimals,
    clamped to [0, 1], NULL when trials is 0 (or NULL).
-#}
{% macro wilson_bound(successes, trials, side, z=1.959964) -%}
    {%- set n = '(' ~ trials ~ ')::numeric' -%}
    {%- set p = '((' ~ successes ~ ')::numeric / nullif(' ~ n ~ ', 0))' -%}
    {%- set zz = z ~ ' * ' ~ z -%}
    case when {{ n }} > 0 then round(
        {{ 'greatest(0' if side == 'lower' else 'least(1' }}, (
            ({{ p }} + {{ zz }} / (2 * {{ n }}))
            {{ '-' if side == 'lower' else '+' }} {{ z }} * sqrt(
                {{ p }} * (1 - {{ p }}) / {{ n }} + {{ zz }} / (4 * {{ n }} * {{ n }})
            )
        ) / (1 + {{ zz }} / {{ n }})),
        4
    ) end
{%- endmacro %}

{#- For each of the five rates, `rate_<name>_lower` and `rate_<name>_upper` (Wilson). The default
    z = 1.644854 makes each a one-sided 95 % bound: an alert asks one-sided questions ("is the
    rate really below the threshold?": upper < threshold), so a 90 % interval, 95 % per side. -#}
{% macro funnel_rate_wilson_bounds(counts=none, z=1.644854) -%}
    {%- set parts = funnel_rate_parts() -%}
    {%- for rate in funnel_rate_names() -%}
        {%- set num = (counts or {}).get(parts[rate][0], 'leads_' ~ parts[rate][0]) -%}
        {%- set den = (counts or {}).get(parts[rate][1], 'leads_' ~ parts[rate][1]) -%}
        {{ wilson_bound(num, den, 'lower', z) }} as rate_{{ rate }}_lower,
        {{ wilson_bound(num, den, 'upper', z) }} as rate_{{ rate }}_upper
        {%- if not loop.last %},
        {% endif -%}
    {%- endfor -%}
{%- endmacro %}

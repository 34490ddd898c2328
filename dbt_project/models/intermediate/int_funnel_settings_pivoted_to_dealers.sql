-- One row per registered dealer with one column per funnel-policy setting (the resolved value:
-- the dealer's override or the group default). Consumers join it on dealer_code.

with

settings as (

    select * from {{ ref('int_funnel_settings_resolved') }}

),

final as (

    select
        dealer_code,
        {%- for name in funnel_setting_names() %}
            max(setting_value) filter (where setting = '{{ name }}') as {{ name }},
        {%- endfor %}
        count(*)::integer as setting_count
    from settings
    group by dealer_code

)

select * from final

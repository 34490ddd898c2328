-- Fails for each row of seeds/funnel_settings.csv whose setting name is not one of the policy
-- settings (macro funnel_setting_names): a typo would otherwise be silently ignored.

select *
from {{ ref('funnel_settings') }}
where
    setting is null
    or btrim(setting) not in (
        {%- for name in funnel_setting_names() %}
            '{{ name }}'{{ ',' if not loop.last }}
        {%- endfor %}
    )

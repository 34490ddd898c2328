-- Fails for each policy setting that has no group default (a row with an empty dealer_code) in
-- seeds/funnel_settings.csv, or more than one: a dealer without an override would have no value.

with

known_settings as (

    select unnest(array[
        {%- for name in funnel_setting_names() %}
            '{{ name }}'{{ ',' if not loop.last }}
        {%- endfor %}
    ]) as setting

),

group_defaults as (

    select btrim(setting) as setting
    from {{ ref('funnel_settings') }}
    where nullif(btrim(dealer_code), '') is null

),

final as (

    select
        known_settings.setting,
        count(group_defaults.setting) as group_default_rows
    from known_settings
    left join group_defaults
        on known_settings.setting = group_defaults.setting
    group by known_settings.setting
    having count(group_defaults.setting) != 1

)

select * from final

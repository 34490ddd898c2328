-- One row per dealer × setting: the value of every funnel-policy setting for every registered
-- dealer, the dealer's override when seeds/funnel_settings.csv has one, else the group default (the
-- row with an empty dealer_code). A value that is not a number resolves to null (and the seed test
-- assert_funnel_settings_values_are_numeric fails first, naming the row).

with

settings as (

    select * from {{ ref('funnel_settings') }}

),

dealers as (

    select * from {{ ref('stg_ops__dealers') }}

),

settings_cleaned as (

    select
        nullif(btrim(dealer_code), '') as dealer_code,
        btrim(setting) as setting,
        case
            when value ~ {{ numeric_setting_pattern() }} then btrim(value)::numeric
        end as setting_value
    from settings

),

group_defaults as (

    select
        setting,
        setting_value
    from settings_cleaned
    where dealer_code is null

),

dealer_overrides as (

    select
        dealer_code,
        setting,
        setting_value
    from settings_cleaned
    where dealer_code is not null

),

final as (

    select
        dealers.dealer_code,
        group_defaults.setting,
        coalesce(dealer_overrides.setting_value, group_defaults.setting_value) as setting_value,
        group_defaults.setting_value as group_default_value,
        dealer_overrides.setting_value is not null as is_overridden
    from dealers
    cross join group_defaults
    left join dealer_overrides
        on
            dealers.dealer_code = dealer_overrides.dealer_code
            and group_defaults.setting = dealer_overrides.setting

)

select * from final

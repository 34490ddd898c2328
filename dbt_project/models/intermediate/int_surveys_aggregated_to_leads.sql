-- One row per resolved lead (lead_key) with at least one satisfaction answer: the average of its
-- answers on the 0-10 scale (every kind: purchase and after-sales), and how many there are.

with

surveys as (

    select * from {{ ref('int_surveys_matched_to_leads') }}

),

final as (

    select
        lead_key,
        round(avg(satisfaction_score), 4) as satisfaction_score,
        count(*)::integer as survey_responses
    from surveys
    group by lead_key

)

select * from final

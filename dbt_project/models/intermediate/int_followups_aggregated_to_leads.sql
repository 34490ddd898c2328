-- One row per lead_key that has at least one follow-up: the first contact and the contact count.

with

followups as (

    select * from {{ ref('int_followups_unioned') }}

),

aggregated as (

    select
        lead_key,
        min(occurred_at) as first_contact_at,
        max(occurred_at) as last_contact_at,
        count(*)::integer as followup_count
    from followups
    group by lead_key

)

select * from aggregated

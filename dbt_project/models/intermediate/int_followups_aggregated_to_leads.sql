-- One row per resolved lead (lead_key) that has at least one follow-up, over the follow-ups of all
-- its source records: the first contact, the last contact and the contact count.

with

followups as (

    select * from {{ ref('int_followups_matched_to_leads') }}

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

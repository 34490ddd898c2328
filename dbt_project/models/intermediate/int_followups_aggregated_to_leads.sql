-- One row per resolved lead (lead_key) that has at least one follow-up, over the follow-ups of all
-- its source records: the first and last sales CONTACT (is_contact: the customer was reached; an
-- unanswered call is an attempt and does not count, DESIGN.md §2; after-sales follow-ups are not
-- sales contacts), the first follow-up of any outcome (first_attempt_at) and the number of
-- follow-ups of any outcome and purpose (followup_count).

with

followups as (

    select * from {{ ref('int_followups_matched_to_leads') }}

),

aggregated as (

    select
        lead_key,
        min(occurred_at) filter (where is_contact and purpose = 'sales') as first_contact_at,
        max(occurred_at) filter (where is_contact and purpose = 'sales') as last_contact_at,
        min(occurred_at) filter (where purpose = 'sales') as first_attempt_at,
        count(*)::integer as followup_count
    from followups
    group by lead_key

)

select * from aggregated

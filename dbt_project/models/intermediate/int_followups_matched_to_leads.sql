-- One row per follow-up contact (followup_key) of a resolved lead: every follow-up of every source
-- record, with the lead_key of the record's resolved lead. A follow-up naming a lead id that has
-- neither a lead row nor stage events matches no lead and is left out (follow-ups alone do not
-- create a lead). purpose: 'sales' when the source gives none. is_contact (DESIGN.md §2): the
-- follow-up reached the customer (outcome 'reached', or no outcome given); any other outcome
-- (no_answer, busy, voicemail...) is an attempt: it counts for effort, not as a contact.

with

followups as (

    select * from {{ ref('int_followups_unioned') }}

),

lead_records as (

    select * from {{ ref('int_lead_records_matched_to_leads') }}

),

final as (

    select
        followups.followup_key,
        lead_records.lead_key,
        followups.lead_record_key,
        followups.dealer_code,
        followups.occurred_at,
        followups.contact_method,
        followups.consultant,
        followups.outcome,
        followups.grade,
        coalesce(followups.purpose, 'sales') as purpose,
        followups.recorded_at,
        coalesce(followups.outcome, 'reached') = 'reached' as is_contact
    from followups
    inner join lead_records
        on followups.lead_record_key = lead_records.lead_record_key

)

select * from final

-- One row per dealer_code × responsible_role × responsible × week_start (dealer-local Monday of the
-- checks' decided_date: when a met check was done, when a missed one was due) with at least one
-- decided SLA check (int_sla_checks_evaluated), charged to the person responsible: assignments to
-- the dealer's manager (responsible_role 'manager', responsible = ops.dealers.manager or '(dealer)'),
-- first contacts, grade-cadence follow-ups and interested lead-weeks to the lead's consultant
-- (responsible_role 'consultant', responsible = consultant, '(unassigned)' when none). consultant =
-- responsible on consultant rows, NULL on manager rows. Rates: met ÷ due, 4 decimals, NULL when
-- nothing was due.

with

sla_checks as (

    select * from {{ ref('int_sla_checks_evaluated') }}

),

counted as (

    select
        dealer_code,
        responsible_role,
        responsible,
        week_start,
        (count(*) filter (where check_type = 'assignment'))::integer as assignments_due,
        (count(*) filter (where check_type = 'assignment' and is_met))::integer as assignments_met,
        (count(*) filter (where check_type = 'first_contact'))::integer as first_contacts_due,
        (count(*) filter (where check_type = 'first_contact' and is_met))::integer as first_contacts_met,
        (count(*) filter (where check_type = 'grade_cadence'))::integer as cadence_followups_due,
        (count(*) filter (where check_type = 'grade_cadence' and is_met))::integer as cadence_followups_on_time,
        (count(*) filter (where check_type = 'grade_cadence' and is_early))::integer as cadence_followups_early,
        (count(*) filter (where check_type = 'interested_week'))::integer as interested_lead_weeks,
        (count(*) filter (where check_type = 'interested_week' and is_met))::integer as interested_lead_weeks_met
    from sla_checks
    group by
        dealer_code,
        responsible_role,
        responsible,
        week_start

),

final as (

    select
        dealer_code,
        case when responsible_role = 'consultant' then responsible end as consultant,
        week_start,
        assignments_due,
        assignments_met,
        round(assignments_met::numeric / nullif(assignments_due, 0), 4) as assignment_sla_rate,
        first_contacts_due,
        first_contacts_met,
        round(first_contacts_met::numeric / nullif(first_contacts_due, 0), 4) as first_contact_sla_rate,
        cadence_followups_due,
        cadence_followups_on_time,
        round(cadence_followups_on_time::numeric / nullif(cadence_followups_due, 0), 4) as cadence_on_time_rate,
        cadence_followups_early,
        interested_lead_weeks,
        interested_lead_weeks_met,
        round(interested_lead_weeks_met::numeric / nullif(interested_lead_weeks, 0), 4)
            as interested_contact_rate,
        responsible_role,
        responsible
    from counted

)

select * from final

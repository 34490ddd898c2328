{{ config(**lead_incremental_config()) }}
-- depends_on: {{ ref('int_lead_records_matched_to_leads') }} (macro delete_changed_leads)
-- One row per resolved lead (lead_key): what the SLA checks of int_sla_checks_evaluated need of the
-- lead, its dealer and the dealer's funnel settings, with the two business-day clocks already run.
--
-- consultant  the lead's current consultant, '(unassigned)' when none; manager: the dealer's
--             manager (ops.dealers.manager), '(dealer)' when none.
-- Business days are the dealer's working days (int_dealer_calendar_days_numbered). A dealer missing
-- from the registry has no settings, hence no allowance: its leads get no business-day check.
-- <sla>_due_date / <sla>_due_at  for assignment (from created_at, assignment_sla_business_days) and
--             first_contact (from assigned_at, first_contact_sla_business_days; NULL while
--             unassigned): due_date = the working day on which the allowance runs out (never before
--             the start's local date), due_at = the start (dealer-local midnight) of the next
--             working day, so an event before due_at is within the SLA, exactly as fct_leads counts.
--             Both NULL when the calendar does not reach that far (no check is made then).
-- left_interested_at  leaving the interested stage (needs defined, won or lost); closed_at: won or
--             lost.
-- A table of its own (not a CTE of int_sla_checks_evaluated) so that the planner has statistics on
-- it: as a CTE read five times it was materialised without any, and at 1,000,000 leads the join
-- estimates ran to 10^15 rows (BENCHMARKS.md).
-- Incremental by lead (macro lead_incremental_config): a row depends only on its fct_leads row and
-- on what any change of forces a full refresh (the dealer registry, the settings and calendar
-- seeds: ops.dbt_builds), so a run recomputes the fct_leads rows refreshed since this table's
-- watermark and deletes the leads that no longer exist. What moves with the as-of time (the
-- dealer's data_as_of_at) is joined in int_sla_checks_evaluated, not kept here.

with

leads as (

    select * from {{ ref('fct_leads') }}
    {%- if is_incremental() %}
        where refreshed_at > {{ refreshed_watermark() }}
    {%- endif %}

),

dealers as (

    select * from {{ ref('stg_ops__dealers') }}

),

settings as (

    select * from {{ ref('int_funnel_settings_pivoted_to_dealers') }}

),

-- read six times below: not materialized, so that each join sees the table's statistics
dealer_calendar_days as not materialized (

    select * from {{ ref('int_dealer_calendar_days_numbered') }}

),

leads_local as (

    select
        leads.lead_key,
        leads.dealer_code,
        coalesce(leads.consultant, '(unassigned)') as consultant,
        coalesce(dealers.manager, '(dealer)') as manager,
        leads.created_at,
        leads.assigned_at,
        leads.first_contact_at,
        leads.interested_at,
        least(leads.needs_defined_at, leads.won_at, leads.lost_at) as left_interested_at,
        least(leads.won_at, leads.lost_at) as closed_at,
        leads.is_assignment_sla_met,
        leads.is_first_contact_sla_met,
        coalesce(dealers.timezone, '{{ var("default_dealer_timezone") }}') as dealer_timezone,
        settings.assignment_sla_business_days,
        settings.first_contact_sla_business_days,
        settings.interested_min_contacts_per_week,
        settings.grade_a_min_days_between_contacts,
        settings.grade_a_max_days_between_contacts,
        settings.grade_b_min_days_between_contacts,
        settings.grade_b_max_days_between_contacts,
        settings.grade_c_min_days_between_contacts,
        settings.grade_c_max_days_between_contacts,
        settings.grade_d_min_days_between_contacts,
        settings.grade_d_max_days_between_contacts
    from leads
    left join dealers
        on leads.dealer_code = dealers.dealer_code
    left join settings
        on leads.dealer_code = settings.dealer_code

),

{#- each business-day SLA and the time its allowance starts from #}
{%- set business_day_slas = [('assignment', 'created_at'), ('first_contact', 'assigned_at')] %}

-- a working day's number is unique within its dealer's calendar: the allowance runs out on the
-- working day numbered start + N, and the next working day (N + 1) is where due_at lies
due_dates as (

    select
        {%- for sla, start in business_day_slas %}
            case
                when {{ sla }}_due.date_day is not null
                    then greatest(
                        {{ sla }}_due.date_day,
                        (leads_local.{{ start }} at time zone leads_local.dealer_timezone)::date
                    )
            end as {{ sla }}_due_date,
            {{ sla }}_next.date_day::timestamp at time zone leads_local.dealer_timezone as {{ sla }}_due_at,
        {%- endfor %}
        leads_local.*
    from
        leads_local
    {%- for sla, start in business_day_slas %}
    left join dealer_calendar_days as {{ sla }}_start_day
        on
            leads_local.dealer_code = {{ sla }}_start_day.dealer_code
            and (leads_local.{{ start }} at time zone leads_local.dealer_timezone)::date
            = {{ sla }}_start_day.date_day
    left join dealer_calendar_days as {{ sla }}_due
        on
            {{ sla }}_start_day.dealer_code = {{ sla }}_due.dealer_code
            and {{ sla }}_due.is_working_day
            and {{ sla }}_start_day.working_day_number + leads_local.{{ sla }}_sla_business_days
            = {{ sla }}_due.working_day_number
    left join dealer_calendar_days as {{ sla }}_next
        on
            {{ sla }}_start_day.dealer_code = {{ sla }}_next.dealer_code
            and {{ sla }}_next.is_working_day
            and {{ sla }}_start_day.working_day_number + leads_local.{{ sla }}_sla_business_days + 1
            = {{ sla }}_next.working_day_number
    {%- endfor %}

),

final as (

    select
        lead_key,
        dealer_code,
        consultant,
        manager,
        dealer_timezone,
        created_at,
        assigned_at,
        first_contact_at,
        interested_at,
        left_interested_at,
        closed_at,
        is_assignment_sla_met,
        is_first_contact_sla_met,
        assignment_due_date,
        assignment_due_at,
        first_contact_due_date,
        first_contact_due_at,
        interested_min_contacts_per_week,
        grade_a_min_days_between_contacts,
        grade_a_max_days_between_contacts,
        grade_b_min_days_between_contacts,
        grade_b_max_days_between_contacts,
        grade_c_min_days_between_contacts,
        grade_c_max_days_between_contacts,
        grade_d_min_days_between_contacts,
        grade_d_max_days_between_contacts,
        {{ refreshed_at() }} as refreshed_at
    from due_dates

)

select * from final

{{ config(**lead_rows_incremental_config(
    'sla_check_key',
    'sla_check_changed_lead_keys',
    more_indexes=[{'columns': ['dealer_code', 'evaluated_as_of_at']}],
)) }}
-- depends_on: {{ ref('int_lead_records_matched_to_leads') }} (macro delete_changed_leads)
-- depends_on: {{ ref('int_followups_unioned') }} (macro followup_changed_lead_keys)
-- depends_on: {{ ref('int_followups_matched_to_leads') }} (macro followup_changed_lead_keys)
-- One row per SLA check of a lead (sla_check_key), every rule of the funnel policy (DESIGN.md §2)
-- that a person's work is measured against, with the dealer's settings, charged to the person
-- responsible (responsible_role, responsible):
--
-- assignment       1 per lead: assigned within assignment_sla_business_days of arriving. met =
--                  fct_leads.is_assignment_sla_met (false while unassigned). The MANAGER's duty:
--                  charged to the dealer's manager (ops.dealers.manager), '(dealer)' when none.
-- first_contact    1 per assigned lead: first CONTACT (a sales follow-up that reached the customer;
--                  an unanswered call is an attempt) within first_contact_sla_business_days of the
--                  assignment. met = fct_leads.is_first_contact_sla_met. The consultant's duty.
--                  For both, business days are the dealer's working days
--                  (int_dealer_calendar_days_numbered; a dealer missing from the registry has no
--                  settings, so no allowance and no such check); due_date = the working day on
--                  which the allowance runs out and due_at = the start (dealer-local midnight) of
--                  the next working day: an event before due_at is within the SLA, exactly as
--                  fct_leads counts them (both from int_leads_joined_to_sla_settings).
-- grade_cadence    1 per sales contact c(i) made while the lead's grade (int_lead_grades_historized,
--                  the grade valid at c(i), including a grade set by c(i) itself) is A-D: the next
--                  contact is due grade_<g>_max_days_between_contacts days after c(i) (due_at); met
--                  when it comes at or before due_at; is_early when it comes less than
--                  grade_<g>_min_days_between_contacts after c(i) (reported, not a breach). No check
--                  once the lead is closed (won or lost) before due_at.
-- interested_week  1 per lead × dealer-local week (Monday 00:00 to next Monday 00:00) spent WHOLLY
--                  in the interested stage (interested_at <= week start, still not past interested,
--                  won or lost at week end) and WHOLLY ungraded (no A-D grade valid at any moment of
--                  the week): met when the week has at least interested_min_contacts_per_week
--                  sales contacts (contact_count).
-- One rule governs a lead at a time: the grade cadence while it has an A-D grade, the weekly rule
-- for whole weeks without one, so a lead is never in breach of one while meeting the other.
-- Attempts (outcome other than reached) and after-sales follow-ups count for neither.
--
-- A check is listed once it is decided: met, or its due_at has passed by the dealer's
-- data_as_of_at (int_activity_aggregated_to_dealers). consultant = the lead's current consultant
-- ('(unassigned)' when none). Checks land in the local week / month of decided_date: the local
-- date of done_at for a met check (when the work was done), of due_at for a missed one (when the
-- breach happened; an interested week: its Sunday), so no check lands in a future period.
-- Built on fct_leads (through int_leads_joined_to_sla_settings, which also runs the business-day
-- clocks) so every figure agrees with the lead-level SLA columns; the contacts, numbered and graded,
-- come from int_sales_contacts_graded.
-- Cost: a lead open for years has one interested_week row per week of it, so the weeks are
-- generated only inside the ungraded parts of its interested span (no week is made to be thrown
-- away) and contacts are counted per local week first, then joined on (lead, week).
-- evaluated_as_of_at: the dealer's data_as_of_at when the lead's checks were last evaluated (a
-- property of the run, like refreshed_at).
-- Incremental by lead (macro lead_rows_incremental_config): a run recomputes every check of the
-- leads whose SLA row, grade history, contacts or follow-ups changed since this table's watermark,
-- and of the unchanged leads with a check that fell due since their dealer's data_as_of_at was
-- last evaluated (macro sla_check_due_lead_keys); it deletes the leads that no longer exist.

with

{% if is_incremental() %}

    changed_leads as (

        {{ sla_check_changed_lead_keys() }}

    ),

{% endif %}

leads_with_clocks as (

    select * from {{ ref('int_leads_joined_to_sla_settings') }}
    {%- if is_incremental() %}
        where lead_key in (select changed_leads.lead_key from changed_leads)
    {%- endif %}

),

dealer_activity as (

    select * from {{ ref('int_activity_aggregated_to_dealers') }}

),

contacts as (

    select * from {{ ref('int_sales_contacts_graded') }}
    {%- if is_incremental() %}
        where lead_key in (select changed_leads.lead_key from changed_leads)
    {%- endif %}

),

grades as (

    select * from {{ ref('int_lead_grades_historized') }}
    {%- if is_incremental() %}
        where lead_key in (select changed_leads.lead_key from changed_leads)
    {%- endif %}

),

-- the as-of time of the lead's dealer, which moves every run (the per-lead clocks do not)
leads as (

    select
        leads_with_clocks.*,
        dealer_activity.data_as_of_at
    from leads_with_clocks
    left join dealer_activity
        on leads_with_clocks.dealer_code = dealer_activity.dealer_code

),

{#- the two business-day SLAs: who answers for them and what meets them #}
{%- set business_day_checks = [
    {'name': 'assignment', 'role': 'manager', 'responsible': 'manager',
     'done_at': 'assigned_at', 'is_met': 'is_assignment_sla_met'},
    {'name': 'first_contact', 'role': 'consultant', 'responsible': 'consultant',
     'done_at': 'first_contact_at', 'is_met': 'is_first_contact_sla_met'},
] %}
{%- for check in business_day_checks %}

    {{ check.name }}_checks as (

        select
            lead_key,
            dealer_code,
            consultant,
            '{{ check.role }}'::text as responsible_role,
            {{ check.responsible }} as responsible,
            '{{ check.name }}'::text as check_type,
            1 as check_number,
            {{ check.name }}_due_date as due_date,
            {{ check.name }}_due_at as due_at,
            {{ check.done_at }} as done_at,
            coalesce({{ check.is_met }}, false) as is_met,
            null::boolean as is_early,
            null::integer as contact_count,
            dealer_timezone,
            data_as_of_at
        from leads
        where {{ check.name }}_due_date is not null and {{ check.name }}_due_at is not null

    ),
{%- endfor %}

cadence_checks as (

    select
        leads.lead_key,
        leads.dealer_code,
        leads.consultant,
        'consultant'::text as responsible_role,
        leads.consultant as responsible,
        'grade_cadence'::text as check_type,
        contacts.contact_number,
        (
            (contacts.occurred_at + contacts.cadence_max_days * interval '1 day')
            at time zone leads.dealer_timezone
        )::date as due_date,
        contacts.occurred_at + contacts.cadence_max_days * interval '1 day' as due_at,
        contacts.next_contact_at as done_at,
        coalesce(
            contacts.next_contact_at <= contacts.occurred_at + contacts.cadence_max_days * interval '1 day',
            false
        ) as is_met,
        contacts.next_contact_at < contacts.occurred_at + contacts.cadence_min_days * interval '1 day' as is_early,
        null::integer as contact_count,
        leads.dealer_timezone,
        leads.data_as_of_at
    from contacts
    inner join leads
        on contacts.lead_key = leads.lead_key
    where
        contacts.cadence_max_days is not null
        and contacts.occurred_at + contacts.cadence_max_days * interval '1 day'
        < coalesce(leads.closed_at, 'infinity'::timestamptz)

),

-- the weekly rule's span of each interested lead: from interested_at to leaving the stage (or the
-- dealer's data_as_of_at); a span shorter than a week holds no whole week
interested_spans as (

    select
        lead_key,
        dealer_code,
        consultant,
        interested_min_contacts_per_week,
        dealer_timezone,
        data_as_of_at,
        interested_at as span_from,
        least(left_interested_at, data_as_of_at) as span_to
    from leads
    where
        interested_at is not null
        and least(left_interested_at, data_as_of_at) >= interested_at + interval '7 days'

),

-- the A-D grade periods that overlap a span (SCD2 periods: ordered, never overlapping)
graded_in_span as (

    select
        grades.lead_key,
        grades.valid_from,
        coalesce(grades.valid_to, 'infinity'::timestamptz) as valid_to
    from grades
    inner join interested_spans
        on
            grades.lead_key = interested_spans.lead_key
            and grades.valid_from < interested_spans.span_to
            and coalesce(grades.valid_to, 'infinity'::timestamptz) > interested_spans.span_from
    where grades.is_graded

),

-- each lead's stretches without an A-D grade: before each graded period (from the end of the one
-- before it) and after the last one (the whole time for a lead never graded A-D)
ungraded_stretches as (

    select
        lead_key,
        coalesce(
            lag(valid_to) over (partition by lead_key order by valid_from), '-infinity'::timestamptz
        ) as stretch_from,
        valid_from as stretch_to
    from graded_in_span

    union all

    select
        interested_spans.lead_key,
        coalesce(max(graded_in_span.valid_to), '-infinity'::timestamptz) as stretch_from,
        'infinity'::timestamptz as stretch_to
    from interested_spans
    left join graded_in_span
        on interested_spans.lead_key = graded_in_span.lead_key
    group by interested_spans.lead_key

),

-- the parts of a span without an A-D grade: the weekly rule governs the whole weeks in them
ungraded_spans as (

    select
        interested_spans.*,
        greatest(interested_spans.span_from, ungraded_stretches.stretch_from) as ungraded_from,
        least(interested_spans.span_to, ungraded_stretches.stretch_to) as ungraded_to
    from interested_spans
    inner join ungraded_stretches
        on interested_spans.lead_key = ungraded_stretches.lead_key
    where
        least(interested_spans.span_to, ungraded_stretches.stretch_to)
        >= greatest(interested_spans.span_from, ungraded_stretches.stretch_from) + interval '7 days'

),

-- one row per whole local week (Monday 00:00 to the next) inside an ungraded part of a span: a
-- week wholly interested and wholly ungraded, so no week is generated only to be thrown away
interested_weeks as (

    select
        ungraded_spans.lead_key,
        ungraded_spans.dealer_code,
        ungraded_spans.consultant,
        ungraded_spans.interested_min_contacts_per_week,
        ungraded_spans.dealer_timezone,
        ungraded_spans.data_as_of_at,
        week_start.week_start_local::date as week_start,
        (week_start.week_start_local + interval '7 days') at time zone ungraded_spans.dealer_timezone as week_end_at
    from ungraded_spans
    cross join
        lateral generate_series(
            date_trunc(
                'week',
                ungraded_spans.ungraded_from at time zone ungraded_spans.dealer_timezone - interval '1 microsecond'
            )
            + interval '7 days',
            ungraded_spans.ungraded_to at time zone ungraded_spans.dealer_timezone - interval '7 days',
            interval '7 days'
        ) as week_start (week_start_local)

),

-- sales contacts per lead and local week: joined to the weeks on equality, not by time range
contact_weeks as (

    select
        lead_key,
        week_start,
        count(*)::integer as contact_count,
        max(occurred_at) as done_at
    from contacts
    where is_interested_lead
    group by
        lead_key,
        week_start

),

interested_week_checks as (

    select
        interested_weeks.lead_key,
        interested_weeks.dealer_code,
        interested_weeks.consultant,
        'consultant'::text as responsible_role,
        interested_weeks.consultant as responsible,
        'interested_week'::text as check_type,
        (interested_weeks.week_start - date '2000-01-03')::integer / 7 as check_number,
        interested_weeks.week_start + 6 as due_date,
        interested_weeks.week_end_at as due_at,
        contact_weeks.done_at,
        coalesce(contact_weeks.contact_count, 0) >= interested_weeks.interested_min_contacts_per_week as is_met,
        null::boolean as is_early,
        coalesce(contact_weeks.contact_count, 0) as contact_count,
        interested_weeks.dealer_timezone,
        interested_weeks.data_as_of_at
    from interested_weeks
    left join contact_weeks
        on
            interested_weeks.lead_key = contact_weeks.lead_key
            and interested_weeks.week_start = contact_weeks.week_start

),

checks as (

    select * from assignment_checks
    union all
    select * from first_contact_checks
    union all
    select * from cadence_checks
    union all
    select * from interested_week_checks

),

decided as (

    select
        *,
        case
            when check_type = 'interested_week' then due_date
            else (case when is_met then done_at else due_at end at time zone dealer_timezone)::date
        end as decided_date
    from checks
    where is_met or due_at <= data_as_of_at

),

final as (

    select
        md5(lead_key || '|' || check_type || '|' || check_number::text) as sla_check_key,
        lead_key,
        dealer_code,
        consultant,
        responsible_role,
        responsible,
        check_type,
        check_number,
        due_date,
        due_at,
        done_at,
        decided_date,
        date_trunc('week', decided_date)::date as week_start,
        date_trunc('month', decided_date)::date as month_start,
        is_met,
        is_early,
        contact_count,
        data_as_of_at as evaluated_as_of_at,
        {{ refreshed_at() }} as refreshed_at
    from decided

)

select * from final

{{ config(**lead_rows_incremental_config('followup_key', 'contact_changed_lead_keys')) }}
-- depends_on: {{ ref('int_lead_records_matched_to_leads') }} (macro delete_changed_leads)
-- depends_on: {{ ref('int_followups_unioned') }} (macro followup_changed_lead_keys)
-- One row per sales contact (followup_key) of a resolved lead: a follow-up that reached the
-- customer (is_contact) for purpose 'sales'; attempts and after-sales follow-ups are not here
-- (DESIGN.md §2). For the follow-up rules of int_sla_checks_evaluated:
--
-- contact_number / next_contact_at  the contact's place in the lead's contacts (by occurred_at, then
--             followup_key) and the time of the next one (NULL for the latest).
-- week_start  the dealer-local week (Monday) the contact falls in; is_interested_lead: the lead has
--             reached the interested stage (only such leads have weekly checks).
-- grade       the lead's A-D grade valid at the contact (int_lead_grades_historized, including a
--             grade set by this contact), NULL when ungraded or graded outside A-D;
--             cadence_min_days / cadence_max_days: that grade's
--             grade_<g>_min|max_days_between_contacts for the lead's dealer, NULL without a grade.
-- refreshed_at: when the pipeline last computed the lead's contacts.
-- A table of its own so that the planner has statistics on it (see int_leads_joined_to_sla_settings).
-- Incremental by lead (macro lead_rows_incremental_config): a run recomputes every contact of the
-- leads whose SLA row (int_leads_joined_to_sla_settings), grade history or one of whose follow-ups
-- changed since this table's watermark (macro contact_changed_lead_keys), and deletes the leads
-- that no longer exist.

with

{% if is_incremental() %}

    changed_leads as (

        {{ contact_changed_lead_keys() }}

    ),

{% endif %}

followups as (

    select * from {{ ref('int_followups_matched_to_leads') }}
    {%- if is_incremental() %}
        where lead_key in (select changed_leads.lead_key from changed_leads)
    {%- endif %}

),

leads as (

    select * from {{ ref('int_leads_joined_to_sla_settings') }}
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

sales_contacts as (

    select
        followup_key,
        lead_key,
        occurred_at
    from followups
    where is_contact and purpose = 'sales'

),

contacts_ordered as (

    select
        followup_key,
        lead_key,
        occurred_at,
        row_number() over (partition by lead_key order by occurred_at, followup_key) as contact_number,
        lead(occurred_at) over (partition by lead_key order by occurred_at, followup_key) as next_contact_at
    from sales_contacts

),

-- each contact with the grade valid at its time (SCD2 periods never overlap: one at most)
contacts_graded as (

    select
        contacts_ordered.followup_key,
        contacts_ordered.lead_key,
        contacts_ordered.occurred_at,
        contacts_ordered.contact_number::integer as contact_number,
        contacts_ordered.next_contact_at,
        date_trunc('week', contacts_ordered.occurred_at at time zone leads.dealer_timezone)::date as week_start,
        leads.interested_at is not null as is_interested_lead,
        grades.grade,
        case grades.grade
            when 'A' then leads.grade_a_min_days_between_contacts
            when 'B' then leads.grade_b_min_days_between_contacts
            when 'C' then leads.grade_c_min_days_between_contacts
            when 'D' then leads.grade_d_min_days_between_contacts
        end as cadence_min_days,
        case grades.grade
            when 'A' then leads.grade_a_max_days_between_contacts
            when 'B' then leads.grade_b_max_days_between_contacts
            when 'C' then leads.grade_c_max_days_between_contacts
            when 'D' then leads.grade_d_max_days_between_contacts
        end as cadence_max_days,
        {{ refreshed_at() }} as refreshed_at
    from contacts_ordered
    inner join leads
        on contacts_ordered.lead_key = leads.lead_key
    left join grades
        on
            contacts_ordered.lead_key = grades.lead_key
            and grades.is_graded
            and contacts_ordered.occurred_at >= grades.valid_from
            and contacts_ordered.occurred_at < coalesce(grades.valid_to, 'infinity'::timestamptz)

)

select * from contacts_graded

-- One row per dealer_code × grade (A, B, C, D), as of the dealer's data_as_of_at (the latest moment
-- its data describes, int_activity_aggregated_to_dealers): the published overdue-follow-up monitor
-- (DESIGN.md §2 "Monitoring and alerts"; the overdue_followups alert rule only compares
-- overdue_leads with its threshold). Every grade has a row, 0 when the dealer has no open lead of
-- it, so an alert sees the recovery.
--
-- open_leads: leads neither won nor lost whose CURRENT grade (int_lead_grades_historized) is the
-- row's grade. A lead's next contact is due grade_<g>_max_days_between_contacts days (the dealer's
-- setting, seeds/funnel_settings.csv) after its last sales contact (fct_leads.last_contact_at; an
-- unanswered call is not a contact), or after the grade was given when it has had no contact yet.
-- overdue_leads: open leads whose due time has passed by as_of_at, however old the lead (a D lead
-- last contacted 95 days ago is overdue). max_days_overdue: the longest overshoot, in days (2
-- decimals), NULL when none is overdue.

with

leads as (

    select * from {{ ref('fct_leads') }}

),

grades as (

    select * from {{ ref('int_lead_grades_historized') }}

),

settings as (

    select * from {{ ref('int_funnel_settings_pivoted_to_dealers') }}

),

dealer_activity as (

    select * from {{ ref('int_activity_aggregated_to_dealers') }}

),

dealers as (

    select * from {{ ref('dim_dealerships') }}

),

grade_cadences as (

    select
        settings.dealer_code,
        grade_list.grade,
        case grade_list.grade
            when 'A' then settings.grade_a_max_days_between_contacts
            when 'B' then settings.grade_b_max_days_between_contacts
            when 'C' then settings.grade_c_max_days_between_contacts
            when 'D' then settings.grade_d_max_days_between_contacts
        end as cadence_max_days
    from settings
    cross join (values ('A'), ('B'), ('C'), ('D')) as grade_list (grade)

),

open_leads as (

    select
        leads.lead_key,
        leads.dealer_code,
        grades.grade,
        coalesce(leads.last_contact_at, grades.valid_from) as clock_at
    from leads
    inner join grades
        on
            leads.lead_key = grades.lead_key
            and grades.is_current
            and grades.is_graded
    where not leads.is_won and not leads.is_lost

),

judged as (

    select
        open_leads.dealer_code,
        open_leads.grade,
        open_leads.clock_at + grade_cadences.cadence_max_days * interval '1 day' as due_at,
        dealer_activity.data_as_of_at
    from open_leads
    inner join grade_cadences
        on
            open_leads.dealer_code = grade_cadences.dealer_code
            and open_leads.grade = grade_cadences.grade
    inner join dealer_activity
        on open_leads.dealer_code = dealer_activity.dealer_code

),

counted as (

    select
        dealer_code,
        grade,
        count(*)::integer as open_leads,
        (count(*) filter (where due_at < data_as_of_at))::integer as overdue_leads,
        max(extract(epoch from (data_as_of_at - due_at)) / 86400) filter (
            where due_at < data_as_of_at
        ) as max_days_overdue
    from judged
    group by
        dealer_code,
        grade

),

final as (

    select
        grade_cadences.dealer_code,
        grade_cadences.grade,
        dealer_activity.data_as_of_at as as_of_at,
        (
            dealer_activity.data_as_of_at
            at time zone coalesce(dealers.timezone, '{{ var("default_dealer_timezone") }}')
        )::date as as_of_date,
        grade_cadences.cadence_max_days,
        coalesce(counted.open_leads, 0) as open_leads,
        coalesce(counted.overdue_leads, 0) as overdue_leads,
        round(counted.max_days_overdue, 2) as max_days_overdue
    from grade_cadences
    inner join dealer_activity
        on grade_cadences.dealer_code = dealer_activity.dealer_code
    left join dealers
        on grade_cadences.dealer_code = dealers.dealer_code
    left join counted
        on
            grade_cadences.dealer_code = counted.dealer_code
            and grade_cadences.grade = counted.grade

)

select * from final

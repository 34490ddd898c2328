-- One row per dealer_code × consultant × week_start (a Monday, dealer local time) in which the
-- consultant had a showroom activity (activities*.csv, Salesforce events and HubSpot meetings,
-- through int_activities_matched_to_leads): appointments and their show-up, showroom visits, test
-- drives and how many test-driven leads were won (DESIGN.md §2 "What the group reviews"). The
-- consultant is the activity's own consultant (renames of seeds/consultant_renames.csv applied, as
-- in fct_leads), else the lead's consultant, else '(unassigned)'. Appointment outcome: 'show' or
-- 'no_show' (staging normalises "No show", "no-show"; a HubSpot meeting COMPLETED is 'show',
-- NO_SHOW 'no_show'); any other or no outcome (a Salesforce event has none) is unknown and left out
-- of show_up_rate. rate_test_drive_to_won is a cohort rate: the distinct leads with a test drive in
-- the week, and how many of them are won by the as-of time (fct_leads.is_won); it carries
-- cohort_age_days, is_period_complete and is_mature (complete and at least
-- maturity_days_decision_to_won old). Rates: 4 decimals, NULL when the denominator is 0.

with

activities as (

    select * from {{ ref('int_activities_matched_to_leads') }}

),

leads as (

    select * from {{ ref('fct_leads') }}

),

dealerships as (

    select * from {{ ref('dim_dealerships') }}

),

consultant_renames as (

    select * from {{ ref('consultant_renames') }}

),

settings as (

    select * from {{ ref('int_funnel_settings_pivoted_to_dealers') }}

),

showroom_activities as (

    select
        activities.dealer_code,
        activities.lead_key,
        activities.activity,
        activities.outcome,
        leads.is_won,
        {{ dealer_timezone() }} as dealer_timezone,
        {{ period_start(to_dealer_local('activities.occurred_at'), "'week'") }} as week_start,
        coalesce(
            {{ normalize_person_name('consultant_renames.new_name') }},
            activities.consultant,
            leads.consultant,
            '(unassigned)'
        ) as consultant
    from activities
    inner join leads
        on activities.lead_key = leads.lead_key
    left join dealerships
        on activities.dealer_code = dealerships.dealer_code
    left join consultant_renames
        on
            activities.dealer_code = consultant_renames.dealer_code
            and activities.consultant = {{ normalize_person_name('consultant_renames.old_name') }}
    where activities.activity in ('appointment', 'showroom_visit', 'test_drive')

),

counted as (

    select
        dealer_code,
        consultant,
        dealer_timezone,
        week_start,
        (count(*) filter (where activity = 'appointment'))::integer as appointments,
        (count(*) filter (where activity = 'appointment' and outcome = 'show'))::integer as appointments_shown,
        (count(*) filter (where activity = 'appointment' and outcome = 'no_show'))::integer
            as appointments_no_show,
        (count(*) filter (where activity = 'showroom_visit'))::integer as showroom_visits,
        (count(*) filter (where activity = 'test_drive'))::integer as test_drives,
        (count(distinct lead_key) filter (where activity = 'test_drive'))::integer as test_drive_leads,
        (count(distinct lead_key) filter (where activity = 'test_drive' and is_won))::integer
            as test_drive_leads_won
    from showroom_activities
    group by
        dealer_code,
        consultant,
        dealer_timezone,
        week_start

),

final as (

    select
        counted.dealer_code,
        counted.consultant,
        counted.week_start,
        counted.appointments,
        counted.appointments_shown,
        counted.appointments_no_show,
        round(
            counted.appointments_shown::numeric
            / nullif(counted.appointments_shown + counted.appointments_no_show, 0),
            4
        ) as show_up_rate,
        counted.showroom_visits,
        counted.test_drives,
        counted.test_drive_leads,
        counted.test_drive_leads_won,
        round(counted.test_drive_leads_won::numeric / nullif(counted.test_drive_leads, 0), 4)
            as rate_test_drive_to_won,
        {{ cohort_age_days("'week'", 'counted.week_start', 'counted.dealer_timezone') }} as cohort_age_days,
        {{ is_period_complete("'week'", 'counted.week_start', 'counted.dealer_timezone') }} as is_period_complete,
        coalesce(
            {{ is_period_complete("'week'", 'counted.week_start', 'counted.dealer_timezone') }}
            and {{ cohort_age_days("'week'", 'counted.week_start', 'counted.dealer_timezone') }}
            >= settings.maturity_days_decision_to_won,
            false
        ) as is_mature
    from counted
    left join settings
        on counted.dealer_code = settings.dealer_code

)

select * from final

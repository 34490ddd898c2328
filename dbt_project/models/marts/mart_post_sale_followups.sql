-- One row per delivered lead × required after-sales follow-up (DESIGN.md §2 "After sales"), with
-- the dealer's settings (seeds/funnel_settings.csv). The clock starts at delivery: clock_started_at =
-- delivered_at (fct_leads: the first 'delivered' activity) or, where no source gives a delivery
-- date, won_at (has_delivery_date = false says so). Only follow-ups with purpose 'after_sales'
-- count; a sales call is not an after-sales visit. Windows, in this order:
--
-- 1 first_visit             [clock, due_at]; due_at = clock + post_sale_first_visit_hours calendar
--                           hours (24 h), or, when post_sale_first_visit_working_days > 0, the start
--                           of the working day after the N-th working day following the clock's local
--                           date on the dealer's working calendar (int_dealer_calendar_days_numbered).
--                           done_at = the first after-sales follow-up at or after the clock.
-- 2 week_visit              a further visit within post_sale_followup_weeks weeks of the clock: due_at
--                           = clock + 7N days; done_at = the first after-sales follow-up after the
--                           first visit (after the later of its done_at and its due_at).
-- 3 first_service_reminder  [due_at − first_service_reminder_days, due_at); due_at = clock +
--                           first_service_due_days days: the first-service reminder.
-- 4 month_visit             due_at = clock + N months (dealer-local), window ± tolerance days.
-- 5 quarter_visit           due_at = clock + 3N months, window ± tolerance days.
--
-- Slots 3-5 take the first after-sales follow-up inside their window (one call may serve two slots
-- whose windows overlap, e.g. a quarterly visit that also reminds of the first service).
-- is_done = done_at is set; is_on_time = done_at <= window_end_at (first and week visit: <= due_at;
-- the reminder: before due_at); is_due = the window has closed by the dealer's data_as_of_at, or the
-- follow-up is done.

with

leads as (

    select * from {{ ref('fct_leads') }}

),

followups as (

    select * from {{ ref('int_followups_matched_to_leads') }}

),

dealers as (

    select * from {{ ref('dim_dealerships') }}

),

settings as (

    select * from {{ ref('int_funnel_settings_pivoted_to_dealers') }}

),

dealer_activity as (

    select * from {{ ref('int_activity_aggregated_to_dealers') }}

),

dealer_calendar_days as (

    select * from {{ ref('int_dealer_calendar_days_numbered') }}

),

working_day_dates as (

    select
        dealer_code,
        working_day_number,
        min(date_day) as date_day
    from dealer_calendar_days
    where is_working_day
    group by
        dealer_code,
        working_day_number

),

after_sales_followups as (

    select *
    from followups
    where purpose = 'after_sales'

),

delivered as (

    select
        leads.lead_key,
        leads.dealer_code,
        leads.consultant,
        leads.won_at,
        leads.delivered_at,
        coalesce(leads.delivered_at, leads.won_at) as clock_started_at,
        leads.delivered_at is not null as has_delivery_date,
        coalesce(dealers.timezone, '{{ var("default_dealer_timezone") }}') as dealer_timezone,
        dealer_activity.data_as_of_at,
        settings.post_sale_first_visit_hours,
        settings.post_sale_first_visit_working_days,
        settings.post_sale_followup_weeks,
        settings.post_sale_followup_months,
        settings.post_sale_followup_quarters,
        settings.post_sale_followup_tolerance_days,
        settings.first_service_due_days,
        settings.first_service_reminder_days
    from leads
    left join dealers
        on leads.dealer_code = dealers.dealer_code
    left join settings
        on leads.dealer_code = settings.dealer_code
    left join dealer_activity
        on leads.dealer_code = dealer_activity.dealer_code
    where leads.is_won or leads.delivered_at is not null

),

-- the first visit's deadline: calendar hours, or the start of the day after N working days
first_visit_due as (

    select
        delivered.lead_key,
        case
            when delivered.post_sale_first_visit_working_days > 0
                then next_day.date_day::timestamp at time zone delivered.dealer_timezone
            else delivered.clock_started_at + delivered.post_sale_first_visit_hours * interval '1 hour'
        end as due_at
    from delivered
    left join dealer_calendar_days as clock_day
        on
            delivered.dealer_code = clock_day.dealer_code
            and (delivered.clock_started_at at time zone delivered.dealer_timezone)::date = clock_day.date_day
    left join working_day_dates as next_day
        on
            delivered.dealer_code = next_day.dealer_code
            and clock_day.working_day_number + delivered.post_sale_first_visit_working_days + 1
            = next_day.working_day_number

),

first_visits as (

    select
        delivered.lead_key,
        first_visit_due.due_at,
        min(after_sales_followups.occurred_at) as done_at
    from delivered
    inner join first_visit_due
        on delivered.lead_key = first_visit_due.lead_key
    left join after_sales_followups
        on
            delivered.lead_key = after_sales_followups.lead_key
            and delivered.clock_started_at <= after_sales_followups.occurred_at
    group by
        delivered.lead_key,
        first_visit_due.due_at

),

week_visits as (

    select
        delivered.lead_key,
        delivered.clock_started_at + delivered.post_sale_followup_weeks * interval '7 days' as due_at,
        min(after_sales_followups.occurred_at) as done_at
    from delivered
    inner join first_visits
        on delivered.lead_key = first_visits.lead_key
    left join after_sales_followups
        on
            delivered.lead_key = after_sales_followups.lead_key
            and after_sales_followups.occurred_at > greatest(first_visits.done_at, first_visits.due_at)
    group by
        delivered.lead_key,
        delivered.clock_started_at,
        delivered.post_sale_followup_weeks

),

windowed as (

    select
        delivered.lead_key,
        1 as followup_number,
        'first_visit'::text as followup_type,
        first_visits.due_at,
        delivered.clock_started_at as window_start_at,
        first_visits.due_at as window_end_at,
        first_visits.done_at
    from delivered
    inner join first_visits
        on delivered.lead_key = first_visits.lead_key

    union all

    select
        delivered.lead_key,
        2 as followup_number,
        'week_visit'::text as followup_type,
        week_visits.due_at,
        delivered.clock_started_at as window_start_at,
        week_visits.due_at as window_end_at,
        week_visits.done_at
    from delivered
    inner join week_visits
        on delivered.lead_key = week_visits.lead_key

    union all

    select
        slots.lead_key,
        slots.followup_number,
        slots.followup_type,
        slots.due_at,
        slots.window_start_at,
        slots.window_end_at,
        min(after_sales_followups.occurred_at) as done_at
    from (
        select
            delivered.lead_key,
            3 as followup_number,
            'first_service_reminder'::text as followup_type,
            delivered.clock_started_at + delivered.first_service_due_days * interval '1 day' as due_at,
            delivered.clock_started_at
            + (delivered.first_service_due_days - delivered.first_service_reminder_days) * interval '1 day'
                as window_start_at,
            delivered.clock_started_at + delivered.first_service_due_days * interval '1 day'
            - interval '1 microsecond' as window_end_at
        from delivered

        union all

        select
            delivered.lead_key,
            periodic.followup_number,
            periodic.followup_type,
            periodic.due_at,
            periodic.due_at - delivered.post_sale_followup_tolerance_days * interval '1 day' as window_start_at,
            periodic.due_at + delivered.post_sale_followup_tolerance_days * interval '1 day' as window_end_at
        from delivered
        cross join lateral (
            values
            (
                4,
                'month_visit',
                (
                    (delivered.clock_started_at at time zone delivered.dealer_timezone)
                    + delivered.post_sale_followup_months * interval '1 month'
                ) at time zone delivered.dealer_timezone
            ),
            (
                5,
                'quarter_visit',
                (
                    (delivered.clock_started_at at time zone delivered.dealer_timezone)
                    + delivered.post_sale_followup_quarters * interval '3 months'
                ) at time zone delivered.dealer_timezone
            )
        ) as periodic (followup_number, followup_type, due_at)
    ) as slots
    left join after_sales_followups
        on
            slots.lead_key = after_sales_followups.lead_key
            and slots.window_start_at <= after_sales_followups.occurred_at
            and slots.window_end_at >= after_sales_followups.occurred_at
    group by
        slots.lead_key,
        slots.followup_number,
        slots.followup_type,
        slots.due_at,
        slots.window_start_at,
        slots.window_end_at

),

final as (

    select
        md5(windowed.lead_key || '|post_sale|' || windowed.followup_number::text) as post_sale_followup_key,
        windowed.lead_key,
        delivered.dealer_code,
        delivered.consultant,
        windowed.followup_number,
        windowed.followup_type,
        delivered.won_at,
        windowed.due_at,
        (windowed.due_at at time zone delivered.dealer_timezone)::date as due_date,
        windowed.window_start_at,
        windowed.window_end_at,
        windowed.done_at,
        windowed.done_at is not null as is_done,
        coalesce(windowed.done_at <= windowed.window_end_at, false) as is_on_time,
        coalesce(
            windowed.done_at is not null or windowed.window_end_at <= delivered.data_as_of_at, false
        ) as is_due,
        delivered.delivered_at,
        delivered.clock_started_at,
        delivered.has_delivery_date
    from windowed
    inner join delivered
        on windowed.lead_key = delivered.lead_key

)

select * from final

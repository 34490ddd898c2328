-- One row per dealer_code × consultant × month_start × purpose × contact_method: the method mix of
-- each consultant's follow-ups (DESIGN.md §2 follow-up rules: SMS is not a main channel), by the
-- dealer-local month of occurred_at. consultant = who made the follow-up ('(unknown)' when not
-- given), contact_method 'unknown' when not given, purpose sales / after_sales. contacts reached
-- the customer, attempts did not (outcome no_answer, busy, ...); followups = contacts + attempts.
-- share_of_followups = followups ÷ the consultant's follow-ups of that month and purpose (4
-- decimals). is_main_channel from seeds/followup_methods.csv (NULL for a method not listed there).
-- Same-day recording (where the source gives recorded_at): followups_with_recorded_at,
-- followups_recorded_same_day (recorded on the local date of the follow-up) and their rate (NULL
-- when no follow-up of the row has recorded_at).

with

followups as (

    select * from {{ ref('int_followups_matched_to_leads') }}

),

methods as (

    select * from {{ ref('followup_methods') }}

),

dealers as (

    select * from {{ ref('dim_dealerships') }}

),

followups_local as (

    select
        followups.dealer_code,
        coalesce(followups.consultant, '(unknown)') as consultant,
        date_trunc(
            'month',
            followups.occurred_at at time zone coalesce(dealers.timezone, '{{ var("default_dealer_timezone") }}')
        )::date as month_start,
        followups.purpose,
        coalesce(followups.contact_method, 'unknown') as contact_method,
        followups.is_contact,
        followups.recorded_at,
        (followups.recorded_at at time zone coalesce(dealers.timezone, '{{ var("default_dealer_timezone") }}'))::date
        = (followups.occurred_at at time zone coalesce(dealers.timezone, '{{ var("default_dealer_timezone") }}'))::date
            as is_recorded_same_day
    from followups
    left join dealers
        on followups.dealer_code = dealers.dealer_code

),

counted as (

    select
        dealer_code,
        consultant,
        month_start,
        purpose,
        contact_method,
        count(*)::integer as followups,
        (count(*) filter (where is_contact))::integer as contacts,
        (count(*) filter (where not is_contact))::integer as attempts,
        count(recorded_at)::integer as followups_with_recorded_at,
        (count(*) filter (where is_recorded_same_day))::integer as followups_recorded_same_day
    from followups_local
    group by
        dealer_code,
        consultant,
        month_start,
        purpose,
        contact_method

),

final as (

    select
        counted.dealer_code,
        counted.consultant,
        counted.month_start,
        counted.purpose,
        counted.contact_method,
        methods.is_main_channel,
        counted.followups,
        counted.contacts,
        counted.attempts,
        round(
            counted.followups::numeric
            / sum(counted.followups) over (
                partition by counted.dealer_code, counted.consultant, counted.month_start, counted.purpose
            ),
            4
        ) as share_of_followups,
        counted.followups_with_recorded_at,
        counted.followups_recorded_same_day,
        round(
            counted.followups_recorded_same_day::numeric / nullif(counted.followups_with_recorded_at, 0), 4
        ) as recorded_same_day_rate
    from counted
    left join methods
        on counted.contact_method = methods.contact_method

)

select * from final

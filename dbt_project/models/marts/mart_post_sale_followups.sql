-- One row per delivered (won) lead × required post-sale follow-up (DESIGN.md §2: "after delivery,
-- follow-ups happen within [X] days, then at [X] weeks, months and quarters"), with the dealer's
-- settings post_sale_followup_{days,weeks,months,quarters} and post_sale_followup_tolerance_days:
--
-- followup_number 1 'days'      due_at = won_at + N days; window [won_at, due_at].
-- followup_number 2 'weeks'     due_at = won_at + N weeks;     window [due_at − tol, due_at + tol]
-- followup_number 3 'months'    due_at = won_at + N months;    window likewise
-- followup_number 4 'quarters'  due_at = won_at + 3N months;   window likewise
--
-- Months and quarters are added in dealer-local time (won 01-31 + 1 month = 02-28/29, PostgreSQL
-- interval arithmetic). done_at = the first follow-up of the lead at or after the window start and
-- before the next follow-up's window start (each contact after delivery counts for the latest
-- follow-up whose window had opened); is_done = done_at is set; is_on_time = done_at <= window end.
-- is_due = the window has closed by the dealer's data_as_of_at, or the follow-up is done.

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

delivered as (

    select
        leads.lead_key,
        leads.dealer_code,
        leads.consultant,
        leads.won_at,
        coalesce(dealers.timezone, '{{ var("default_dealer_timezone") }}') as dealer_timezone,
        dealer_activity.data_as_of_at,
        settings.post_sale_followup_days,
        settings.post_sale_followup_weeks,
        settings.post_sale_followup_months,
        settings.post_sale_followup_quarters,
        settings.post_sale_followup_tolerance_days
    from leads
    left join dealers
        on leads.dealer_code = dealers.dealer_code
    left join settings
        on leads.dealer_code = settings.dealer_code
    left join dealer_activity
        on leads.dealer_code = dealer_activity.dealer_code
    where leads.is_won

),

required as (

    select
        delivered.lead_key,
        delivered.dealer_code,
        delivered.consultant,
        delivered.won_at,
        delivered.dealer_timezone,
        delivered.data_as_of_at,
        delivered.post_sale_followup_tolerance_days,
        slots.followup_number,
        slots.followup_type,
        (
            (delivered.won_at at time zone delivered.dealer_timezone)
            + case slots.followup_type
                when 'days' then delivered.post_sale_followup_days * interval '1 day'
                when 'weeks' then delivered.post_sale_followup_weeks * interval '7 days'
                when 'months' then delivered.post_sale_followup_months * interval '1 month'
                when 'quarters' then delivered.post_sale_followup_quarters * interval '3 months'
            end
        ) at time zone delivered.dealer_timezone as due_at
    from delivered
    cross join (
        values (1, 'days'), (2, 'weeks'), (3, 'months'), (4, 'quarters')
    ) as slots (followup_number, followup_type)

),

windowed as (

    select
        *,
        case
            when followup_type = 'days' then won_at
            else due_at - post_sale_followup_tolerance_days * interval '1 day'
        end as window_start_at,
        case
            when followup_type = 'days' then due_at
            else due_at + post_sale_followup_tolerance_days * interval '1 day'
        end as window_end_at
    from required

),

bounded as (

    select
        *,
        lead(window_start_at) over (partition by lead_key order by followup_number) as next_window_start_at
    from windowed

),

matched as (

    select
        bounded.lead_key,
        bounded.followup_number,
        min(followups.occurred_at) as done_at
    from bounded
    inner join followups
        on
            bounded.lead_key = followups.lead_key
            and bounded.window_start_at <= followups.occurred_at
            and followups.occurred_at < coalesce(bounded.next_window_start_at, 'infinity'::timestamptz)
    group by
        bounded.lead_key,
        bounded.followup_number

),

final as (

    select
        md5(bounded.lead_key || '|post_sale|' || bounded.followup_number::text) as post_sale_followup_key,
        bounded.lead_key,
        bounded.dealer_code,
        bounded.consultant,
        bounded.followup_number,
        bounded.followup_type,
        bounded.won_at,
        bounded.due_at,
        (bounded.due_at at time zone bounded.dealer_timezone)::date as due_date,
        bounded.window_start_at,
        bounded.window_end_at,
        matched.done_at,
        matched.done_at is not null as is_done,
        coalesce(matched.done_at <= bounded.window_end_at, false) as is_on_time,
        coalesce(matched.done_at is not null or bounded.window_end_at <= bounded.data_as_of_at, false) as is_due
    from bounded
    left join matched
        on
            bounded.lead_key = matched.lead_key
            and bounded.followup_number = matched.followup_number

)

select * from final

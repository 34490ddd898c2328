-- One row per dealer_code × consultant × month_start (dealer-local month) in which the consultant
-- had leads assigned, leads won or SLA / follow-up checks due (DESIGN.md §2 "Assessment": volume,
-- conversion at each stage, cycle, SLA compliance and satisfaction).
--
-- Volume and conversion: the cohort of leads ASSIGNED to the consultant in the month (assigned_at;
-- created_at for a lead with a consultant but no assignment time, e.g. known only from events);
-- leads_won = the cohort's leads won so far, win_rate = leads_won ÷ leads_assigned, rate_* = the
-- funnel rates of §2 on the cohort (macros funnel_rate / funnel_rates). The cohort's maturity at the
-- as-of time (cohort_age_days, is_period_complete, is_mature: macro cohort_maturity_columns with
-- the dealer's maturity_days_* settings) says whether win_rate and the rates are final. Cycle: leads
-- the consultant WON in the month (won_in_period) and their average cycle_days (cycle anomalies
-- left out). SLA and follow-up
-- rates: the checks charged to the consultant in the month (int_sla_checks_evaluated with
-- responsible_role 'consultant': first contact, grade cadence, interested weeks; the assignment
-- SLA is the manager's duty, in mart_sla_compliance, not here) and mart_post_sale_followups.
-- Rates: 4 decimals, NULL when the denominator is 0. Leads without a consultant are not in the
-- scorecard (see mart_sla_compliance's '(unassigned)').
-- Sales amount: amount_won = sum of fct_leads.amount of the leads the consultant WON in the month
-- (the same meaning as mart_funnel_activity.amount_won; NULL when none of them has an amount).
-- Satisfaction: the survey answers (surveys*.csv and HubSpot survey responses,
-- int_surveys_matched_to_leads) GIVEN in the month about the consultant's leads:
-- satisfaction_score = their average on the 0-10 scale (4 decimals),
-- survey_responses = how many (0 and NULL when none).

with

leads as (

    select * from {{ ref('fct_leads') }}

),

dealerships as (

    select * from {{ ref('dim_dealerships') }}

),

sla_checks as (

    select * from {{ ref('int_sla_checks_evaluated') }}

),

post_sale_followups as (

    select * from {{ ref('mart_post_sale_followups') }}

),

settings as (

    select * from {{ ref('int_funnel_settings_pivoted_to_dealers') }}

),

survey_answers as (

    select * from {{ ref('int_surveys_matched_to_leads') }}

),

leads_local as (

    select
        leads.*,
        coalesce(dealerships.timezone, '{{ var("default_dealer_timezone") }}') as dealer_timezone
    from leads
    left join dealerships
        on leads.dealer_code = dealerships.dealer_code
    where leads.consultant is not null

),

assigned_cohorts as (

    select
        dealer_code,
        consultant,
        date_trunc('month', coalesce(assigned_at, created_at) at time zone dealer_timezone)::date as month_start,
        count(*)::integer as leads_assigned,
        count(interested_at)::integer as leads_interested,
        count(needs_defined_at)::integer as leads_needs_defined,
        count(decision_at)::integer as leads_decision,
        count(won_at)::integer as leads_won,
        (count(*) filter (where is_lost))::integer as leads_lost
    from leads_local
    group by
        dealer_code,
        consultant,
        date_trunc('month', coalesce(assigned_at, created_at) at time zone dealer_timezone)::date

),

wins as (

    select
        dealer_code,
        consultant,
        date_trunc('month', won_at at time zone dealer_timezone)::date as month_start,
        count(*)::integer as won_in_period,
        avg(cycle_days) filter (where not has_cycle_anomaly) as cycle_days_avg,
        sum(amount) as amount_won
    from leads_local
    where is_won
    group by
        dealer_code,
        consultant,
        date_trunc('month', won_at at time zone dealer_timezone)::date

),

sla as (

    select
        dealer_code,
        responsible as consultant,
        month_start,
        count(*) filter (where check_type = 'first_contact') as first_contacts_due,
        count(*) filter (where check_type = 'first_contact' and is_met) as first_contacts_met,
        count(*) filter (where check_type = 'grade_cadence') as cadence_followups_due,
        count(*) filter (where check_type = 'grade_cadence' and is_met) as cadence_followups_on_time,
        count(*) filter (where check_type = 'interested_week') as interested_lead_weeks,
        count(*) filter (where check_type = 'interested_week' and is_met) as interested_lead_weeks_met
    from sla_checks
    where responsible_role = 'consultant' and responsible != '(unassigned)'
    group by
        dealer_code,
        responsible,
        month_start

),

post_sale as (

    select
        dealer_code,
        consultant,
        date_trunc('month', due_date)::date as month_start,
        count(*) as post_sale_followups_due,
        count(*) filter (where is_on_time) as post_sale_followups_on_time
    from post_sale_followups
    where is_due and consultant is not null
    group by
        dealer_code,
        consultant,
        date_trunc('month', due_date)::date

),

surveys as (

    select
        leads_local.dealer_code,
        leads_local.consultant,
        date_trunc('month', survey_answers.occurred_at at time zone leads_local.dealer_timezone)::date
            as month_start,
        round(avg(survey_answers.satisfaction_score), 4) as satisfaction_score,
        count(*)::integer as survey_responses
    from survey_answers
    inner join leads_local
        on survey_answers.lead_key = leads_local.lead_key
    group by
        leads_local.dealer_code,
        leads_local.consultant,
        date_trunc('month', survey_answers.occurred_at at time zone leads_local.dealer_timezone)::date

),

grain as (

    select
        dealer_code,
        consultant,
        month_start
    from assigned_cohorts
    union
    select
        dealer_code,
        consultant,
        month_start
    from wins
    union
    select
        dealer_code,
        consultant,
        month_start
    from sla
    union
    select
        dealer_code,
        consultant,
        month_start
    from post_sale
    union
    select
        dealer_code,
        consultant,
        month_start
    from surveys

),

grain_local as (

    select
        grain.dealer_code,
        grain.consultant,
        grain.month_start,
        coalesce(dealerships.timezone, '{{ var("default_dealer_timezone") }}') as dealer_timezone
    from grain
    left join dealerships
        on grain.dealer_code = dealerships.dealer_code

),

final as (

    select
        grain.dealer_code,
        grain.consultant,
        grain.month_start,
        coalesce(assigned_cohorts.leads_assigned, 0) as leads_assigned,
        coalesce(assigned_cohorts.leads_won, 0) as leads_won,
        {{ funnel_rate('assigned_cohorts.leads_won', 'assigned_cohorts.leads_assigned') }} as win_rate,
        round(wins.cycle_days_avg, 4) as cycle_days_avg,
        round(sla.first_contacts_met::numeric / nullif(sla.first_contacts_due, 0), 4) as first_contact_sla_rate,
        round(sla.cadence_followups_on_time::numeric / nullif(sla.cadence_followups_due, 0), 4)
            as cadence_on_time_rate,
        round(sla.interested_lead_weeks_met::numeric / nullif(sla.interested_lead_weeks, 0), 4)
            as interested_contact_rate,
        round(post_sale.post_sale_followups_on_time::numeric / nullif(post_sale.post_sale_followups_due, 0), 4)
            as post_sale_followup_rate,
        coalesce(assigned_cohorts.leads_interested, 0) as leads_interested,
        coalesce(assigned_cohorts.leads_needs_defined, 0) as leads_needs_defined,
        coalesce(assigned_cohorts.leads_decision, 0) as leads_decision,
        coalesce(assigned_cohorts.leads_lost, 0) as leads_lost,
        {{ funnel_rates(
            counts={'potential': 'leads_assigned'},
            rates=['potential_to_interested', 'interested_to_needs_defined', 'needs_defined_to_decision', 'decision_to_won'],
            relation='assigned_cohorts',
        ) }},
        coalesce(wins.won_in_period, 0) as won_in_period,
        coalesce(sla.first_contacts_due, 0)::integer as first_contacts_due,
        coalesce(sla.cadence_followups_due, 0)::integer as cadence_followups_due,
        coalesce(sla.interested_lead_weeks, 0)::integer as interested_lead_weeks,
        coalesce(post_sale.post_sale_followups_due, 0)::integer as post_sale_followups_due,
        surveys.satisfaction_score,
        {{ cohort_age_days("'month'", 'grain.month_start', 'grain.dealer_timezone') }} as cohort_age_days,
        {{ is_period_complete("'month'", 'grain.month_start', 'grain.dealer_timezone') }} as is_period_complete,
        {{ is_cohort_mature("'month'", 'grain.month_start', 'grain.dealer_timezone', 'settings') }} as is_mature,
        coalesce(surveys.survey_responses, 0) as survey_responses,
        wins.amount_won
    from grain_local as grain
    left join assigned_cohorts
        on
            grain.dealer_code = assigned_cohorts.dealer_code
            and grain.consultant = assigned_cohorts.consultant
            and grain.month_start = assigned_cohorts.month_start
    left join wins
        on
            grain.dealer_code = wins.dealer_code
            and grain.consultant = wins.consultant
            and grain.month_start = wins.month_start
    left join sla
        on
            grain.dealer_code = sla.dealer_code
            and grain.consultant = sla.consultant
            and grain.month_start = sla.month_start
    left join post_sale
        on
            grain.dealer_code = post_sale.dealer_code
            and grain.consultant = post_sale.consultant
            and grain.month_start = post_sale.month_start
    left join surveys
        on
            grain.dealer_code = surveys.dealer_code
            and grain.consultant = surveys.consultant
            and grain.month_start = surveys.month_start
    left join settings
        on grain.dealer_code = settings.dealer_code

)

select * from final

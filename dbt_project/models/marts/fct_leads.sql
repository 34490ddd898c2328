{#- dealer_code: the report pages and BI filters read a dealer at a time #}
{{ config(**lead_incremental_config(more_indexes=[{'columns': ['dealer_code']}])) }}
-- depends_on: {{ ref('int_lead_records_matched_to_leads') }} (macro delete_changed_leads)
-- One row per resolved lead (lead_key): the source records of one person at one dealer merged
-- (int_lead_records_matched_to_leads). Stage timestamps mean "first known at this stage or a later
-- one"; business days are counted on dealer-local dates with int_calendar_days_numbered; SLA
-- thresholds are the dealer's funnel settings (seeds/funnel_settings.csv).
--
-- first_contact_at is the first sales follow-up that REACHED the customer (an unanswered call is an
-- attempt, first_attempt_at); business days are the dealer's working days
-- (int_dealer_calendar_days_numbered: its working_weekdays setting and the holiday calendar; the
-- group calendar for a dealer missing from the registry). delivered_at: the first 'delivered'
-- activity (int_activities_matched_to_leads: activities*.csv, a Salesforce Event or HubSpot meeting
-- of a delivery type; never Opportunity.CloseDate), NULL when no source gives a delivery date.
--
-- Impossible durations (DESIGN.md section 2). anomaly_reason names the first contradiction found, in
-- this order (null when none), with a tolerance of the dealer's clock_skew_minutes (default 10):
--   won_before_created       won_at before created_at − tolerance;
--   stage_before_created     any stage event (potential … won, lost) before created_at − tolerance;
--   lost_after_won           a lost event after the won event (won is final);
--   assigned_before_created  assigned_at before created_at − tolerance;
--   contact_before_created   the first follow-up before created_at − tolerance.
-- A flagged lead stays in every count, but every duration column (cycle_days, days_in_<stage>,
-- business_days_to_*) is NULL, so it is left out of every duration statistic. Otherwise a
-- duration is never negative: an inversion inside the tolerance (or a contact before the
-- assignment) counts as 0. has_cycle_anomaly = anomaly_reason is not null.
-- days_in_<stage> (computed here once for every mart): from reaching the stage to reaching any later
-- one (potential: created_at → interested_at; decision: decision_at → won_at). A stage the lead
-- skipped (no event at that stage before the next stage's time) is NULL, not 0; a stage not left
-- yet is NULL too. Lost is not a stage.
-- Customer identity (DESIGN.md §5 "Who may read what"): never in clear. phone_key and email_key are
-- HMAC-SHA256 of the normalized phone / e-mail with the pipeline's secret key (macro pii_hash), so HQ
-- can count and join customers; phone_masked (138****1234), email_masked (z***@example.com) and
-- customer_name_masked (张**) let a consultant recognise one.
-- satisfaction_score: the average of the lead's survey answers on the 0-10 scale
-- (int_surveys_aggregated_to_leads); NULL when the customer never answered.
-- refreshed_at: when the pipeline last computed the lead's row.
--
-- Incremental (README.md, "Incremental builds"): a run recomputes the leads whose resolved
-- lead or stage events were refreshed upstream since this table's watermark, and the leads whose
-- follow-up, survey or delivery figures differ from the ones this table holds; it deletes the leads
-- that no longer exist (macro delete_changed_leads). The write-audit-publish candidate keeps this
-- table between runs (it is the schema published one run before), so it catches up on both runs.

with

-- not materialized: read through its index for the leads a run recomputes
stages as not materialized (

    select * from {{ ref('int_stage_events_pivoted_to_leads') }}

),

followups as (

    select * from {{ ref('int_followups_aggregated_to_leads') }}

),

dealers as (

    select * from {{ ref('stg_ops__dealers') }}

),

surveys as (

    select * from {{ ref('int_surveys_aggregated_to_leads') }}

),

calendar_days as (

    select * from {{ ref('int_calendar_days_numbered') }}

),

dealer_calendar_days as (

    select * from {{ ref('int_dealer_calendar_days_numbered') }}

),

activities as (

    select * from {{ ref('int_activities_matched_to_leads') }}

),

deliveries as (

    select
        lead_key,
        min(occurred_at) as delivered_at
    from activities
    where activity = 'delivered'
    group by lead_key

),

{% if is_incremental() %}

    previous_leads as (

        select * from {{ this }}

    ),

    changed_leads as (

        select lead_key
        from {{ ref('int_leads_resolved') }}
        where refreshed_at > {{ refreshed_watermark() }}

        union

        select lead_key
        from stages
        where refreshed_at > {{ refreshed_watermark() }}

        union

        select followups.lead_key
        from followups
        left join previous_leads
            on followups.lead_key = previous_leads.lead_key
        where
            (
                previous_leads.first_contact_at,
                previous_leads.last_contact_at,
                previous_leads.first_attempt_at,
                previous_leads.followup_count
            ) is distinct from (
                followups.first_contact_at,
                followups.last_contact_at,
                followups.first_attempt_at,
                followups.followup_count
            )

        union

        select surveys.lead_key
        from surveys
        left join previous_leads
            on surveys.lead_key = previous_leads.lead_key
        where previous_leads.satisfaction_score is distinct from surveys.satisfaction_score

        union

        select deliveries.lead_key
        from deliveries
        left join previous_leads
            on deliveries.lead_key = previous_leads.lead_key
        where previous_leads.delivered_at is distinct from deliveries.delivered_at

    ),

{% endif %}

leads as (

    select * from {{ ref('int_leads_resolved') }}
    {% if is_incremental() %}
        where lead_key in (select changed_leads.lead_key from changed_leads)
    {% endif %}

),

settings as (

    select * from {{ ref('int_funnel_settings_pivoted_to_dealers') }}

),

funnel_settings as (

    select * from {{ ref('funnel_settings') }}

),

-- The group default, for a dealer missing from the registry.
clock_skew_default as (

    select max(btrim(value)::numeric) as clock_skew_minutes
    from funnel_settings
    where
        nullif(btrim(dealer_code), '') is null
        and btrim(setting) = 'clock_skew_minutes'

),

leads_joined as (

    select
        leads.lead_key,
        leads.dealer_code,
        leads.source_system,
        leads.source_lead_id,
        leads.channel,
        leads.campaign,
        leads.consultant,
        leads.grade,
        leads.created_at,
        leads.assigned_at,
        followups.first_contact_at,
        followups.last_contact_at,
        followups.first_attempt_at,
        coalesce(followups.followup_count, 0) as followup_count,
        deliveries.delivered_at,
        surveys.satisfaction_score,
        stages.interested_at,
        stages.needs_defined_at,
        stages.decision_at,
        stages.won_at,
        stages.lost_at,
        stages.first_event_at,
        stages.last_lost_at,
        stages.interested_event_at,
        stages.needs_defined_event_at,
        stages.decision_event_at,
        leads.model_of_interest,
        stages.lost_reason,
        stages.lost_reason_text,
        stages.won_amount as amount,
        stages.won_currency as currency,
        leads.is_inferred_from_events,
        leads.lead_record_count,
        {{ pii_hash('leads.normalized_phone') }} as phone_key,
        {{ pii_hash('leads.normalized_email') }} as email_key,
        {{ mask_phone('leads.normalized_phone') }} as phone_masked,
        {{ mask_email('leads.normalized_email') }} as email_masked,
        {{ mask_name('leads.customer_name') }} as customer_name_masked,
        settings.assignment_sla_business_days,
        settings.first_contact_sla_business_days,
        coalesce(settings.clock_skew_minutes, clock_skew_default.clock_skew_minutes) * interval '1 minute'
            as clock_skew,
        coalesce(dealers.timezone, '{{ var("default_dealer_timezone") }}') as dealer_timezone
    from leads
    left join stages
        on leads.lead_key = stages.lead_key
    left join followups
        on leads.lead_key = followups.lead_key
    left join deliveries
        on leads.lead_key = deliveries.lead_key
    left join surveys
        on leads.lead_key = surveys.lead_key
    left join dealers
        on leads.dealer_code = dealers.dealer_code
    left join settings
        on leads.dealer_code = settings.dealer_code
    cross join clock_skew_default

),

anomalies as (

    select
        *,
        case
            when won_at < created_at - clock_skew then 'won_before_created'
            when first_event_at < created_at - clock_skew then 'stage_before_created'
            when last_lost_at > won_at then 'lost_after_won'
            when assigned_at < created_at - clock_skew then 'assigned_before_created'
            when first_contact_at < created_at - clock_skew then 'contact_before_created'
        end as anomaly_reason
    from leads_joined

),

business_days as (

    select
        anomalies.*,
        coalesce(assigned_working_day.working_day_number, assigned_day.business_day_number)
        - coalesce(created_working_day.working_day_number, created_day.business_day_number) as business_days_to_assign,
        coalesce(contact_working_day.working_day_number, contact_day.business_day_number)
        - coalesce(assigned_working_day.working_day_number, assigned_day.business_day_number)
            as business_days_to_first_contact
    from anomalies
    left join calendar_days as created_day
        on (anomalies.created_at at time zone anomalies.dealer_timezone)::date = created_day.date_day
    left join calendar_days as assigned_day
        on (anomalies.assigned_at at time zone anomalies.dealer_timezone)::date = assigned_day.date_day
    left join calendar_days as contact_day
        on (anomalies.first_contact_at at time zone anomalies.dealer_timezone)::date = contact_day.date_day
    left join dealer_calendar_days as created_working_day
        on
            anomalies.dealer_code = created_working_day.dealer_code
            and (anomalies.created_at at time zone anomalies.dealer_timezone)::date = created_working_day.date_day
    left join dealer_calendar_days as assigned_working_day
        on
            anomalies.dealer_code = assigned_working_day.dealer_code
            and (anomalies.assigned_at at time zone anomalies.dealer_timezone)::date = assigned_working_day.date_day
    left join dealer_calendar_days as contact_working_day
        on
            anomalies.dealer_code = contact_working_day.dealer_code
            and (anomalies.first_contact_at at time zone anomalies.dealer_timezone)::date = contact_working_day.date_day

),

-- Durations: NULL for a flagged lead, never negative otherwise; a skipped stage is NULL. (greatest()
-- ignores NULLs, hence the explicit `is not null`: a lead not won has no cycle, not a 0 one.)
durations as (

    select
        *,
        case
            when anomaly_reason is null and won_at is not null
                then greatest(won_at - created_at, interval '0')
        end as cycle_interval,
        case
            when anomaly_reason is null and interested_at is not null
                then greatest(interested_at - created_at, interval '0')
        end as potential_interval,
        case
            when anomaly_reason is null and interested_event_at <= needs_defined_at
                then needs_defined_at - interested_at
        end as interested_interval,
        case
            when anomaly_reason is null and needs_defined_event_at <= decision_at
                then decision_at - needs_defined_at
        end as needs_defined_interval,
        case
            when anomaly_reason is null and decision_event_at <= won_at
                then won_at - decision_at
        end as decision_interval
    from business_days

),

final as (

    select
        lead_key,
        dealer_code,
        source_system,
        source_lead_id,
        channel,
        campaign,
        consultant,
        grade,
        created_at,
        assigned_at,
        first_contact_at,
        interested_at,
        needs_defined_at,
        decision_at,
        won_at,
        lost_at,
        case
            when won_at is not null then 'won'
            when lost_at is not null then 'lost'
            when decision_at is not null then 'decision'
            when needs_defined_at is not null then 'needs_defined'
            when interested_at is not null then 'interested'
            else 'potential'
        end as current_stage,
        won_at is not null as is_won,
        lost_at is not null and won_at is null as is_lost,
        round(extract(epoch from cycle_interval) / 86400, 6) as cycle_days,
        case
            when anomaly_reason is null and business_days_to_assign is not null
                then greatest(business_days_to_assign, 0)
        end as business_days_to_assign,
        case
            when anomaly_reason is null and business_days_to_first_contact is not null
                then greatest(business_days_to_first_contact, 0)
        end as business_days_to_first_contact,
        business_days_to_assign <= assignment_sla_business_days as is_assignment_sla_met,
        business_days_to_first_contact <= first_contact_sla_business_days as is_first_contact_sla_met,
        anomaly_reason is not null as has_cycle_anomaly,
        is_inferred_from_events,
        lead_record_count,
        model_of_interest,
        lost_reason,
        lost_reason_text,
        amount,
        currency,
        anomaly_reason,
        round(extract(epoch from potential_interval) / 86400, 6) as days_in_potential,
        round(extract(epoch from interested_interval) / 86400, 6) as days_in_interested,
        round(extract(epoch from needs_defined_interval) / 86400, 6) as days_in_needs_defined,
        round(extract(epoch from decision_interval) / 86400, 6) as days_in_decision,
        phone_key,
        email_key,
        phone_masked,
        email_masked,
        customer_name_masked,
        last_contact_at,
        followup_count,
        first_attempt_at,
        delivered_at,
        satisfaction_score,
        {{ refreshed_at() }} as refreshed_at
    from durations

)

select * from final

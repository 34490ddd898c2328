{{
    config(
        materialized='incremental',
        unique_key='lead_record_key',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['lead_record_key'], 'unique': True},
            {'columns': ['lead_key']},
            {'columns': ['person_key']},
            {'columns': ['dealer_code', 'normalized_phone']},
            {'columns': ['dealer_code', 'normalized_email']},
            {'columns': ['refreshed_at']},
        ],
    )
}}
-- One row per source lead record (lead_record_key), mapped to the resolved lead it belongs to
-- (lead_key). Identity (DESIGN.md section 4): within a dealer, two records are the same person when
-- they share a normalized mobile phone (macro normalize_phone: 11-digit mainland form, E.164
-- otherwise) or a normalized e-mail (macro normalize_email), transitively: the records of a lead
-- are a connected component of the "shares a phone or e-mail" graph (A~B by phone, B~C by e-mail:
-- A, B and C are one person). The earliest record of the component (created_at, then source_system,
-- then source_lead_id) is the person's first record; its key is the person_key.
--
-- Re-enquiries (DESIGN.md section 2): a person's records, walked in that order, form consecutive
-- leads. A record created MORE than the dealer's setting reenquiry_new_lead_days (default 90; a day
-- = 24 h, compared in seconds) after the current lead was won or lost starts a new lead; otherwise,
-- and always while the lead is open, it joins the current lead. Exactly 90 days is the same lead.
-- When a lead was won or lost = its latest won or lost event (over the records it has so far), so
-- a lead lost and then won again inside the window closes at the win. A source record is never
-- split: all its events stay with its lead. The first record of each lead is its primary record and
-- its key is the lead_key, so a person seen once (or only inside the window) keeps the lead_key of
-- the earliest record, as before; a re-enquiry's lead is keyed by its own first record.
--
-- Records are the lead rows of every source plus one record per source lead id that has stage
-- events but no lead row (created_at = its first event; no phone or e-mail, so it stays alone).
--
-- Incremental (README.md, "Incremental builds"). A run recomputes only the PERSONS its new
-- data can change, whole: the records whose lead row or stage events were refreshed in
-- int_leads_unioned / int_stage_events_unioned since this model's watermark (the delta), every
-- record of the persons those records belonged to (a changed phone can split a person), and every
-- record of the persons that share a phone or e-mail with a delta record (a new record can join
-- two persons). That set is closed: an edge between two records outside it existed before, so
-- their person is unchanged. Inside the set, the same closure and re-enquiry walk as a full build
-- run over the records' current values; records outside it keep their rows. refreshed_at = this
-- run on every row written, which is how the lead-grain models downstream find the leads to redo.

with recursive

-- not materialized: read through the indexes, not copied whole
leads as not materialized (

    select * from {{ ref('int_leads_unioned') }}

),

stage_events as not materialized (

    select * from {{ ref('int_stage_events_unioned') }}

),

dealer_settings as (

    select * from {{ ref('int_funnel_settings_pivoted_to_dealers') }}

),

funnel_settings as (

    select * from {{ ref('funnel_settings') }}

),

lead_records as (

    select
        lead_record_key,
        dealer_code,
        source_system,
        source_lead_id,
        created_at,
        {{ normalize_phone('phone') }} as normalized_phone,
        {{ normalize_email('email') }} as normalized_email,
        true as has_lead_record
    from leads

),

event_only_records as (

    select
        stage_events.lead_record_key,
        stage_events.dealer_code,
        stage_events.source_system,
        stage_events.source_lead_id,
        min(stage_events.occurred_at) as created_at,
        null::text as normalized_phone,
        null::text as normalized_email,
        false as has_lead_record
    from stage_events
    where
        not exists (
            select 1
            from leads
            where leads.lead_record_key = stage_events.lead_record_key
        )
    group by
        stage_events.lead_record_key,
        stage_events.dealer_code,
        stage_events.source_system,
        stage_events.source_lead_id

),

{% if is_incremental() %}

    previous_records as (

        select * from {{ this }}

    ),

    -- the records whose lead row or stage events were refreshed since this model last ran
    delta_keys as (

        select lead_record_key
        from leads
        where refreshed_at > {{ refreshed_watermark() }}

        union

        select lead_record_key
        from stage_events
        where refreshed_at > {{ refreshed_watermark() }}

    ),

    delta_records as (

        select lead_records.*
        from lead_records
        where lead_records.lead_record_key in (select delta_keys.lead_record_key from delta_keys)

        union all

        select event_only_records.*
        from event_only_records
        where event_only_records.lead_record_key in (select delta_keys.lead_record_key from delta_keys)

    ),

    -- the persons the delta can change: those the delta records were in, and those sharing a phone or
    -- an e-mail with one of them now
    affected_persons as (

        select previous_records.person_key
        from previous_records
        inner join delta_records
            on previous_records.lead_record_key = delta_records.lead_record_key

        union

        select previous_records.person_key
        from previous_records
        inner join delta_records
            on
                previous_records.dealer_code = delta_records.dealer_code
                and previous_records.normalized_phone = delta_records.normalized_phone

        union

        select previous_records.person_key
        from previous_records
        inner join delta_records
            on
                previous_records.dealer_code = delta_records.dealer_code
                and previous_records.normalized_email = delta_records.normalized_email

    ),

    records as (

        select * from delta_records

        union all

        select
            previous_records.lead_record_key,
            previous_records.dealer_code,
            previous_records.source_system,
            previous_records.source_lead_id,
            previous_records.created_at,
            previous_records.normalized_phone,
            previous_records.normalized_email,
            previous_records.has_lead_record
        from previous_records
        where
            previous_records.person_key in (select affected_persons.person_key from affected_persons)
            and not exists (
                select 1
                from delta_records
                where delta_records.lead_record_key = previous_records.lead_record_key
            )

    ),

{% else %}

    records as (

        select * from lead_records
        union all
        select * from event_only_records

    ),

{% endif %}

identifiers as (

    select
        lead_record_key,
        dealer_code,
        'phone' as identifier_type,
        normalized_phone as identifier
    from records
    where normalized_phone is not null

    union all

    select
        lead_record_key,
        dealer_code,
        'email' as identifier_type,
        normalized_email as identifier
    from records
    where normalized_email is not null

),

edges as (

    select distinct
        from_identifier.lead_record_key as from_record_key,
        to_identifier.lead_record_key as to_record_key
    from identifiers as from_identifier
    inner join identifiers as to_identifier
        on
            from_identifier.dealer_code = to_identifier.dealer_code
            and from_identifier.identifier_type = to_identifier.identifier_type
            and from_identifier.identifier = to_identifier.identifier
            and from_identifier.lead_record_key != to_identifier.lead_record_key

),

-- The records sharing a phone or e-mail with another: only they need the closure (most records
-- share nothing and are a person of their own).
linked_records as (

    select distinct from_record_key as lead_record_key
    from edges

),

-- Transitive closure: every linked record reaches itself and, step by step, every record of its
-- component. `union` (not `union all`) drops pairs already found, so cycles terminate.
reachable (lead_record_key, reachable_record_key) as (

    select
        lead_record_key,
        lead_record_key as reachable_record_key
    from linked_records

    union

    select
        reachable.lead_record_key,
        edges.to_record_key
    from reachable
    inner join edges
        on reachable.reachable_record_key = edges.from_record_key

),

-- A linked record's person is the earliest record of its component.
linked_person_records as (

    select distinct on (reachable.lead_record_key)
        reachable.lead_record_key,
        reachable.reachable_record_key as person_key
    from reachable
    inner join records
        on reachable.reachable_record_key = records.lead_record_key
    order by
        reachable.lead_record_key asc,
        records.created_at asc,
        records.source_system asc,
        records.source_lead_id asc

),

person_records as (

    select * from linked_person_records

    union all

    select
        records.lead_record_key,
        records.lead_record_key as person_key
    from records
    where
        not exists (
            select 1
            from linked_records
            where linked_records.lead_record_key = records.lead_record_key
        )

),

-- The group default, for a dealer missing from the registry (int_funnel_settings_pivoted_to_dealers
-- has registered dealers only).
reenquiry_default as (

    select max(btrim(value)::numeric) as reenquiry_new_lead_days
    from funnel_settings
    where
        nullif(btrim(dealer_code), '') is null
        and btrim(setting) = 'reenquiry_new_lead_days'

),

-- When each record's own events last closed it (won or lost).
record_closes as (

    select
        lead_record_key,
        max(occurred_at) as closed_at
    from stage_events
    where
        stage in ('won', 'lost')
        {%- if is_incremental() %}
            and lead_record_key in (select records.lead_record_key from records)
        {%- endif %}
    group by lead_record_key

),

records_in_order as (

    select
        records.lead_record_key,
        person_records.person_key,
        records.created_at,
        record_closes.closed_at,
        coalesce(
            dealer_settings.reenquiry_new_lead_days, reenquiry_default.reenquiry_new_lead_days
        ) as reenquiry_new_lead_days,
        row_number() over (
            partition by person_records.person_key
            order by records.created_at asc, records.source_system asc, records.source_lead_id asc
        ) as person_record_number
    from records
    inner join person_records
        on records.lead_record_key = person_records.lead_record_key
    left join record_closes
        on records.lead_record_key = record_closes.lead_record_key
    left join dealer_settings
        on records.dealer_code = dealer_settings.dealer_code
    cross join reenquiry_default

),

-- Walk each person's records in order: the first opens lead 1; each next record opens a new lead
-- when it comes more than reenquiry_new_lead_days after the current lead's close, else joins it.
-- lead_closed_at = latest close of the current lead's records so far (greatest ignores nulls).
lead_episodes (
    lead_record_key, person_key, person_record_number, lead_key, person_lead_number, lead_closed_at
) as (

    select
        lead_record_key,
        person_key,
        person_record_number,
        lead_record_key as lead_key,
        1 as person_lead_number,
        closed_at as lead_closed_at
    from records_in_order
    where person_record_number = 1

    union all

    select
        next_record.lead_record_key,
        next_record.person_key,
        next_record.person_record_number,
        case
            when
                extract(epoch from next_record.created_at - lead_episodes.lead_closed_at)
                > next_record.reenquiry_new_lead_days * 86400
                then next_record.lead_record_key
            else lead_episodes.lead_key
        end as lead_key,
        case
            when
                extract(epoch from next_record.created_at - lead_episodes.lead_closed_at)
                > next_record.reenquiry_new_lead_days * 86400
                then lead_episodes.person_lead_number + 1
            else lead_episodes.person_lead_number
        end as person_lead_number,
        case
            when
                extract(epoch from next_record.created_at - lead_episodes.lead_closed_at)
                > next_record.reenquiry_new_lead_days * 86400
                then next_record.closed_at
            else greatest(lead_episodes.lead_closed_at, next_record.closed_at)
        end as lead_closed_at
    from lead_episodes
    inner join records_in_order as next_record
        on
            lead_episodes.person_key = next_record.person_key
            and lead_episodes.person_record_number + 1 = next_record.person_record_number

),

matched_on as (

    select
        identifiers.lead_record_key,
        bool_or(identifiers.identifier_type = 'phone') as is_matched_on_phone,
        bool_or(identifiers.identifier_type = 'email') as is_matched_on_email
    from identifiers
    where
        exists (
            select 1
            from identifiers as other_identifiers
            where
                other_identifiers.dealer_code = identifiers.dealer_code
                and other_identifiers.identifier_type = identifiers.identifier_type
                and other_identifiers.identifier = identifiers.identifier
                and other_identifiers.lead_record_key != identifiers.lead_record_key
        )
    group by identifiers.lead_record_key

),

final as (

    select
        records.lead_record_key,
        lead_episodes.lead_key,
        records.dealer_code,
        records.source_system,
        records.source_lead_id,
        records.created_at,
        records.has_lead_record,
        records.lead_record_key = lead_episodes.lead_key as is_primary_record,
        coalesce(matched_on.is_matched_on_phone, false) as is_matched_on_phone,
        coalesce(matched_on.is_matched_on_email, false) as is_matched_on_email,
        count(*) over (partition by lead_episodes.lead_key)::integer as lead_record_count,
        lead_episodes.person_key,
        lead_episodes.person_lead_number,
        records.normalized_phone,
        records.normalized_email,
        {{ refreshed_at() }} as refreshed_at
    from records
    inner join lead_episodes
        on records.lead_record_key = lead_episodes.lead_record_key
    left join matched_on
        on records.lead_record_key = matched_on.lead_record_key

)

select * from final

-- One row per source lead record (lead_record_key), mapped to the resolved lead it belongs to
-- (lead_key). Identity (DESIGN.md section 4): within a dealer, two records are the same person when
-- they share a normalized mobile phone (macro normalize_phone: 11-digit mainland form, E.164
-- otherwise) or a normalized e-mail (macro normalize_email), transitively: the records of a lead
-- are a connected component of the "shares a phone or e-mail" graph (A~B by phone, B~C by e-mail:
-- A, B and C are one lead). The earliest record of the component (created_at, then source_system,
-- then source_lead_id) is the primary record and its key is the lead_key, so a lead keeps its key
-- while its earliest record stays the earliest.
--
-- Records are the lead rows of every source plus one record per source lead id that has stage
-- events but no lead row (created_at = its first event; no phone or e-mail, so it stays alone).

with recursive

leads as (

    select * from {{ ref('int_leads_unioned') }}

),

stage_events as (

    select * from {{ ref('int_stage_events_unioned') }}

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

records as (

    select * from lead_records
    union all
    select * from event_only_records

),

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

-- Transitive closure: every record reaches itself and, step by step, every record of its
-- component. `union` (not `union all`) drops pairs already found, so cycles terminate.
reachable (lead_record_key, reachable_record_key) as (

    select
        lead_record_key,
        lead_record_key as reachable_record_key
    from records

    union

    select
        reachable.lead_record_key,
        edges.to_record_key
    from reachable
    inner join edges
        on reachable.reachable_record_key = edges.from_record_key

),

primary_records as (

    select distinct on (reachable.lead_record_key)
        reachable.lead_record_key,
        reachable.reachable_record_key as lead_key
    from reachable
    inner join records
        on reachable.reachable_record_key = records.lead_record_key
    order by
        reachable.lead_record_key asc,
        records.created_at asc,
        records.source_system asc,
        records.source_lead_id asc

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
        primary_records.lead_key,
        records.dealer_code,
        records.source_system,
        records.source_lead_id,
        records.created_at,
        records.has_lead_record,
        records.lead_record_key = primary_records.lead_key as is_primary_record,
        coalesce(matched_on.is_matched_on_phone, false) as is_matched_on_phone,
        coalesce(matched_on.is_matched_on_email, false) as is_matched_on_email,
        count(*) over (partition by primary_records.lead_key)::integer as lead_record_count,
        records.normalized_phone,
        records.normalized_email
    from records
    inner join primary_records
        on records.lead_record_key = primary_records.lead_record_key
    left join matched_on
        on records.lead_record_key = matched_on.lead_record_key

)

select * from final

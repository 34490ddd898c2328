{{ config(**lead_incremental_config()) }}
-- One row per resolved lead (lead_key): the records of one person at one dealer merged into one
-- lead (int_lead_records_matched_to_leads). The primary (earliest) record gives the identity
-- (source_system, source_lead_id), created_at, channel and campaign (first touch). consultant and
-- grade come from the primary record, or the next record by created_at that has one; assigned_at
-- is the earliest assignment of any record; model_of_interest comes from the LATEST record (by
-- created_at) that names one, the customer's current interest. customer_name, normalized_phone and
-- normalized_email (identity, for fct_leads' keyed hashes and masks; never published in clear) come
-- from the earliest record that has one. A lead whose primary record has no lead row (a lead id
-- known only from stage events) is inferred: created_at = its first stage event, channel
-- 'unknown', no campaign, grade or assignment, consultant = the latest event consultant.
-- channel: the canonical channel of the primary record's channel (int_source_values_mapped, seeds
-- channel_mapping / channels; an unmapped value is 'other').
-- Consultant names go through seeds/consultant_renames.csv (old name -> current name, per dealer).
-- campaign: the primary record's campaign name; an ad-platform lead that carries only a campaign id
-- (every Google Ads submission, a Meta lead fetched without campaign_name) takes the name the spend
-- source reports for that dealer × channel × campaign id (latest spend day), so mart_channel_roi
-- joins its spend on the same name. Done here, not in the incremental int_leads_unioned, so a name
-- that arrives after the lead (spend settles days later) is picked up on the next run.

--
-- Incremental: a run recomputes the leads whose records int_lead_records_matched_to_leads refreshed
-- (macros changed_lead_keys, delete_changed_leads; README.md, "Incremental builds"), and
-- the leads named by the spend source whose campaign name is not the one the spend source gives now
-- (campaign_id, has_source_campaign).

with

ad_spend as (

    select * from {{ ref('int_ad_spend_unioned') }}

),

campaign_names as (

    select distinct on (dealer_code, channel, campaign_id)
        dealer_code,
        channel,
        campaign_id,
        campaign
    from ad_spend
    where campaign is not null
    order by
        dealer_code asc,
        channel asc,
        campaign_id asc,
        spend_date desc

),

{% if is_incremental() %}

    -- leads named by the spend source whose name is no longer the one it gives
    renamed_leads as (

        select previous_leads.lead_key
        from {{ this }} as previous_leads
        left join campaign_names
            on
                previous_leads.dealer_code = campaign_names.dealer_code
                and previous_leads.channel = campaign_names.channel
                and previous_leads.campaign_id = campaign_names.campaign_id
        where
            not previous_leads.has_source_campaign
            and previous_leads.campaign_id is not null
            and previous_leads.campaign is distinct from campaign_names.campaign

    ),

{% endif %}

{% if is_incremental() %}

    -- one key list and one semi-join: `in (a) or in (b)` cannot be a join, and at 1,000,000 leads
    -- its subplans no longer fit in work_mem, so they were re-run per row (420 s, BENCHMARKS.md)
    changed_leads as (

        {{ changed_lead_keys() }}

        union

        select renamed_leads.lead_key from renamed_leads

    ),

{% endif %}

lead_records as (

    select * from {{ ref('int_lead_records_matched_to_leads') }}
    {% if is_incremental() %}
        where lead_key in (select changed_leads.lead_key from changed_leads)
    {% endif %}

),

-- not materialized: read through its index, not copied whole
leads as not materialized (

    select * from {{ ref('int_leads_unioned') }}

),

stage_events_by_lead as (

    select * from {{ ref('int_stage_events_pivoted_to_leads') }}

),

consultant_renames as (

    select * from {{ ref('consultant_renames') }}

),


channel_values as (

    select * from {{ ref('int_source_values_mapped') }}
    where value_kind = 'channel'

),


{%- set record_order = 'lead_records.created_at, lead_records.source_system, lead_records.source_lead_id' %}
{%- set record_order_desc =
    'lead_records.created_at desc, lead_records.source_system desc, lead_records.source_lead_id desc' %}

records_merged as (

    select
        lead_records.lead_key,
        min(leads.assigned_at) as assigned_at,
        {{ first_non_null('leads.consultant', record_order) }} as consultant,
        {{ first_non_null('leads.grade', record_order) }} as grade,
        {{ first_non_null('leads.model_of_interest', record_order_desc) }} as model_of_interest,
        {{ first_non_null('leads.customer_name', record_order) }} as customer_name,
        {{ first_non_null('lead_records.normalized_phone', record_order) }} as normalized_phone,
        {{ first_non_null('lead_records.normalized_email', record_order) }} as normalized_email
    from lead_records
    inner join leads
        on lead_records.lead_record_key = leads.lead_record_key
    group by lead_records.lead_key

),

resolved as (

    select
        lead_records.lead_key,
        lead_records.dealer_code,
        lead_records.source_system,
        lead_records.source_lead_id,
        lead_records.created_at,
        records_merged.assigned_at,
        coalesce(channel_values.canonical_value, 'unknown') as channel,
        coalesce(primary_lead.campaign, campaign_names.campaign) as campaign,
        primary_lead.campaign_id,
        primary_lead.campaign is not null as has_source_campaign,
        case
            when lead_records.has_lead_record then records_merged.consultant
            else stage_events_by_lead.last_event_consultant
        end as consultant,
        records_merged.grade,
        records_merged.model_of_interest,
        records_merged.customer_name,
        records_merged.normalized_phone,
        records_merged.normalized_email,
        not lead_records.has_lead_record as is_inferred_from_events,
        lead_records.lead_record_count
    from lead_records
    left join leads as primary_lead
        on lead_records.lead_record_key = primary_lead.lead_record_key
    left join records_merged
        on lead_records.lead_key = records_merged.lead_key
    left join stage_events_by_lead
        on lead_records.lead_key = stage_events_by_lead.lead_key
    left join channel_values
        on
            primary_lead.source_system = channel_values.source_system
            and primary_lead.channel = channel_values.source_value
    left join campaign_names
        on
            primary_lead.dealer_code = campaign_names.dealer_code
            and channel_values.canonical_value = campaign_names.channel
            and primary_lead.campaign_id = campaign_names.campaign_id
    where lead_records.is_primary_record

),

final as (

    select
        resolved.lead_key,
        resolved.dealer_code,
        resolved.source_system,
        resolved.source_lead_id,
        resolved.created_at,
        resolved.assigned_at,
        resolved.channel,
        resolved.campaign,
        coalesce({{ normalize_person_name('consultant_renames.new_name') }}, resolved.consultant) as consultant,
        resolved.grade,
        resolved.model_of_interest,
        resolved.is_inferred_from_events,
        resolved.lead_record_count,
        resolved.customer_name,
        resolved.normalized_phone,
        resolved.normalized_email,
        resolved.campaign_id,
        resolved.has_source_campaign,
        {{ refreshed_at() }} as refreshed_at
    from resolved
    left join consultant_renames
        on
            resolved.dealer_code = consultant_renames.dealer_code
            and resolved.consultant = {{ normalize_person_name('consultant_renames.old_name') }}

)

select * from final

-- One row per HubSpot engagement (call, meeting, e-mail or note) × associated contact: a follow-up
-- contact with the columns of stg_dealer_export__followups (source_system 'hubspot',
-- source_lead_id = the contact id). occurred_at = hs_timestamp (when the activity happened; else
-- hs_createdate); contact_method = the engagement type (call, meeting, email, note); owner_id =
-- hubspot_owner_id (the consultant, resolved in int_followups_unioned); note = the call / meeting
-- title, e-mail subject or note body; outcome_code = a call's hs_call_disposition as sent (HubSpot's
-- outcome id, e.g. f240bbac-... Connected) or a meeting's hs_meeting_outcome upper-cased (COMPLETED,
-- NO_SHOW, CANCELED, ...), mapped to the follow-up outcome through seed call_outcome_mapping, so a
-- meeting the customer did not come to is an attempt, not a contact. An engagement with
-- several contacts is a follow-up of each; one without contacts is left out.

{%- set engagement_types = [
    ('calls', 'call', "coalesce(payload #>> '{properties,hs_call_title}', '')",
        "nullif(payload #>> '{properties,hs_call_disposition}', '')"),
    ('meetings', 'meeting', "coalesce(payload #>> '{properties,hs_meeting_title}', '')",
        "upper(nullif(btrim(payload #>> '{properties,hs_meeting_outcome}'), ''))"),
    ('emails', 'email', "coalesce(payload #>> '{properties,hs_email_subject}', '')", "null::text"),
    ('notes', 'note', "coalesce(payload #>> '{properties,hs_note_body}', '')", "null::text"),
] %}

with

{% for table, method, note, outcome_code in engagement_types %}
    {{ table }} as (

        select
            _dealer_code as dealer_code,
            account_id as portal_id,
            coalesce(payload ->> 'id', record_id) as engagement_id,
            '{{ method }}'::text as contact_method,
            coalesce(
                (payload #>> '{properties,hs_timestamp}')::timestamptz,
                (payload #>> '{properties,hs_createdate}')::timestamptz
            ) as occurred_at,
            nullif(payload #>> '{properties,hubspot_owner_id}', '') as owner_id,
            nullif(btrim({{ note }}), '') as note,
            {{ outcome_code }} as outcome_code,
            payload #> '{associations,contacts}' as contacts,
            _extracted_at as extracted_at
        from {{ source('hubspot', 'hubspot__' ~ table) }}

    ),

{% endfor %}
engagements as (

    {% for table, _method, _note, _outcome_code in engagement_types %}
        select * from {{ table }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

per_contact as (

    select
        md5(
            engagements.dealer_code
            || '|hubspot|'
            || engagements.engagement_id
            || '|'
            || (contact.value ->> 'toObjectId')
        )
            as followup_key,
        engagements.dealer_code,
        'hubspot'::text as source_system,
        contact.value ->> 'toObjectId' as source_lead_id,
        engagements.occurred_at,
        engagements.contact_method,
        engagements.owner_id,
        engagements.note,
        engagements.outcome_code,
        engagements.engagement_id,
        engagements.portal_id,
        engagements.extracted_at
    from engagements
    cross join
        lateral {{ jsonb_elements_or_none("engagements.contacts") }} as contact
    where
        engagements.occurred_at is not null
        and contact.value ->> 'toObjectId' is not null

),

final as (

    select * from per_contact

)

select * from final

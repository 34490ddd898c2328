-- One row per HubSpot survey response (feedback submission) × associated contact whose survey type
-- measures satisfaction: a satisfaction answer of the contact (source_lead_id = contact id), with
-- the columns of stg_dealer_export__surveys. The scale and kind of each survey type come from
-- seeds/survey_scales.csv (NPS 0-10, CSAT 1-5; both 'purchase'): satisfaction_score on the 0-10
-- scale by macro satisfaction_score. A response of another type (CES, CUSTOM) or without a numeric
-- hs_response_value is no satisfaction answer and is left out. occurred_at =
-- hs_submission_timestamp (else hs_createdate); survey_comment = hs_content.

with

source as (

    select * from {{ source('hubspot', 'hubspot__feedback_submissions') }}

),

survey_scales as (

    select * from {{ ref('survey_scales') }}
    where source = 'hubspot'

),

submissions as (

    select
        _dealer_code as dealer_code,
        account_id as portal_id,
        coalesce(payload ->> 'id', record_id) as submission_id,
        upper(nullif(btrim(payload #>> '{properties,hs_survey_type}'), '')) as survey_type,
        nullif(btrim(payload #>> '{properties,hs_survey_name}'), '') as survey_name,
        case
            when btrim(payload #>> '{properties,hs_response_value}') ~ '^[0-9]+(\.[0-9]+)?$'
                then btrim(payload #>> '{properties,hs_response_value}')::numeric
        end as score,
        coalesce(
            (payload #>> '{properties,hs_submission_timestamp}')::timestamptz,
            (payload #>> '{properties,hs_createdate}')::timestamptz
        ) as occurred_at,
        nullif(btrim(payload #>> '{properties,hs_content}'), '') as survey_comment,
        payload #> '{associations,contacts}' as contacts,
        _extracted_at as extracted_at
    from source

),

per_contact as (

    select
        md5(
            submissions.dealer_code || '|hubspot|' || submissions.submission_id || '|'
            || (contact.value ->> 'toObjectId')
        ) as survey_key,
        submissions.dealer_code,
        'hubspot'::text as source_system,
        contact.value ->> 'toObjectId' as source_lead_id,
        submissions.occurred_at,
        survey_scales.survey_kind,
        submissions.score,
        survey_scales.scale_max,
        {{ satisfaction_score('submissions.score', 'survey_scales.scale_max') }} as satisfaction_score,
        submissions.survey_comment,
        submissions.survey_type,
        submissions.survey_name,
        submissions.submission_id,
        submissions.portal_id,
        submissions.extracted_at
    from submissions
    inner join survey_scales
        on submissions.survey_type = upper(btrim(survey_scales.survey_type))
    cross join
        lateral {{ jsonb_elements_or_none("submissions.contacts") }} as contact
    where
        submissions.score is not null
        and submissions.occurred_at is not null
        and contact.value ->> 'toObjectId' is not null

),

final as (

    select * from per_contact

)

select * from final

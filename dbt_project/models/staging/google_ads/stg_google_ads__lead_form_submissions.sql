-- One row per Google Ads lead form submission (GAQL lead_form_submission_data; the row is
-- {"leadFormSubmissionData": {...}}, key resourceName customers/{cid}/leadFormSubmissionData/{id}):
-- the submission as a lead record with the columns of stg_dealer_export__leads. Answers come from
-- leadFormSubmissionFields [{fieldType, fieldValue}]: FULL_NAME (else FIRST_NAME + LAST_NAME),
-- PHONE_NUMBER, EMAIL, VEHICLE_MODEL. submissionDateTime is 'yyyy-MM-dd HH:mm:ss+hh:mm' in the
-- account time zone. The row carries only the campaign resource name
-- (customers/{cid}/campaigns/{campaign_id}), no campaign name: campaign is null here and
-- int_leads_resolved looks the name up by campaign_id in stg_google_ads__campaign_costs, so leads
-- and spend share one name. A row without submissionDateTime is left out (quarantined upstream).

with

source as (

    select
        *,
        payload -> 'leadFormSubmissionData' as submission
    from {{ source('google_ads', 'google_ads__lead_form_submissions') }}

),

field_answers as (

    {{ lead_form_answers(
        "source.submission -> 'leadFormSubmissionFields'",
        'fieldType',
        "answer.value ->> 'fieldValue'",
        'upper',
    ) }}

),

renamed as (

    select
        source._dealer_code as dealer_code,
        'google_ads'::text as source_system,
        coalesce(source.submission ->> 'resourceName', source.record_id) as source_lead_id,
        (source.submission ->> 'submissionDateTime')::timestamptz as created_at,
        null::timestamptz as assigned_at,
        'google_ads'::text as channel,
        null::text as campaign,
        nullif(split_part(source.submission ->> 'campaign', '/campaigns/', 2), '') as campaign_id,
        {{ lead_form_person_columns(
            'FULL_NAME', 'FIRST_NAME', 'LAST_NAME', 'PHONE_NUMBER', 'EMAIL', 'VEHICLE_MODEL',
        ) }},
        source.account_id as customer_id,
        source.submission ->> 'id' as submission_id,
        source.submission ->> 'adGroup' as ad_group,
        source.submission ->> 'gclid' as gclid,
        source.payload as source_payload,
        source.record_updated_at,
        source._batch_id as batch_id,
        source._extracted_at as extracted_at
    from source
    {{ lead_form_answers_join() }}
    where source.submission ->> 'submissionDateTime' is not null

),

final as (

    select * from renamed

)

select * from final

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

    select
        source.account_id,
        source.record_id,
        jsonb_object_agg(
            upper(btrim(answer.value ->> 'fieldType')),
            answer.value ->> 'fieldValue'
        ) filter (where answer.value ->> 'fieldType' is not null) as answers
    from source
    cross join
        lateral jsonb_array_elements(
            case
                when jsonb_typeof(source.submission -> 'leadFormSubmissionFields') = 'array'
                    then source.submission -> 'leadFormSubmissionFields'
                else '[]'::jsonb
            end
        ) as answer
    group by
        source.account_id,
        source.record_id

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
        null::text as consultant,
        null::text as grade,
        coalesce(
            nullif(btrim(field_answers.answers ->> 'FULL_NAME'), ''),
            nullif(
                btrim(
                    concat_ws(
                        ' ',
                        nullif(btrim(field_answers.answers ->> 'FIRST_NAME'), ''),
                        nullif(btrim(field_answers.answers ->> 'LAST_NAME'), '')
                    )
                ),
                ''
            )
        ) as customer_name,
        nullif(btrim(field_answers.answers ->> 'PHONE_NUMBER'), '') as phone,
        nullif(btrim(field_answers.answers ->> 'EMAIL'), '') as email,
        nullif(btrim(field_answers.answers ->> 'VEHICLE_MODEL'), '') as model_of_interest,
        source.account_id as customer_id,
        source.submission ->> 'id' as submission_id,
        source.submission ->> 'adGroup' as ad_group,
        source.submission ->> 'gclid' as gclid,
        source.payload as source_payload,
        source.record_updated_at,
        source._batch_id as batch_id,
        source._extracted_at as extracted_at
    from source
    left join field_answers
        on
            source.account_id = field_answers.account_id
            and source.record_id = field_answers.record_id
    where source.submission ->> 'submissionDateTime' is not null

),

final as (

    select * from renamed

)

select * from final

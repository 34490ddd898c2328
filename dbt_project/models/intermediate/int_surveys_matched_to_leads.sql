-- One row per satisfaction answer (survey_key) of a resolved lead: every survey answer of the
-- dealer export, with the lead_key of the answered lead's resolved lead. An answer naming a lead id
-- that has neither a lead row nor stage events matches no lead and is left out (as follow-ups).

with

surveys as (

    select * from {{ ref('stg_dealer_export__surveys') }}

),

lead_records as (

    select * from {{ ref('int_lead_records_matched_to_leads') }}

),

final as (

    select
        surveys.survey_key,
        lead_records.lead_key,
        surveys.dealer_code,
        surveys.occurred_at,
        surveys.survey_kind,
        surveys.satisfaction_score
    from surveys
    inner join lead_records
        on
            {{ lead_key('surveys.dealer_code', 'surveys.source_system', 'surveys.source_lead_id') }}
            = lead_records.lead_record_key

)

select * from final

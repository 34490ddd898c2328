-- One row per satisfaction answer (survey_key) of a resolved lead: every survey answer of the
-- dealer export (surveys*.csv) and every HubSpot survey response (NPS, CSAT) of a contact
-- (stg_hubspot__feedback_submissions), with the lead_key of the answered lead's resolved lead. An
-- answer naming a lead id that has neither a lead row nor stage events matches no lead and is left
-- out (as follow-ups). satisfaction_score is on the 0-10 scale in every source (macro
-- satisfaction_score). Another source is one more import CTE unioned into `surveys`.

{%- set survey_columns = [
    'survey_key',
    'dealer_code',
    'source_system',
    'source_lead_id',
    'occurred_at',
    'survey_kind',
    'satisfaction_score',
] %}

with

dealer_export_surveys as (

    select * from {{ ref('stg_dealer_export__surveys') }}

),

hubspot_surveys as (

    select * from {{ ref('stg_hubspot__feedback_submissions') }}

),

lead_records as (

    select * from {{ ref('int_lead_records_matched_to_leads') }}

),

surveys as (

    {{ union_ctes(['dealer_export_surveys', 'hubspot_surveys'], survey_columns) }}

),

final as (

    select
        surveys.survey_key,
        lead_records.lead_key,
        surveys.dealer_code,
        surveys.source_system,
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

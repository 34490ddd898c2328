{{ config(severity='warn', store_failures=true) }}
-- Data-quality result (warn, never blocks): every lead won before its recorded creation (beyond the
-- dealer's clock_skew_minutes). Such a lead keeps its row in fct_leads, flagged
-- anomaly_reason = 'won_before_created' (has_cycle_anomaly = true) with every duration NULL, so it is
-- counted but left out of the cycle figures of mart_sales_cycle (leads_with_cycle_anomaly); the
-- warning lists the rows, and keeps them in dbt_test__audit.assert_no_leads_won_before_created, so
-- the dealer's CRM data can be corrected.

select
    lead_key,
    dealer_code,
    source_lead_id,
    created_at,
    won_at,
    anomaly_reason
from {{ ref('fct_leads') }}
where anomaly_reason = 'won_before_created'

{{ config(severity='warn', store_failures=true) }}
-- Data-quality result (warn, never blocks): every lead won before its recorded creation. Such a lead
-- keeps its row and its negative cycle_days in fct_leads (has_cycle_anomaly = true) and is left out
-- of the cycle figures of mart_sales_cycle (counted in leads_with_cycle_anomaly); the warning lists
-- the rows, and keeps them in dbt_test__audit.assert_no_leads_won_before_created, so the dealer's
-- CRM data can be corrected.

select
    lead_key,
    dealer_code,
    source_lead_id,
    created_at,
    won_at,
    cycle_days
from {{ ref('fct_leads') }}
where has_cycle_anomaly

{#-
  The columns a Salesforce activity record (Task, Event) shares, from a relation aliased `source`:
  its key (md5 of dealer | 'salesforce' | Id) named `key_name`, dealer_code, source_system, and what
  it is about: source_lead_id = WhoId when it is a Lead (key prefix 00Q), opportunity_id = WhatId
  when it is an Opportunity (prefix 006; int_* models attribute it to the lead converted into it).
-#}
{% macro salesforce_record_links(key_name) -%}
    md5(source._dealer_code || '|salesforce|' || coalesce(source.payload ->> 'Id', source.record_id))
        as {{ key_name }},
    source._dealer_code as dealer_code,
    'salesforce'::text as source_system,
    case
        when source.payload ->> 'WhoId' like '00Q%' then source.payload ->> 'WhoId'
    end as source_lead_id,
    case
        when source.payload ->> 'WhatId' like '006%' then source.payload ->> 'WhatId'
    end as opportunity_id
{%- endmacro %}

{{ config(**lead_rows_incremental_config('lead_grade_key', 'grade_changed_lead_keys')) }}
-- depends_on: {{ ref('int_lead_records_matched_to_leads') }} (macro delete_changed_leads)
-- depends_on: {{ ref('int_followups_unioned') }} (macro followup_changed_lead_keys)
-- One row per resolved lead × grade period (lead_grade_key): the lead's grade history as a slowly
-- changing dimension of type 2, so every contact is judged by the grade valid AT ITS TIME (DESIGN.md
-- §2), not by the lead's latest grade. A period is [valid_from, valid_to); valid_to is NULL for the
-- current grade (is_current).
--
-- Grade changes, in time order:
--   lead       the grade of the lead record (int_leads_resolved.grade), valid from created_at;
--   followup   a follow-up's `grade` (the grade after that contact), valid from its occurred_at.
-- A CRM's own grade / rating history is one more import CTE in `grade_changes` (source name in
-- grade_source) once it is staged. Changes at the same moment: the follow-up wins over the lead
-- record. Consecutive changes to the same grade are one period. Grades are upper case as given; only
-- A-D have a cadence (is_graded), any other value counts as ungraded for the follow-up rules.
-- refreshed_at: when the pipeline last computed the lead's grade history.
--
-- Incremental by lead (macro lead_rows_incremental_config): a run recomputes the whole history of
-- the leads whose resolved lead or one of whose follow-ups changed since this table's watermark
-- (macro grade_changed_lead_keys), and deletes the leads that no longer exist.

with

{% if is_incremental() %}

    changed_leads as (

        {{ grade_changed_lead_keys() }}

    ),

{% endif %}

leads as (

    select * from {{ ref('int_leads_resolved') }}
    {%- if is_incremental() %}
        where lead_key in (select changed_leads.lead_key from changed_leads)
    {%- endif %}

),

followups as (

    select * from {{ ref('int_followups_matched_to_leads') }}
    {%- if is_incremental() %}
        where lead_key in (select changed_leads.lead_key from changed_leads)
    {%- endif %}

),

grade_changes as (

    select
        lead_key,
        created_at as changed_at,
        upper(btrim(grade)) as grade,
        'lead'::text as grade_source,
        0 as source_order
    from leads
    where nullif(btrim(grade), '') is not null

    union all

    select
        lead_key,
        occurred_at as changed_at,
        grade,
        'followup'::text as grade_source,
        1 as source_order
    from followups
    where grade is not null

),

-- at one moment only the last change counts
sequenced as (

    select
        *,
        lead(changed_at) over (
            partition by lead_key order by changed_at, source_order, grade
        ) as next_changed_at
    from grade_changes

),

changes as (

    select *
    from sequenced
    where
        next_changed_at is null or next_changed_at > changed_at

),

periods as (

    select
        lead_key,
        grade,
        grade_source,
        changed_at,
        lag(grade) over (partition by lead_key order by changed_at) as grade_before
    from changes

),

starts as (

    select *
    from periods
    where grade_before is null or grade_before != grade

),

final as (

    select
        md5(lead_key || '|' || to_char(changed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'))
            as lead_grade_key,
        lead_key,
        grade,
        grade in ('A', 'B', 'C', 'D') as is_graded,
        grade_source,
        changed_at as valid_from,
        lead(changed_at) over (partition by lead_key order by changed_at) as valid_to,
        lead(changed_at) over (partition by lead_key order by changed_at) is null as is_current,
        {{ refreshed_at() }} as refreshed_at
    from starts

)

select * from final

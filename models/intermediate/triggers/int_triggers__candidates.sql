-- Every trigger a person qualifies for on the as-of date (macros/as_of.sql), before consent and
-- contact-frequency tolerance are applied (fct_customer_triggers does that). One row per
-- customer_key x trigger_type (the strongest piece of evidence when several qualify), with a
-- human-readable reason naming it. Each trigger type has its own model, with its rule in its header
-- (windows and thresholds are dbt vars, see dbt_project.yml):
--   retain_valuable_at_risk  int_triggers__retain_valuable_at_risk  (priority 75 or 70)
--   follow_up_inquiry        int_triggers__follow_up_inquiry        (60)
--   cross_sell               int_triggers__cross_sell               (40)
--   service_recovery         int_triggers__service_recovery         (90 dispute, 85 complaint, 80 post)
-- Priority: higher = act first.
with as_of as (
    {{- as_of(ref('fct_orders')) }}
),

candidates as (
    select customer_key, trigger_type, priority, category, brand, evidence_type, evidence_id, reason
    from {{ ref('int_triggers__retain_valuable_at_risk') }}
    union all
    select customer_key, trigger_type, priority, category, brand, evidence_type, evidence_id, reason
    from {{ ref('int_triggers__follow_up_inquiry') }}
    union all
    select customer_key, trigger_type, priority, category, brand, evidence_type, evidence_id, reason
    from {{ ref('int_triggers__cross_sell') }}
    union all
    select customer_key, trigger_type, priority, category, brand, evidence_type, evidence_id, reason
    from {{ ref('int_triggers__service_recovery') }}
)

select
    as_of.as_of_date as trigger_date,
    candidates.customer_key,
    candidates.trigger_type,
    cast(candidates.priority as integer) as priority,
    candidates.category,
    candidates.brand,
    candidates.evidence_type,
    candidates.evidence_id,
    candidates.reason
from candidates
cross join as_of

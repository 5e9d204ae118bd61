-- One row per account (customer_id) with the person it belongs to: customer_key = the smallest
-- customer_id of its connected component in the match graph (int_identity__matches).
-- Components are found by label propagation unrolled a fixed number of times
-- (var('identity_propagation_rounds'), default 8): each round every account takes the smallest
-- label among itself and its direct neighbours. Plain joins and group-bys only, so it runs on any
-- adapter (a recursive CTE over a cyclic graph is not portable to Spark). The singular test
-- tests/dbt/identity_labels_converged.sql fails the build if a component needed more rounds.
-- One round is macro identity_label_round (macros/portability.sql): Spark inlines a CTE at every
-- reference, so a round that read the previous one twice made a plan of 2^rounds copies.
{%- set rounds = var('identity_propagation_rounds', 8) %}

with accounts as (
    select customer_id from {{ ref('stg_shop__customers') }}
    union
    select customer_id from {{ ref('stg_shop__customer_versions') }}
    union
    -- Guest orders (no customer_id) are no account: no person is invented for them.
    select customer_id from {{ ref('stg_shop__orders') }} where customer_id is not null
    union
    select customer_id from {{ ref('stg_service__tickets') }} where customer_id is not null
),

edges as (
    select customer_id_a as from_id, customer_id_b as to_id from {{ ref('int_identity__matches') }}
    union
    select customer_id_b as from_id, customer_id_a as to_id from {{ ref('int_identity__matches') }}
),

labels_0 as (
    select customer_id, customer_id as label from accounts
),
{%- for i in range(1, rounds + 1) %}

labels_{{ i }} as (
    {{ identity_label_round('labels_' ~ (i - 1), 'edges') }}
),
{%- endfor %}

evidence_times as (
    select customer_id, max(last_seen_at) as evidence_updated_at
    from {{ ref('int_identity__contact_points') }}
    group by customer_id
),

keyed as (
    select
        labels.customer_id,
        labels.label as customer_key,
        evidence_times.evidence_updated_at
    from labels_{{ rounds }} as labels
    left join evidence_times on labels.customer_id = evidence_times.customer_id
)

select
    customer_id,
    customer_key,
    count(*) over (partition by customer_key) as account_count,
    -- Latest evidence anywhere in the person's cluster: incremental facts reprocess an order when
    -- this moves (a merge can change the key of old orders).
    max(evidence_updated_at) over (partition by customer_key) as identity_updated_at
from keyed

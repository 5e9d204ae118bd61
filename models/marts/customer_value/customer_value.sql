-- One row per person (customer_key: accounts merged by identity resolution) known from profiles
-- or orders: how much they bought, when, and their RFM scores. Only credited orders count:
-- accidental transactions (fct_orders.credited_customer_key null) are nobody's value. Name, city
-- and signup come from the profile of the key account (the cluster's smallest customer_id).
-- R, F and M scores (1-5) follow the method the seed rfm_scoring sets per metric (macros/rfm.sql):
-- shipped, frequency by fixed bins (1, 2, 3-4, 5-9, 10+ orders) and recency and monetary by quintile
-- of their distinct values, so equal values share a score and every score stays reachable however
-- many customers tie (cume_dist gave every one-time buyer F = 4 once more than 20 % ordered once).
-- Predicted value and churn risk come from the CLV model (BG/NBD + Gamma-Gamma) that the pipeline's
-- clv:score step fits in TypeScript and writes to ml.clv_predictions just before this model builds;
-- they are null for customers without a valid sale, and for everyone before any scoring ran.
-- The index serves the API's customer 360 point lookups (see macros/indexes.sql).
{{ config(indexes=[{'columns': ['customer_key']}]) }}
{%- set churn_high_below = var('churn_high_below_purchase_probability', 0.1) %}
{%- set churn_medium_below = var('churn_medium_below_purchase_probability', 0.25) %}
{%- set band_floors = var('predicted_value_band_floors', [0, 500, 1000, 2000, 5000, 10000, 20000, 50000]) | sort | reverse %}

with profiles as (
    select customer_id as customer_key, full_name, city, signup_at from {{ ref('stg_shop__customers') }}
),

-- Used by as_of('orders') when var('as_of_date') is unset; the linter's var() stand-in takes the other branch.
orders as ( -- noqa: ST03
    select * from {{ ref('fct_orders') }}
),

known_customers as (
    select distinct customer_key from {{ ref('int_identity__customer_keys') }}
),

as_of as (
    {{- as_of('orders') }}
),

sales_per_customer as (
    select * from {{ ref('int_customers__sales') }}
),

base as (
    select
        known_customers.customer_key,
        profiles.full_name as customer_name,
        profiles.city,
        profiles.signup_at,
        sales.first_order_at,
        sales.last_order_at,
        coalesce(sales.order_count, 0) as order_count,
        coalesce(sales.revenue, 0) as revenue,
        case when sales.order_count > 0 then {{ money_per('sales.revenue', 'sales.order_count') }} end as avg_order_value,
        case
            when sales.last_order_at is not null
                then {{ dbt.datediff(shop_date('sales.last_order_at'), 'as_of.as_of_date', 'day') }}
        end as recency_days
    from known_customers
    left join profiles on known_customers.customer_key = profiles.customer_key
    left join sales_per_customer as sales on known_customers.customer_key = sales.customer_key
    cross join as_of
),

-- One row per customer with a valid sale: the population the scores are relative to.
buyers as (
    select customer_key, recency_days, order_count, revenue from base
    where order_count > 0
),

scoring as (
    select * from {{ ref('rfm_scoring') }}
),

recency_scores as (
    {{- rfm_metric_score('buyers', 'scoring', 'recency', 'recency_days', higher_is_better=false) }}
),

frequency_scores as (
    {{- rfm_metric_score('buyers', 'scoring', 'frequency', 'order_count') }}
),

monetary_scores as (
    {{- rfm_metric_score('buyers', 'scoring', 'monetary', 'revenue') }}
),

scored as (
    select
        base.*,
        recency_scores.score as r_score,
        frequency_scores.score as f_score,
        monetary_scores.score as m_score
    from base
    left join recency_scores on base.customer_key = recency_scores.customer_key
    left join frequency_scores on base.customer_key = frequency_scores.customer_key
    left join monetary_scores on base.customer_key = monetary_scores.customer_key
),

predictions as (
    select * from {{ ref('stg_ml__clv_predictions') }}
),

-- Named segment: the matching rule of the analyst-editable seed with the lowest priority number.
rfm_segments as (
    select
        scored.customer_key,
        rules.segment_name as rfm_segment,
        row_number() over (partition by scored.customer_key order by rules.priority) as rule_rank
    from scored
    inner join {{ ref('rfm_segment_rules') }} as rules
        on scored.r_score between rules.r_min and rules.r_max
        and scored.f_score between rules.f_min and rules.f_max
        and scored.m_score between rules.m_min and rules.m_max
)

select
    scored.customer_key,
    customer_name,
    city,
    signup_at,
    first_order_at,
    last_order_at,
    cast(order_count as integer) as order_count,
    cast(revenue as decimal(18, 2)) as revenue,
    cast(round(avg_order_value, 2) as decimal(18, 2)) as avg_order_value,
    cast(recency_days as integer) as recency_days,
    cast(r_score as integer) as r_score,
    cast(f_score as integer) as f_score,
    cast(m_score as integer) as m_score,
    case when r_score is not null then {{ dbt.concat([
        dbt.cast('cast(r_score as integer)', api.Column.translate_type('string')),
        dbt.cast('cast(f_score as integer)', api.Column.translate_type('string')),
        dbt.cast('cast(m_score as integer)', api.Column.translate_type('string'))
    ]) }} end as rfm_score,
    cast(r_score + f_score + m_score as integer) as rfm_total,
    rfm_segments.rfm_segment,
    cast(predictions.predicted_orders_90d as double) as predicted_orders_90d,
    cast(predictions.predicted_orders_365d as double) as predicted_orders_365d,
    cast(round(predictions.predicted_value_90d, 2) as decimal(18, 2)) as predicted_value_90d,
    cast(round(predictions.predicted_value_365d, 2) as decimal(18, 2)) as predicted_value_365d,
    -- The band's lower edge (var predicted_value_band_floors): few values, so a rollup holds them.
    case
        {%- for floor in band_floors %}
        when round(predictions.predicted_value_365d, 2) >= {{ floor }} then cast({{ floor }} as decimal(18, 2))
        {%- endfor %}
    end as predicted_value_365d_band,
    cast(predictions.probability_alive as double) as probability_alive,
    cast(predictions.probability_purchase_90d as double) as probability_purchase_90d,
    -- Churn risk: the chance of NOT buying in the next 90 days (docs/concepts.md, churn risk).
    cast(1 - predictions.probability_purchase_90d as double) as churn_risk,
    case
        when predictions.probability_purchase_90d is null then null
        when predictions.probability_purchase_90d < {{ churn_high_below }} then 'high'
        when predictions.probability_purchase_90d < {{ churn_medium_below }} then 'medium'
        else 'low'
    end as churn_risk_band,
    cast(predictions.expected_next_order_at as timestamp) as expected_next_order_at
from scored
left join rfm_segments
    on scored.customer_key = rfm_segments.customer_key
    and rfm_segments.rule_rank = 1
-- Only buyers carry predictions: a stale row for a person whose sales were since cancelled is ignored.
-- One equality on an expression (a non-buyer's key is null and matches nothing), so engines plan a
-- hash join: an extra `and scored.order_count > 0` in a left join made DuckDB loop (14 s at 100k people).
left join predictions
    on case when scored.order_count > 0 then scored.customer_key end = predictions.customer_key

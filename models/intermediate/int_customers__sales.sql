-- Credited sales per person: the one definition of a customer's order count, net revenue and
-- first/last order, read by dim_customers and customer_value. Only valid sales credited to a person
-- count (fct_orders.credited_customer_key null marks accidental orders, nobody's value). One row per
-- person with at least one such sale; persons without one are absent (the marts coalesce to 0).
select
    credited_customer_key as customer_key,
    count(*) as order_count,
    sum(net_revenue) as revenue,
    min(ordered_at) as first_order_at,
    max(ordered_at) as last_order_at
from {{ ref('fct_orders') }}
where is_valid_sale and credited_customer_key is not null
group by credited_customer_key

-- The credited valid sales up to the as-of moment (macros/as_of.sql), the purchase history every
-- trigger rule reads: one row per order credited to a person (fct_orders.credited_customer_key;
-- accidental orders count for nobody).
with orders as (
    select * from {{ ref('fct_orders') }}
),

as_of as (
    {{- as_of('orders') }}
)

select orders.order_id, orders.credited_customer_key as customer_key, orders.ordered_at
from orders
cross join as_of
where orders.is_valid_sale
    and orders.credited_customer_key is not null
    and orders.ordered_at <= as_of.as_of_at

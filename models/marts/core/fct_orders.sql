-- One row per order with its revenue as the business counts it: cancelled and refunded orders
-- are not sales and contribute no revenue. Every revenue figure downstream sums net_revenue.
with orders as (
    select * from {{ ref('stg_shop__orders') }}
),

item_totals as (
    select * from {{ ref('int_orders__item_totals') }}
),

classified as (
    select
        orders.order_id,
        orders.customer_id,
        orders.ordered_at,
        orders.order_status,
        orders.order_status not in ('cancelled', 'refunded') as is_valid_sale,
        coalesce(item_totals.item_count, 0) as item_count,
        coalesce(item_totals.gross_amount, 0) as gross_amount,
        orders.discount_amount,
        orders.currency
    from orders
    left join item_totals on orders.order_id = item_totals.order_id
)

select
    order_id,
    customer_id,
    ordered_at,
    order_status,
    is_valid_sale,
    cast(item_count as integer) as item_count,
    cast(gross_amount as decimal(18, 2)) as gross_amount,
    cast(discount_amount as decimal(18, 2)) as discount_amount,
    cast(case when is_valid_sale then gross_amount - discount_amount else 0 end as decimal(18, 2)) as net_revenue,
    currency
from classified

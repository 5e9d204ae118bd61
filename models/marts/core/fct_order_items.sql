-- One row per order line, with the order's net revenue allocated to lines pro rata to their gross
-- amount (discounts and refunds spread by line value); 0 when the order is not a valid sale.
-- Incremental on the order's watermark (fct_orders.source_updated_at) with the same lookback.
{{ config(
    materialized='incremental',
    unique_key=['order_id', 'line_no'],
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

with items as (
    select * from {{ ref('stg_shop__order_items') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
    {% if is_incremental() %}
    where {{ incremental_window('source_updated_at', 'ordered_at') }}
    {% endif %}
)

select
    items.order_id,
    items.line_no,
    orders.customer_id,
    orders.customer_key,
    orders.credited_customer_key,
    orders.is_accidental,
    orders.ordered_at,
    orders.order_date,
    items.sku,
    items.product_name,
    items.category,
    items.brand,
    cast(items.quantity as integer) as quantity,
    cast(items.unit_price as decimal(18, 2)) as unit_price,
    cast(items.line_amount as decimal(18, 2)) as line_amount,
    cast(
        case
            when not orders.is_valid_sale or orders.gross_amount = 0 then 0
            else orders.net_revenue * items.line_amount / orders.gross_amount
        end as decimal(18, 2)
    ) as net_line_revenue,
    orders.ship_city,
    orders.source_updated_at
from items
inner join orders on items.order_id = orders.order_id

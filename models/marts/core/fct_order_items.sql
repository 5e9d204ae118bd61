-- One row per order line, with the order's net revenue allocated to lines pro rata to their gross
-- amount (discounts and refunds spread by line value); 0 when the order is not a valid sale and on
-- lines that are not product lines (shipping, fee, discount, adjustment: kept, never revenue).
-- Incremental on the order's watermarks: the lines of an order are rebuilt when its
-- fct_orders.source_updated_at is within the lookback of the latest one built here, when its
-- source_loaded_at (header, lines, refunds) is later than the latest one built here, or during a
-- backfill when it was ordered in the window.
{{ config(
    materialized='incremental',
    unique_key=['order_id', 'line_no'],
    incremental_strategy=crm_incremental_strategy(),
    on_schema_change='fail'
) }}

with items as (
    select * from {{ ref('stg_shop__order_items') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
    {% if is_incremental() %}
    where
        {{ incremental_window('source_updated_at', 'ordered_at') }}
        or source_loaded_at > {{ incremental_load_cutoff('source_loaded_at') }}
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
    cast(items.unit_price as decimal(18, 4)) as unit_price,
    cast(items.line_amount as decimal(18, 4)) as line_amount,
    items.line_type,
    cast(
        case
            when not orders.is_valid_sale or not items.is_product_line or orders.gross_amount = 0 then 0
            else {{ money_ratio('orders.net_revenue * items.line_amount', 'orders.gross_amount') }}
        end as decimal(18, 2)
    ) as net_line_revenue,
    orders.ship_city,
    orders.source_updated_at,
    orders.source_loaded_at
from items
inner join orders on items.order_id = orders.order_id

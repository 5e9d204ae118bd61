with source as (
    select * from {{ source('shop', 'order_items') }}
)

select
    order_id,
    line_no,
    sku,
    product_name,
    category,
    brand,
    quantity,
    cast(unit_price as decimal(18, 4)) as unit_price,
    -- Exact: a 4-decimal price times a whole quantity has at most 4 decimals. Money is rounded to
    -- cents only where lines are summed into an order total (int_orders__item_totals).
    cast(quantity * unit_price as decimal(18, 4)) as line_amount,
    -- Only product lines are sales; shipping, fee, discount and adjustment lines are kept and
    -- counted but left out of revenue and item counts (int_orders__item_totals). Empty: product.
    coalesce(nullif(line_type, ''), 'product') as line_type,
    coalesce(nullif(line_type, ''), 'product') = 'product' as is_product_line,
    -- When the loader last inserted or changed the line (raw lineage): lines carry no business
    -- timestamp, so this is what tells a changed line.
    {{ utc_timestamp('_loaded_at') }} as loaded_at
from source

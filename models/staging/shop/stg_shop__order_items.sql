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
    unit_price,
    cast(quantity * unit_price as decimal(18, 2)) as line_amount,
    -- When the loader last inserted or changed the line (raw lineage): lines carry no business
    -- timestamp, so this is what tells a changed line.
    {{ utc_timestamp('_loaded_at') }} as loaded_at
from source

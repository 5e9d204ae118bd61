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
    cast(quantity * unit_price as decimal(18, 2)) as line_amount
from source

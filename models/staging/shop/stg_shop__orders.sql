with source as (
    select * from {{ source('shop', 'orders') }}
)

select
    order_id,
    customer_id,
    cast(ordered_at as timestamp) as ordered_at,
    status as order_status,
    currency,
    discount_amount,
    cast(updated_at as timestamp) as updated_at,
    ship_name,
    ship_phone,
    ship_city,
    ship_address
from source

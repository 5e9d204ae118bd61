with source as (
    select * from {{ source('shop', 'orders') }}
)

select
    order_id,
    -- Null for a guest checkout (no account; an empty or blank id in the export is a guest too).
    nullif(trim(customer_id), '') as customer_id,
    nullif(trim(customer_id), '') is null as is_guest_order,
    {{ utc_timestamp('ordered_at') }} as ordered_at,
    status as order_status,
    currency,
    discount_amount,
    {{ utc_timestamp('updated_at') }} as updated_at,
    ship_name,
    ship_phone,
    ship_city,
    ship_address,
    -- When the loader last inserted or changed the row (raw lineage): the load-time watermark.
    {{ utc_timestamp('_loaded_at') }} as loaded_at
from source

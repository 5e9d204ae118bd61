with source as (
    select * from {{ source('shop', 'order_payments') }}
)

select
    payment_id,
    order_id,
    method as payment_method,
    cast(amount as decimal(18, 2)) as amount,
    status as payment_status,
    cast(paid_at as timestamp) as paid_at,
    cast(updated_at as timestamp) as updated_at
from source

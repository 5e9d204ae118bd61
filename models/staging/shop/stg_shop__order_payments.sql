with source as (
    select * from {{ source('shop', 'order_payments') }}
)

select
    payment_id,
    order_id,
    method as payment_method,
    cast(amount as decimal(18, 2)) as amount,
    status as payment_status,
    {{ utc_timestamp('paid_at') }} as paid_at,
    {{ utc_timestamp('updated_at') }} as updated_at
from source

with source as (
    select * from {{ source('shop', 'order_cancellations') }}
)

select
    order_id,
    cast(cancelled_at as timestamp) as cancelled_at,
    cancelled_by,
    reason as cancellation_reason,
    cast(updated_at as timestamp) as updated_at
from source

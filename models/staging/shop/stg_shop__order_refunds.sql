with source as (
    select * from {{ source('shop', 'order_refunds') }}
)

select
    refund_id,
    order_id,
    cast(amount as decimal(18, 2)) as amount,
    reason as refund_reason,
    status as refund_status,
    -- Only approved or paid refunds take money back; requested and rejected ones do not.
    status in ('approved', 'paid') as is_effective,
    cast(requested_at as timestamp) as requested_at,
    cast(updated_at as timestamp) as updated_at
from source

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
    {{ utc_timestamp('requested_at') }} as requested_at,
    {{ utc_timestamp('updated_at') }} as updated_at,
    {{ utc_timestamp('_loaded_at') }} as loaded_at
from source

with source as (
    select * from {{ source('shop', 'order_cancellations') }}
)

select
    order_id,
    {{ utc_timestamp('cancelled_at') }} as cancelled_at,
    cancelled_by,
    reason as cancellation_reason,
    {{ utc_timestamp('updated_at') }} as updated_at,
    {{ utc_timestamp('_loaded_at') }} as loaded_at
from source

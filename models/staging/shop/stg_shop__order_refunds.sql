-- One row per refund or credit note. Most name the order they refund; a credit note may name none
-- (order_id null: an export whose returns are invoices of their own), and then its own customer
-- and currency. refunded_at is when the money moved back: the source's refunded_at, else, for an
-- effective refund from a source that does not state it, its updated_at (the last change of an
-- approved/paid refund is when it was approved or paid). Not effective: null (no money moved).
with source as (
    select * from {{ source('shop', 'order_refunds') }}
)

select
    refund_id,
    nullif(trim(order_id), '') as order_id,
    nullif(trim(customer_id), '') as customer_id,
    line_no as order_line_no,
    nullif(trim(sku), '') as sku,
    cast(amount as decimal(18, 2)) as amount,
    nullif(currency, '') as currency,
    reason as refund_reason,
    status as refund_status,
    -- Only approved or paid refunds take money back; requested and rejected ones do not.
    status in ('approved', 'paid') as is_effective,
    {{ utc_timestamp('requested_at') }} as requested_at,
    case
        when status in ('approved', 'paid') then coalesce({{ utc_timestamp('refunded_at') }}, {{ utc_timestamp('updated_at') }})
    end as refunded_at,
    source.refunded_at is not null as has_stated_refund_date,
    {{ utc_timestamp('updated_at') }} as updated_at,
    {{ utc_timestamp('_loaded_at') }} as loaded_at
from source

-- Money movements after the order: effective refunds (approved or paid) and cancellation, one row
-- per order that has either, with the latest change time and the latest load time (both drive
-- incremental reprocessing: money_updated_at within the lookback, money_loaded_at since the last build).
with refunds as (
    select
        order_id,
        sum(case when is_effective then amount else 0 end) as refunded_amount,
        max(updated_at) as refunds_updated_at,
        max(loaded_at) as refunds_loaded_at
    from {{ ref('stg_shop__order_refunds') }}
    -- Credit notes that name no order are no order's money (fct_order_refunds books them).
    where order_id is not null
    group by order_id
),

cancellations as (
    select order_id, cancelled_at, updated_at as cancellation_updated_at, loaded_at as cancellation_loaded_at
    from {{ ref('stg_shop__order_cancellations') }}
),

order_ids as (
    select order_id from refunds
    union
    select order_id from cancellations
)

select
    order_ids.order_id,
    coalesce(refunds.refunded_amount, 0) as refunded_amount,
    cancellations.cancelled_at,
    cancellations.order_id is not null as has_cancellation,
    case
        when refunds.refunds_updated_at is null then cancellations.cancellation_updated_at
        when cancellations.cancellation_updated_at is null then refunds.refunds_updated_at
        when refunds.refunds_updated_at > cancellations.cancellation_updated_at then refunds.refunds_updated_at
        else cancellations.cancellation_updated_at
    end as money_updated_at,
    case
        when refunds.refunds_loaded_at is null then cancellations.cancellation_loaded_at
        when cancellations.cancellation_loaded_at is null then refunds.refunds_loaded_at
        when refunds.refunds_loaded_at > cancellations.cancellation_loaded_at then refunds.refunds_loaded_at
        else cancellations.cancellation_loaded_at
    end as money_loaded_at
from order_ids
left join refunds on order_ids.order_id = refunds.order_id
left join cancellations on order_ids.order_id = cancellations.order_id

-- The parts of the complaint, return and dispute rates per thousand valid orders, by shop day.
-- Numerator: tickets of that category OPENED that day (any channel); denominator: valid sales
-- (fct_orders.is_valid_sale) PLACED that day. Service channels have no orders of their own, so these
-- rates exist at day level only (not per channel): a per-channel "rate" would divide by orders that
-- were not that channel's. The rates themselves are measures of the service_rates_daily cube
-- (1000 * sum(tickets) / sum(valid_orders) over any period, never a mean of daily rates); no rate is
-- stored here. One row per shop day with a valid order, a ticket opened or a ticket finally resolved
-- (so every day of fct_service_quality_daily is here too).
with orders_daily as (
    select order_date as day, count(*) as valid_orders
    from {{ ref('fct_orders') }}
    where is_valid_sale and order_date is not null
    group by order_date
),

tickets_daily as (
    select
        opened_date as day,
        count(*) as tickets,
        sum(case when category = 'complaint' then 1 else 0 end) as complaint_tickets,
        sum(case when category = 'return' then 1 else 0 end) as return_tickets,
        sum(case when category = 'dispute' then 1 else 0 end) as dispute_tickets
    from {{ ref('fct_service_tickets') }}
    where opened_date is not null
    group by opened_date
),

resolution_days as (
    select distinct {{ shop_date('resolved_at') }} as day
    from {{ ref('fct_service_tickets') }}
    where resolved_at is not null
),

days as (
    select day from orders_daily
    union
    select day from tickets_daily
    union
    select day from resolution_days
),

joined as (
    select
        days.day,
        coalesce(orders_daily.valid_orders, 0) as valid_orders,
        coalesce(tickets_daily.tickets, 0) as tickets,
        coalesce(tickets_daily.complaint_tickets, 0) as complaint_tickets,
        coalesce(tickets_daily.return_tickets, 0) as return_tickets,
        coalesce(tickets_daily.dispute_tickets, 0) as dispute_tickets
    from days
    left join orders_daily on days.day = orders_daily.day
    left join tickets_daily on days.day = tickets_daily.day
)

select
    day,
    cast(valid_orders as integer) as valid_orders,
    cast(tickets as integer) as tickets,
    cast(complaint_tickets as integer) as complaint_tickets,
    cast(return_tickets as integer) as return_tickets,
    cast(dispute_tickets as integer) as dispute_tickets
from joined

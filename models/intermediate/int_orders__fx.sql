-- The exchange rate of each order to the reporting currency (var('reporting_currency'), default
-- CNY): the seeds/fx_rates.csv rate whose validity covers the order's shop-day order date, 1 when the
-- order is in the reporting currency, null when the seed has no rate for it (has_fx_rate = false:
-- flagged by a warning test and left out of reporting-currency revenue, never summed as if it were
-- in the reporting currency). A rate is valid from its valid_from to the day before the currency's
-- next valid_from.
{%- set reporting_currency = var('reporting_currency', 'CNY') %}

with orders as (
    select
        order_id,
        currency,
        {{ shop_date('ordered_at') }} as order_date
    from {{ ref('stg_shop__orders') }}
),

rates as (
    select
        currency,
        valid_from,
        rate,
        lead(valid_from) over (partition by currency order by valid_from) as valid_to
    from {{ ref('fx_rates') }}
    where reporting_currency = '{{ reporting_currency }}'
),

matched as (
    select
        orders.order_id,
        orders.currency,
        case when orders.currency = '{{ reporting_currency }}' then 1 else rates.rate end as fx_rate
    from orders
    left join rates
        on orders.currency = rates.currency
        and orders.order_date >= rates.valid_from
        and (rates.valid_to is null or orders.order_date < rates.valid_to)
)

select
    order_id,
    currency,
    '{{ reporting_currency }}' as reporting_currency,
    cast(fx_rate as decimal(18, 8)) as fx_rate,
    fx_rate is not null as has_fx_rate
from matched

-- One row per refund or credit note, booked when the money moved (refund_date, the shop's date (var shop_timezone) of
-- refunded_at), with its amount in its own currency and in the reporting currency, the order it
-- refunds when it names one, and the person it belongs to.
--   * Order link: order_id as the source states it; has_order when that order is in fct_orders.
--     A credit note names no order (is_credit_note); a refund naming an order that never loaded
--     (quarantined, or not extracted yet) keeps its order_id, has_order = false, and counts nowhere.
--   * Person: the order's customer_key / credited_customer_key when the order is known, else the
--     credit note's customer (its account's person, int_identity__customer_keys, or the account id
--     itself as fct_orders does). Guest credit notes (no customer) belong to nobody.
--   * Currency: the refund's own, else its order's. Reporting amount: amount x the order's rate when
--     the refund is in the order's currency (a full refund cancels the sale exactly), else the
--     seeds/fx_rates.csv rate valid on the refund date; no rate: has_fx_rate = false, null amount.
--   * counts_in_sales: effective (approved/paid) and either a credit note or a refund of a valid
--     sale. A refund of a cancelled or refunded order is not counted again: that order earns nothing.
-- fct_kpi_periods subtracts counts_in_sales refunds in the period of refund_date (docs/dbt-models.md).
{%- set reporting_currency = var('reporting_currency', 'CNY') %}

with refunds as (
    select * from {{ ref('stg_shop__order_refunds') }}
),

orders as (
    select order_id, customer_key, credited_customer_key, is_guest_order, is_valid_sale, currency, fx_rate
    from {{ ref('fct_orders') }}
),

keys as (
    select customer_id, customer_key from {{ ref('int_identity__customer_keys') }}
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

linked as (
    select
        refunds.*,
        orders.order_id is not null as has_order,
        orders.is_valid_sale as order_is_valid_sale,
        orders.currency as order_currency,
        orders.fx_rate as order_fx_rate,
        coalesce(refunds.currency, orders.currency) as refund_currency,
        -- The date the rate is read on: when the money moved, or when it was asked for.
        {{ shop_date('coalesce(refunds.refunded_at, refunds.requested_at)') }} as rate_date,
        case
            when orders.order_id is not null then orders.customer_key
            else coalesce(keys.customer_key, refunds.customer_id)
        end as customer_key,
        case
            when orders.order_id is not null then orders.credited_customer_key
            else coalesce(keys.customer_key, refunds.customer_id)
        end as credited_customer_key
    from refunds
    left join orders on refunds.order_id = orders.order_id
    left join keys on refunds.customer_id = keys.customer_id
),

converted as (
    select
        linked.*,
        case
            when linked.refund_currency = '{{ reporting_currency }}' then 1
            when linked.has_order and linked.refund_currency = linked.order_currency then linked.order_fx_rate
            else rates.rate
        end as fx_rate
    from linked
    left join rates
        on linked.refund_currency = rates.currency
        and linked.rate_date >= rates.valid_from
        and (rates.valid_to is null or linked.rate_date < rates.valid_to)
)

select
    refund_id,
    order_id,
    has_order,
    order_id is null as is_credit_note,
    order_line_no,
    sku,
    customer_id,
    customer_key,
    credited_customer_key,
    customer_key is null as is_guest_refund,
    refund_reason,
    refund_status,
    is_effective,
    coalesce(is_effective and (order_id is null or coalesce(order_is_valid_sale, false)), false) as counts_in_sales,
    requested_at,
    refunded_at,
    {{ shop_date('refunded_at') }} as refund_date,
    has_stated_refund_date,
    amount,
    refund_currency as currency,
    '{{ reporting_currency }}' as reporting_currency,
    cast(fx_rate as decimal(18, 8)) as fx_rate,
    fx_rate is not null as has_fx_rate,
    cast(round(amount * fx_rate, 2) as decimal(18, 2)) as amount_reporting,
    updated_at,
    loaded_at
from converted

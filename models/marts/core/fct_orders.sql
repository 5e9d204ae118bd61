-- One row per order with its revenue as the business counts it, and who it is credited to.
-- Cancelled and refunded orders are not sales and earn nothing; effective (approved/paid) partial
-- refunds reduce the revenue of a valid sale. An order without a valid product line (every line
-- quarantined, none sent, or only shipping/fee/discount/adjustment lines) is not a sale either
-- (has_no_valid_lines): it sold nothing, so it is no order in any count. Only product lines make
-- gross_amount and item_count; the other lines are kept beside them (other_line_count,
-- other_amount). Every revenue figure downstream sums net_revenue, and customer figures sum it by
-- credited_customer_key (accidental transactions excluded).
-- Amounts are in the order's currency; beside them gross_amount_reporting and net_revenue_reporting
-- state the same in the reporting currency (var('reporting_currency')), each rounded to cents from
-- the order-currency amount x fx_rate (int_orders__fx, seeds/fx_rates.csv). An order whose currency
-- has no rate on its date has has_fx_rate = false and null reporting amounts: flagged (warning test
-- fct_orders_have_an_fx_rate), never summed as if it were in the reporting currency.
-- Incremental (delete+insert on order_id): the ids of the orders to rebuild are picked first, from
-- each input's own watermarks, and only those orders are joined:
--   * business time within the lookback (var('incremental_lookback_days')) of the latest
--     source_updated_at built: the header's updated_at, refunds/cancellation, identity evidence of
--     the account holder's or receiver's cluster (int_orders__attribution.identity_updated_at);
--   * load time after the latest source_loaded_at built: the header, its lines or its
--     refunds/cancellation were loaded since (late updates with old business timestamps);
--   * during a backfill, ordered in the window;
--   * the order's rate to the reporting currency changed (seeds/fx_rates.csv edited) or the
--     reporting currency itself changed: its reporting amounts are converted again.
-- The index serves the API's customer 360 point lookups (see macros/indexes.sql).
{{ config(
    materialized='incremental',
    unique_key='order_id',
    incremental_strategy=crm_incremental_strategy(),
    on_schema_change='fail',
    indexes=[{'columns': ['credited_customer_key']}]
) }}

{%- set reporting_currency = var('reporting_currency', 'CNY') %}

{% if is_incremental() %}
with changed_orders as (
    select order_id
    from {{ ref('stg_shop__orders') }}
    where updated_at > {{ incremental_cutoff('source_updated_at') }}
        or loaded_at > {{ incremental_load_cutoff('source_loaded_at') }}
        or {{ backfill_window('ordered_at') }}
    union
    select order_id
    from {{ ref('int_orders__money') }}
    where money_updated_at > {{ incremental_cutoff('source_updated_at') }}
        or money_loaded_at > {{ incremental_load_cutoff('source_loaded_at') }}
    union
    select order_id
    from {{ ref('int_orders__item_totals') }}
    where items_loaded_at > {{ incremental_load_cutoff('source_loaded_at') }}
    union
    select order_id
    from {{ ref('int_orders__attribution') }}
    where identity_updated_at > {{ incremental_cutoff('source_updated_at') }}
    union
    select order_id
    from {{ this }}
    where reporting_currency <> '{{ reporting_currency }}'
    union
    select previous.order_id
    from {{ this }} as previous
    inner join {{ ref('int_orders__fx') }} as fx on previous.order_id = fx.order_id
    where previous.currency <> '{{ reporting_currency }}'
        and coalesce(previous.fx_rate, -1) <> coalesce(fx.fx_rate, -1)
),

orders as (
    select * from {{ ref('stg_shop__orders') }}
    where order_id in (select order_id from changed_orders)
),
{% else %}
with orders as (
    select * from {{ ref('stg_shop__orders') }}
),
{% endif %}

item_totals as (
    select * from {{ ref('int_orders__item_totals') }}
),

money as (
    select * from {{ ref('int_orders__money') }}
),

attribution as (
    select * from {{ ref('int_orders__attribution') }}
),

fx as (
    select * from {{ ref('int_orders__fx') }}
),

classified as (
    select
        orders.order_id,
        orders.customer_id,
        orders.customer_id is null as is_guest_order,
        attribution.customer_key,
        attribution.credited_customer_key,
        coalesce(attribution.is_accidental, false) as is_accidental,
        attribution.accidental_reason,
        attribution.shipped_to_customer_key,
        orders.ordered_at,
        orders.order_status,
        orders.order_status = 'cancelled' or coalesce(money.has_cancellation, false) as is_cancelled,
        coalesce(item_totals.product_line_count, 0) = 0 as has_no_valid_lines,
        orders.order_status not in ('cancelled', 'refunded')
        and not coalesce(money.has_cancellation, false)
        and coalesce(item_totals.product_line_count, 0) > 0 as is_valid_sale,
        coalesce(item_totals.item_count, 0) as item_count,
        coalesce(item_totals.other_line_count, 0) as other_line_count,
        coalesce(item_totals.other_amount, 0) as other_amount,
        coalesce(item_totals.gross_amount, 0) as gross_amount,
        orders.discount_amount,
        coalesce(money.refunded_amount, 0) as refunded_amount,
        orders.currency,
        coalesce(fx.reporting_currency, '{{ reporting_currency }}') as reporting_currency,
        case when orders.currency = '{{ reporting_currency }}' then 1 else fx.fx_rate end as fx_rate,
        orders.ship_city,
        item_totals.primary_brand,
        item_totals.primary_category,
        orders.updated_at,
        money.money_updated_at,
        attribution.identity_updated_at,
        orders.loaded_at,
        item_totals.items_loaded_at,
        money.money_loaded_at
    from orders
    left join item_totals on orders.order_id = item_totals.order_id
    left join money on orders.order_id = money.order_id
    left join attribution on orders.order_id = attribution.order_id
    left join fx on orders.order_id = fx.order_id
),

final as (
    select
        order_id,
        customer_id,
        -- A guest checkout: no account, so no person (customer_key and credited_customer_key null).
        -- It is a sale (revenue, order counts) but no customer figure counts it.
        is_guest_order,
        coalesce(customer_key, customer_id) as customer_key,
        case when is_accidental then null else coalesce(credited_customer_key, customer_key, customer_id) end as credited_customer_key,
        is_accidental,
        accidental_reason,
        shipped_to_customer_key,
        ordered_at,
        {{ shop_date('ordered_at') }} as order_date,
        order_status,
        is_valid_sale,
        is_cancelled,
        has_no_valid_lines,
        cast(item_count as integer) as item_count,
        cast(other_line_count as integer) as other_line_count,
        cast(other_amount as decimal(18, 2)) as other_amount,
        cast(gross_amount as decimal(18, 2)) as gross_amount,
        cast(discount_amount as decimal(18, 2)) as discount_amount,
        cast(refunded_amount as decimal(18, 2)) as refunded_amount,
        cast(
            case
                when not is_valid_sale then 0
                when gross_amount - discount_amount - refunded_amount < 0 then 0
                else gross_amount - discount_amount - refunded_amount
            end as decimal(18, 2)
        ) as net_revenue,
        currency,
        reporting_currency,
        cast(fx_rate as decimal(18, 8)) as fx_rate,
        fx_rate is not null as has_fx_rate,
        ship_city,
        primary_brand,
        primary_category,
        -- Latest change among the inputs of this row (the incremental watermark).
        greatest(
            updated_at,
            coalesce(money_updated_at, updated_at),
            coalesce(identity_updated_at, updated_at)
        ) as source_updated_at,
        -- Latest load of this row's header, lines and refunds/cancellation (the load-time watermark).
        greatest(
            loaded_at,
            coalesce(items_loaded_at, loaded_at),
            coalesce(money_loaded_at, loaded_at)
        ) as source_loaded_at
    from classified
)

select
    final.*,
    -- The reporting-currency amounts: the order-currency amount x fx_rate, rounded to cents (null
    -- without a rate; identical to the order-currency amount when the order is in the reporting currency).
    cast(round(final.gross_amount * final.fx_rate, 2) as decimal(18, 2)) as gross_amount_reporting,
    cast(round(final.net_revenue * final.fx_rate, 2) as decimal(18, 2)) as net_revenue_reporting
from final
-- Written in order time: DuckDB keeps a min/max per row group, so a date-range filter (every
-- dashboard query on orders) skips the row groups outside its range instead of scanning them all.
-- An incremental run appends its batch in the same order (mostly recent orders).
order by final.ordered_at, final.order_id

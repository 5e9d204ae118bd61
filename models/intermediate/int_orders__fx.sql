-- The exchange rate of each order to the reporting currency (var('reporting_currency'), default
-- CNY): the seeds/fx_rates.csv rate whose validity covers the order's shop-day order date, 1 when the
-- order is in the reporting currency, null when the seed has no rate for it (has_fx_rate = false:
-- flagged by a warning test and left out of reporting-currency revenue, never summed as if it were
-- in the reporting currency). A rate is valid from its valid_from to the day before the currency's
-- next valid_from.
-- Incremental (delete+insert on order_id), so that an incremental build converts only the orders
-- that need it (the shop-day conversion of every order's time costs seconds at a million orders):
--   * headers loaded after the latest load built (order time or currency may have changed), or
--     updated within the business lookback, and during a backfill the orders placed in the window;
--   * every order of a currency whose seed rows for the reporting currency changed: rates_checksum
--     is a hash of all of that currency's rows (valid_from and rate, in order), stored per order,
--     so an edited, added or removed rate row reconverts all of the currency's orders on the next
--     build without a --full-refresh;
--   * every order when the reporting currency itself changed.
{{ config(
    materialized='incremental',
    unique_key='order_id',
    incremental_strategy=crm_incremental_strategy(),
    on_schema_change='fail'
) }}

{%- set reporting_currency = var('reporting_currency', 'CNY') %}

with rates as (
    select
        currency,
        valid_from,
        rate,
        lead(valid_from) over (partition by currency order by valid_from) as valid_to
    from {{ ref('fx_rates') }}
    where reporting_currency = '{{ reporting_currency }}'
),

rates_checksums as (
    select
        currency,
        {{ dbt.hash(dbt.listagg(
            "cast(valid_from as string) || '=' || cast(rate as string)", "','", "order by valid_from"
        )) }} as rates_checksum
    from rates
    group by currency
),

orders as (
    select
        orders.order_id,
        orders.currency,
        {{ shop_date('orders.ordered_at') }} as order_date,
        orders.updated_at,
        orders.loaded_at,
        -- An order in the reporting currency has rate 1 whatever the seed says.
        case
            when orders.currency = '{{ reporting_currency }}' then 'reporting'
            else rates_checksums.rates_checksum
        end as rates_checksum
    from {{ ref('stg_shop__orders') }} as orders
    left join rates_checksums on orders.currency = rates_checksums.currency
    {% if is_incremental() %}
    where orders.loaded_at > {{ incremental_load_cutoff('loaded_at') }}
        or orders.updated_at > {{ incremental_cutoff('updated_at') }}
        or {{ backfill_window('orders.ordered_at') }}
        or orders.order_id in (
            select previous.order_id
            from {{ this }} as previous
            left join rates_checksums as current_rates on previous.currency = current_rates.currency
            where previous.reporting_currency <> '{{ reporting_currency }}'
                or coalesce(previous.rates_checksum, '') <> case
                    when previous.currency = '{{ reporting_currency }}' then 'reporting'
                    else coalesce(current_rates.rates_checksum, '')
                end
        )
    {% endif %}
),

matched as (
    select
        orders.order_id,
        orders.currency,
        case when orders.currency = '{{ reporting_currency }}' then 1 else rates.rate end as fx_rate,
        orders.rates_checksum,
        orders.updated_at,
        orders.loaded_at
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
    fx_rate is not null as has_fx_rate,
    rates_checksum,
    updated_at,
    loaded_at
from matched

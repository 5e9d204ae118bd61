-- Refunds and credit notes that no rate converts to the reporting currency (a credit note without a
-- currency, or a currency seeds/fx_rates.csv has no rate for on its date): fct_kpi_periods leaves
-- their amount out. A warning, as for orders (fct_orders_have_an_fx_rate): add the rates or currency.
{{ config(severity='warn') }}

select refund_id, order_id, currency, reporting_currency, refund_date, amount
from {{ ref('fct_order_refunds') }}
where counts_in_sales and not has_fx_rate

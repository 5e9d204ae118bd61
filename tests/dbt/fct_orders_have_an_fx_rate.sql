-- Orders whose currency has no rate to the reporting currency on their date (seeds/fx_rates.csv):
-- their reporting amounts are null and fct_kpi_periods.revenue leaves them out. A warning, not an
-- error: the build goes on and the run reports how many; add the missing rates to the seed.
{{ config(severity='warn') }}

select order_id, currency, reporting_currency, order_date, net_revenue
from {{ ref('fct_orders') }}
where not has_fx_rate

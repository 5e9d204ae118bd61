-- One definition of active, new and repeat customers: the monthly rows of fct_kpi_periods must equal
-- fct_customer_activity_monthly. Returns every month where they differ (or one side is missing).
-- Both marts store the repeat customers (the numerator of their cubes' repeat rates), which must be
-- equal too.
-- Months with an active person only: a month of guest checkouts alone (orders, no person) or of
-- refunds alone has no activity row, rightly.
with kpis as (
    select * from {{ ref('fct_kpi_periods') }}
    where period_grain = 'month' and active_customers > 0
)

select
    coalesce(kpis.period_start, activity.month) as month,
    kpis.active_customers as kpi_active,
    activity.active_customers as activity_active,
    kpis.new_customers as kpi_new,
    activity.new_customers as activity_new,
    kpis.repeat_customers as kpi_repeat,
    activity.repeat_customers as activity_repeat
from kpis
full outer join {{ ref('fct_customer_activity_monthly') }} as activity
    on kpis.period_start = activity.month
where kpis.period_start is null
    or activity.month is null
    or kpis.active_customers <> activity.active_customers
    or kpis.new_customers <> activity.new_customers
    or kpis.repeat_customers <> activity.repeat_customers

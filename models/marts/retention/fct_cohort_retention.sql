-- Monthly acquisition cohorts (month of a person's first credited valid sale) and how many of them
-- buy again in each later month. Months with no buyer still appear (active_customers 0) up to the
-- last month with any sale. Only additive parts are stored: the retention rate (active_customers /
-- cohort_size) is the cohort_retention cube's measure, a ratio of sums over the rows of a slice.
with sales as (
    select
        credited_customer_key as customer_key,
        cast({{ dbt.date_trunc('month', shop_date('ordered_at')) }} as date) as order_month,
        net_revenue
    from {{ ref('fct_orders') }}
    where is_valid_sale and credited_customer_key is not null
),

customer_months as (
    select customer_key, order_month, sum(net_revenue) as revenue
    from sales
    group by customer_key, order_month
),

cohorts as (
    select customer_key, min(order_month) as cohort_month
    from customer_months
    group by customer_key
),

cohort_sizes as (
    select cohort_month, count(*) as cohort_size
    from cohorts
    group by cohort_month
),

calendar as (
    select distinct order_month as month from customer_months
),

grid as (
    select cohort_sizes.cohort_month, cohort_sizes.cohort_size, calendar.month
    from cohort_sizes
    inner join calendar on cohort_sizes.cohort_month <= calendar.month
),

activity as (
    select
        cohorts.cohort_month,
        customer_months.order_month as month,
        count(*) as active_customers,
        sum(customer_months.revenue) as revenue
    from customer_months
    inner join cohorts on customer_months.customer_key = cohorts.customer_key
    group by cohorts.cohort_month, customer_months.order_month
)

select
    grid.cohort_month,
    cast({{ dbt.datediff('grid.cohort_month', 'grid.month', 'month') }} as integer) as months_since_first,
    cast(grid.cohort_size as integer) as cohort_size,
    cast(coalesce(activity.active_customers, 0) as integer) as active_customers,
    cast(coalesce(activity.revenue, 0) as decimal(18, 2)) as revenue
from grid
left join activity
    on grid.cohort_month = activity.cohort_month
    and grid.month = activity.month

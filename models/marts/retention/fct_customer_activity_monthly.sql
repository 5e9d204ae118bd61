-- Buying activity by calendar month of the shop (var shop_timezone), persons (customer_key), credited valid sales only.
-- Only additive parts are stored: the repeat purchase rate (repeat_customers / active_customers) is
-- the customer_activity_monthly cube's measure, a ratio of sums over the months of a slice.
with sales as (
    select
        credited_customer_key as customer_key,
        order_id,
        ordered_at,
        cast({{ dbt.date_trunc('month', shop_date('ordered_at')) }} as date) as order_month,
        lag(ordered_at) over (partition by credited_customer_key order by ordered_at, order_id) as previous_ordered_at,
        row_number() over (partition by credited_customer_key order by ordered_at, order_id) as order_number
    from {{ ref('fct_orders') }}
    where is_valid_sale and credited_customer_key is not null
),

firsts as (
    select customer_key, min(order_month) as first_month
    from sales
    group by customer_key
),

per_customer_month as (
    select
        sales.order_month as month,
        sales.customer_key,
        max(case when firsts.first_month = sales.order_month then 1 else 0 end) as is_new,
        max(sales.order_number) as orders_to_date
    from sales
    inner join firsts on sales.customer_key = firsts.customer_key
    group by sales.order_month, sales.customer_key
),

customers as (
    select
        month,
        count(*) as active_customers,
        sum(is_new) as new_customers,
        sum(case when orders_to_date >= 2 then 1 else 0 end) as repeat_customers
    from per_customer_month
    group by month
),

gaps as (
    select
        order_month as month,
        avg({{ dbt.datediff('previous_ordered_at', 'ordered_at', 'second') }} / 86400.0) as avg_days_between_orders,
        {{ percentile(dbt.datediff('previous_ordered_at', 'ordered_at', 'second') ~ ' / 86400.0', 0.5) }}
            as median_days_between_orders
    from sales
    where previous_ordered_at is not null
    group by order_month
)

select
    customers.month,
    cast(customers.active_customers as integer) as active_customers,
    cast(customers.new_customers as integer) as new_customers,
    cast(customers.active_customers - customers.new_customers as integer) as returning_customers,
    cast(customers.repeat_customers as integer) as repeat_customers,
    -- Rounded: a parallel floating-point sum is not associative, so unrounded averages can differ in
    -- the last bits between two builds of the same data.
    cast(round(gaps.avg_days_between_orders, 6) as double) as avg_days_between_orders,
    cast(round(gaps.median_days_between_orders, 6) as double) as median_days_between_orders
from customers
left join gaps on customers.month = gaps.month

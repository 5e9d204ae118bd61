-- One row per customer known from profiles or orders: how much they bought, when, and their RFM
-- scores. Scores use cume_dist so tied customers get the same score (ntile would split ties).
{%- set as_of_date = var('as_of_date', none) %}

with profiles as (
    select customer_id, full_name, city, signup_at from {{ ref('stg_shop__customers') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

known_customers as (
    select customer_id from profiles
    union
    select customer_id from orders
),

as_of as (
    {%- if as_of_date %}
    select cast('{{ as_of_date }}' as timestamp) as as_of_at
    {%- else %}
    select max(ordered_at) as as_of_at from orders
    {%- endif %}
),

sales_per_customer as (
    select
        customer_id,
        count(*) as order_count,
        sum(net_revenue) as revenue,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at
    from orders
    where is_valid_sale
    group by customer_id
),

base as (
    select
        known_customers.customer_id,
        profiles.full_name as customer_name,
        profiles.city,
        profiles.signup_at,
        sales.first_order_at,
        sales.last_order_at,
        coalesce(sales.order_count, 0) as order_count,
        coalesce(sales.revenue, 0) as revenue,
        case when sales.order_count > 0 then sales.revenue / sales.order_count end as avg_order_value,
        case
            when sales.last_order_at is not null
            then {{ dbt.datediff('sales.last_order_at', 'as_of.as_of_at', 'day') }}
        end as recency_days
    from known_customers
    left join profiles on known_customers.customer_id = profiles.customer_id
    left join sales_per_customer as sales on known_customers.customer_id = sales.customer_id
    cross join as_of
),

scored as (
    select
        base.*,
        case when order_count > 0 then ceiling(5 * cume_dist() over (
            partition by case when order_count > 0 then 1 else 0 end order by recency_days desc)) end as r_score,
        case when order_count > 0 then ceiling(5 * cume_dist() over (
            partition by case when order_count > 0 then 1 else 0 end order by order_count)) end as f_score,
        case when order_count > 0 then ceiling(5 * cume_dist() over (
            partition by case when order_count > 0 then 1 else 0 end order by revenue)) end as m_score
    from base
)

select
    customer_id,
    customer_name,
    city,
    signup_at,
    first_order_at,
    last_order_at,
    cast(order_count as integer) as order_count,
    cast(revenue as decimal(18, 2)) as revenue,
    cast(round(avg_order_value, 2) as decimal(18, 2)) as avg_order_value,
    cast(recency_days as integer) as recency_days,
    cast(r_score as integer) as r_score,
    cast(f_score as integer) as f_score,
    cast(m_score as integer) as m_score,
    case when r_score is not null then {{ dbt.concat([
        dbt.cast('cast(r_score as integer)', api.Column.translate_type('string')),
        dbt.cast('cast(f_score as integer)', api.Column.translate_type('string')),
        dbt.cast('cast(m_score as integer)', api.Column.translate_type('string'))
    ]) }} end as rfm_score,
    cast(r_score + f_score + m_score as integer) as rfm_total
from scored

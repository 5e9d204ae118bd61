-- Credited sales per person: the one definition of a customer's order count, net revenue and
-- first/last order, read by dim_customers and customer_value. Only valid sales credited to a person
-- count (fct_orders.credited_customer_key null marks accidental orders, nobody's value). One row per
-- person with at least one such sale; persons without one are absent (the marts coalesce to 0).
-- revenue = the credited orders' net_revenue (refunds of an order already reduce it) - the person's
-- effective credit notes that name no order (fct_order_refunds: is_credit_note, counts_in_sales,
-- credited to the person through the credit note's customer), in the reporting currency
-- (net_revenue_reporting, amount_reporting: a person who bought in several currencies has one sum;
-- an order or credit note without an fx rate adds nothing). A credit note of a person without a
-- credited sale changes no customer figure (no row is made for it); revenue can go below 0 when
-- credit notes exceed the person's sales.
with sales as (
    select
        credited_customer_key as customer_key,
        count(*) as order_count,
        sum(net_revenue_reporting) as revenue,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at
    from {{ ref('fct_orders') }}
    where is_valid_sale and credited_customer_key is not null
    group by credited_customer_key
),

credit_notes as (
    select credited_customer_key as customer_key, sum(amount_reporting) as credited_back
    from {{ ref('fct_order_refunds') }}
    where is_credit_note and counts_in_sales and credited_customer_key is not null
    group by credited_customer_key
)

select
    sales.customer_key,
    sales.order_count,
    sales.revenue - coalesce(credit_notes.credited_back, 0) as revenue,
    sales.first_order_at,
    sales.last_order_at
from sales
left join credit_notes on sales.customer_key = credit_notes.customer_key

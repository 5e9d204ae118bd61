-- Order lines rolled up to one row per order: how many items, their gross amount, and the brand
-- and category with the largest line amount (ties broken by name, deterministic).
with items as (
    select * from {{ ref('stg_shop__order_items') }}
),

totals as (
    select
        order_id,
        count(*) as line_count,
        sum(quantity) as item_count,
        sum(line_amount) as gross_amount
    from items
    group by order_id
),

brand_amounts as (
    select order_id, brand, sum(line_amount) as amount,
        row_number() over (partition by order_id order by sum(line_amount) desc, brand) as rank_in_order
    from items
    group by order_id, brand
),

category_amounts as (
    select order_id, category, sum(line_amount) as amount,
        row_number() over (partition by order_id order by sum(line_amount) desc, category) as rank_in_order
    from items
    group by order_id, category
)

select
    totals.order_id,
    totals.line_count,
    totals.item_count,
    totals.gross_amount,
    brand_amounts.brand as primary_brand,
    category_amounts.category as primary_category
from totals
left join brand_amounts on totals.order_id = brand_amounts.order_id and brand_amounts.rank_in_order = 1
left join category_amounts on totals.order_id = category_amounts.order_id and category_amounts.rank_in_order = 1

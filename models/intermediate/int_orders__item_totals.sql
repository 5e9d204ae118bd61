-- Order lines rolled up to one row per order: how many items and their gross amount.
select
    order_id,
    count(*) as line_count,
    sum(quantity) as item_count,
    sum(line_amount) as gross_amount
from {{ ref('stg_shop__order_items') }}
group by order_id

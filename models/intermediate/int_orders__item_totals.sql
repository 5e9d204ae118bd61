-- Order lines rolled up to one row per order: how many items, their gross amount (the exact line
-- amounts summed, then rounded to cents), and the brand
-- and category with the largest line amount (ties broken by name, deterministic).
-- Only product lines are sales (stg_shop__order_items.line_type): items, gross amount, brand and
-- category count product lines; shipping, fee, discount and adjustment lines are counted apart
-- (other_line_count, other_amount) and stay out of revenue.
-- Incremental (delete+insert on order_id): an order is rolled up again when one of its lines was
-- loaded (inserted or changed) since the last build, and during a backfill when it was ordered in
-- the window. Its other lines are read too, so every total covers all of the order's lines.
-- depends_on: {{ ref('stg_shop__orders') }}
{{ config(
    materialized='incremental',
    unique_key='order_id',
    incremental_strategy=crm_incremental_strategy(),
    on_schema_change='fail'
) }}

with items as (
    select * from {{ ref('stg_shop__order_items') }}
    {% if is_incremental() %}
    where order_id in (
            select order_id from {{ ref('stg_shop__order_items') }}
            where loaded_at > {{ incremental_load_cutoff('items_loaded_at') }}
            {%- if backfill_active() %}
            union
            select order_id from {{ ref('stg_shop__orders') }}
            where {{ backfill_window('ordered_at') }}
            {%- endif %}
        )
    {% endif %}
),

totals as (
    select
        order_id,
        count(*) as line_count,
        sum(case when is_product_line then 1 else 0 end) as product_line_count,
        -- Typed as the marts use them: sums would widen to 128-bit integers, slower to scan and join.
        cast(coalesce(sum(case when is_product_line then quantity end), 0) as {{ dbt.type_bigint() }}) as item_count,
        -- The rounding rule (docs/dbt-models.md): exact line amounts are summed first, and only the
        -- order total is rounded to cents (half away from zero); with 2-decimal prices nothing rounds.
        cast(round(coalesce(sum(case when is_product_line then line_amount end), 0), 2) as decimal(18, 2)) as gross_amount,
        cast(sum(case when is_product_line then 0 else 1 end) as integer) as other_line_count,
        cast(round(coalesce(sum(case when not is_product_line then line_amount end), 0), 2) as decimal(18, 2)) as other_amount,
        max(loaded_at) as items_loaded_at
    from items
    group by order_id
),

brand_amounts as (
    select
        order_id, brand, sum(line_amount) as amount,
        row_number() over (partition by order_id order by sum(line_amount) desc, brand) as rank_in_order
    from items
    where is_product_line
    group by order_id, brand
),

category_amounts as (
    select
        order_id, category, sum(line_amount) as amount,
        row_number() over (partition by order_id order by sum(line_amount) desc, category) as rank_in_order
    from items
    where is_product_line
    group by order_id, category
)

select
    totals.order_id,
    totals.line_count,
    totals.item_count,
    totals.gross_amount,
    cast(totals.product_line_count as integer) as product_line_count,
    totals.other_line_count,
    totals.other_amount,
    brand_amounts.brand as primary_brand,
    category_amounts.category as primary_category,
    totals.items_loaded_at
from totals
left join brand_amounts on totals.order_id = brand_amounts.order_id and brand_amounts.rank_in_order = 1
left join category_amounts on totals.order_id = category_amounts.order_id and category_amounts.rank_in_order = 1

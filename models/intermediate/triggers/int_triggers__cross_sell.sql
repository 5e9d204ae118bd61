-- Trigger 3, cross_sell: category affinity by co-purchase lift over persons. The person bought
-- category A (credited valid sales) but never B, where B is commonly bought with A: among buyers of
-- A the share who also bought B (confidence) is at least var('trigger_cross_sell_min_confidence'),
-- lift = confidence / share of all buyers who bought B is at least var('trigger_cross_sell_min_lift'),
-- and at least var('trigger_cross_sell_min_co_buyers') persons bought both; only persons who bought
-- in the last var('trigger_cross_sell_recency_days') days; the pair with the highest lift (then
-- confidence) wins. Brand: the most bought brand of category B. Priority 40.
-- One row per person; int_triggers__candidates unions the four trigger types.
{%- set cross_sell_recency_days = var('trigger_cross_sell_recency_days', 180) %}

with as_of as (
    {{- as_of(ref('fct_orders')) }}
),

credited_sales as (
    select * from {{ ref('int_triggers__credited_sales') }}
),

-- Categories and brands each person bought (credited valid sales up to the as-of date).
person_items as (
    select
        credited_sales.customer_key,
        items.category,
        items.brand
    from {{ ref('fct_order_items') }} as items
    inner join credited_sales on items.order_id = credited_sales.order_id
    where items.category is not null and items.line_type = 'product'
),

person_categories as (
    select distinct customer_key, category from person_items
),

category_buyers as (
    select category, count(*) as buyers
    from person_categories
    group by category
),

all_buyers as (
    select count(distinct customer_key) as buyers from person_categories
),

category_pairs as (
    select
        bought.category as from_category,
        other.category as to_category,
        count(*) as co_buyers
    from person_categories as bought
    inner join person_categories as other
        on bought.customer_key = other.customer_key
        and bought.category <> other.category
    group by bought.category, other.category
),

affinity as (
    select
        pairs.from_category,
        pairs.to_category,
        pairs.co_buyers,
        -- Doubles on every adapter: 1.0 * n is a decimal, which Spark divides to a fixed scale and
        -- DuckDB as a double, so equal lifts of two rules could rank apart on the two engines.
        cast(pairs.co_buyers as double) / from_buyers.buyers as confidence,
        (cast(pairs.co_buyers as double) / from_buyers.buyers)
        / (cast(to_buyers.buyers as double) / all_buyers.buyers) as lift
    from category_pairs as pairs
    inner join category_buyers as from_buyers on pairs.from_category = from_buyers.category
    inner join category_buyers as to_buyers on pairs.to_category = to_buyers.category
    cross join all_buyers
),

rules as (
    select * from affinity
    where co_buyers >= {{ var('trigger_cross_sell_min_co_buyers', 10) }}
        and confidence >= {{ var('trigger_cross_sell_min_confidence', 0.2) }}
        and lift >= {{ var('trigger_cross_sell_min_lift', 1.1) }}
),

recent_buyers as (
    select customer_key, max(ordered_at) as last_order_at
    from credited_sales
    group by customer_key
),

cross_sell_candidates as (
    select
        owned.customer_key,
        rules.from_category,
        rules.to_category,
        rules.confidence,
        rules.lift,
        row_number() over (
            partition by owned.customer_key
            order by rules.lift desc, rules.confidence desc, rules.to_category asc, rules.from_category asc
        ) as rule_rank
    from person_categories as owned
    inner join rules on owned.category = rules.from_category
    inner join recent_buyers on owned.customer_key = recent_buyers.customer_key
    cross join as_of
    where recent_buyers.last_order_at >= {{ dbt.dateadd('day', -1 * cross_sell_recency_days, 'as_of.as_of_at') }}
        and not exists (
            select 1 from person_categories as has
            where has.customer_key = owned.customer_key and has.category = rules.to_category
        )
),

category_top_brand as (
    select category, brand
    from (
        select category, brand, row_number() over (partition by category order by count(*) desc, brand) as brand_rank
        from person_items
        where brand is not null
        group by category, brand
    ) as ranked
    where brand_rank = 1
)

select
    candidates.customer_key,
    'cross_sell' as trigger_type,
    40 as priority,
    candidates.to_category as category,
    category_top_brand.brand,
    'category_affinity' as evidence_type,
    candidates.from_category || '>' || candidates.to_category as evidence_id,
    'Bought ' || candidates.from_category || ' but never ' || candidates.to_category || '; '
    || {{ reason_text('cast(round(100 * candidates.confidence, 0) as integer)') }} || '% of '
    || candidates.from_category || ' buyers also buy ' || candidates.to_category
    || ' (lift ' || {{ reason_text('round(candidates.lift, 2)') }} || ')' as reason
from cross_sell_candidates as candidates
left join category_top_brand on candidates.to_category = category_top_brand.category
where candidates.rule_rank = 1

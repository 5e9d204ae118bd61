-- Trigger 1, retain_valuable_at_risk: valuable customers at risk. A buyer whose rfm_segment is
-- 'At risk' or 'Can''t lose', or a valuable buyer (m_score >= var('trigger_valuable_min_m_score'))
-- whose churn_risk_band is 'high' or 'medium'. Priority 75 for 'high' churn risk or Can't lose, else
-- 70. Category and brand: the person's top brand by net revenue of their credited valid sales.
-- One row per person; int_triggers__candidates unions the four trigger types.
with person_items as (
    select
        credited_sales.customer_key,
        items.category,
        items.brand,
        items.net_line_revenue
    from {{ ref('fct_order_items') }} as items
    inner join {{ ref('int_triggers__credited_sales') }} as credited_sales on items.order_id = credited_sales.order_id
    where items.category is not null and items.line_type = 'product'
),

top_brand as (
    select customer_key, brand, category
    from (
        select
            customer_key,
            brand,
            category,
            row_number() over (partition by customer_key order by sum(net_line_revenue) desc, brand asc, category asc) as brand_rank
        from person_items
        where brand is not null
        group by customer_key, brand, category
    ) as ranked
    where brand_rank = 1
)

select
    value.customer_key,
    'retain_valuable_at_risk' as trigger_type,
    case
        when value.churn_risk_band = 'high' or value.rfm_segment = 'Can''t lose' then 75
        else 70
    end as priority,
    top_brand.category,
    top_brand.brand,
    'value' as evidence_type,
    value.customer_key as evidence_id,
    coalesce(value.rfm_segment, 'Customer')
    || ' with ' || {{ reason_text('value.order_count') }} || ' orders ('
    || {{ reason_text('cast(round(value.revenue, 0) as bigint)') }} || ' net revenue), last order '
    || {{ reason_text('value.recency_days') }} || ' days ago'
    || case when value.probability_alive is not null
            then ', P(alive) ' || {{ reason_text('round(value.probability_alive, 2)') }}
                || ' (churn risk ' || value.churn_risk_band || ')'
        else ''
    end
    || case when value.predicted_value_365d is not null
            then ', predicted 365-day value ' || {{ reason_text('cast(round(value.predicted_value_365d, 0) as bigint)') }}
        else '' end
        as reason
from {{ ref('customer_value') }} as value
left join top_brand on value.customer_key = top_brand.customer_key
where value.order_count > 0
    and (
        value.rfm_segment in ('At risk', 'Can''t lose')
        or (value.m_score >= {{ var('trigger_valuable_min_m_score', 4) }} and value.churn_risk_band in ('high', 'medium'))
    )

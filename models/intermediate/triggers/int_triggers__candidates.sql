-- Every trigger a person qualifies for on the as-of date, before consent and contact-frequency
-- tolerance are applied (fct_customer_triggers does that). One row per customer_key x trigger_type
-- (the strongest piece of evidence when several qualify), with a human-readable reason naming it.
-- Rules (windows and thresholds are dbt vars, see dbt_project.yml):
--   retain_valuable_at_risk  rfm_segment 'At risk' or 'Can''t lose', or a valuable buyer
--                            (m_score >= trigger_valuable_min_m_score) whose churn_risk_band is
--                            'high' or 'medium'
--   follow_up_inquiry        a pre_sale ticket opened in the last trigger_inquiry_window_days days
--                            with no credited valid sale by the person since it was opened
--   cross_sell               the person bought category A (credited valid sales) but never B, where
--                            B is commonly bought with A: among buyers of A the share who also
--                            bought B (confidence) is at least trigger_cross_sell_min_confidence,
--                            lift = confidence / share of all buyers who bought B is at least
--                            trigger_cross_sell_min_lift, and at least
--                            trigger_cross_sell_min_co_buyers persons bought both; only persons
--                            who bought in the last trigger_cross_sell_recency_days days; the pair
--                            with the highest lift (then confidence) wins
--   service_recovery         an open complaint or dispute ticket opened in the last
--                            trigger_service_recovery_window_days days, or a negative public
--                            mention linked to the person in that window
-- Priority (higher = act first): open dispute 90, open complaint 85, negative mention 80; retain
-- 75 ('high' churn risk or Can't lose) or 70; follow-up 60; cross-sell 40.
{%- set inquiry_days = var('trigger_inquiry_window_days', 14) %}
{%- set recovery_days = var('trigger_service_recovery_window_days', 30) %}
{%- set cross_sell_recency_days = var('trigger_cross_sell_recency_days', 180) %}
{%- set string = api.Column.translate_type('string') %}

with orders as (
    select * from {{ ref('fct_orders') }}
),

as_of as (
    {{- as_of('orders') }}
),

as_of_day as (
    select
        as_of_at,
        cast({{ dbt.date_trunc('day', 'as_of_at') }} as date) as as_of_date
    from as_of
),

credited_sales as (
    select orders.order_id, orders.credited_customer_key as customer_key, orders.ordered_at
    from orders
    cross join as_of_day
    where orders.is_valid_sale
        and orders.credited_customer_key is not null
        and orders.ordered_at <= as_of_day.as_of_at
),

-- Categories and brands each person bought (credited valid sales up to the as-of date).
person_items as (
    select
        credited_sales.customer_key,
        items.category,
        items.brand,
        items.net_line_revenue
    from {{ ref('fct_order_items') }} as items
    inner join credited_sales on items.order_id = credited_sales.order_id
    where items.category is not null
),

top_brand as (
    select customer_key, brand, category
    from (
        select
            customer_key,
            brand,
            category,
            row_number() over (partition by customer_key order by sum(net_line_revenue) desc, brand, category) as brand_rank
        from person_items
        where brand is not null
        group by customer_key, brand, category
    ) as ranked
    where brand_rank = 1
),

-- 1. Valuable customers at risk.
retain as (
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
                else '' end
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
),

tickets as (
    select tickets.*
    from {{ ref('fct_service_tickets') }} as tickets
    cross join as_of_day
    where tickets.customer_key is not null
        and tickets.opened_at <= as_of_day.as_of_at
),

-- 2. Pre-sale inquiries not followed by a purchase.
inquiries as (
    select
        tickets.customer_key,
        tickets.ticket_id,
        tickets.channel,
        tickets.brand,
        tickets.opened_at,
        {{ dbt.datediff('tickets.opened_date', 'as_of_day.as_of_date', 'day') }} as days_ago,
        row_number() over (partition by tickets.customer_key order by tickets.opened_at desc, tickets.ticket_id) as inquiry_rank
    from tickets
    cross join as_of_day
    where tickets.category in ('pre_sale', 'pre_sale_inquiry')
        and tickets.opened_date >= cast({{ dbt.dateadd('day', -1 * inquiry_days, 'as_of_day.as_of_date') }} as date)
        and not exists (
            select 1 from credited_sales
            where credited_sales.customer_key = tickets.customer_key
                and credited_sales.ordered_at >= tickets.opened_at
        )
),

follow_up as (
    select
        customer_key,
        'follow_up_inquiry' as trigger_type,
        60 as priority,
        cast(null as {{ string }}) as category,
        brand,
        'pre_sale_ticket' as evidence_type,
        ticket_id as evidence_id,
        'Pre-sale inquiry ' || ticket_id || ' by ' || coalesce(channel, 'unknown channel')
            || coalesce(' about ' || brand, '') || ' ' || {{ reason_text('days_ago') }}
            || ' days ago, no purchase since' as reason
    from inquiries
    where inquiry_rank = 1
),

-- 3. Cross-sell by category affinity (co-purchase lift over persons).
person_categories as (
    select distinct customer_key, category from person_items
),

category_buyers as (
    select category, count(*) as buyers from person_categories group by category
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
        1.0 * pairs.co_buyers / from_buyers.buyers as confidence,
        (1.0 * pairs.co_buyers / from_buyers.buyers) / (1.0 * to_buyers.buyers / all_buyers.buyers) as lift
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
            order by rules.lift desc, rules.confidence desc, rules.to_category, rules.from_category
        ) as rule_rank
    from person_categories as owned
    inner join rules on owned.category = rules.from_category
    inner join recent_buyers on owned.customer_key = recent_buyers.customer_key
    cross join as_of_day
    where recent_buyers.last_order_at >= {{ dbt.dateadd('day', -1 * cross_sell_recency_days, 'as_of_day.as_of_at') }}
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
),

cross_sell as (
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
),

-- 4. Service recovery: open complaints/disputes and negative posts by resolved customers.
recovery_evidence as (
    select
        tickets.customer_key,
        case when tickets.category = 'dispute' then 90 else 85 end as priority,
        related.primary_category as category,
        tickets.brand,
        tickets.category || '_ticket' as evidence_type,
        tickets.ticket_id as evidence_id,
        tickets.opened_at as evidence_at,
        'Open ' || tickets.category || ' ticket ' || tickets.ticket_id || ' by ' || coalesce(tickets.channel, 'unknown channel')
            || coalesce(' about ' || tickets.brand, '') || ', opened '
            || {{ reason_text(dbt.datediff('tickets.opened_date', 'as_of_day.as_of_date', 'day')) }} || ' days ago'
            || case when tickets.reopen_count > 0 then ', reopened ' || {{ reason_text('tickets.reopen_count') }} || ' times' else '' end
            as reason
    from tickets
    cross join as_of_day
    left join orders as related on tickets.order_id = related.order_id
    where tickets.is_open
        and tickets.category in ('complaint', 'dispute')
        and tickets.opened_date >= cast({{ dbt.dateadd('day', -1 * recovery_days, 'as_of_day.as_of_date') }} as date)

    union all

    select
        mentions.customer_key,
        80 as priority,
        cast(null as {{ string }}) as category,
        mentions.brand,
        'negative_mention' as evidence_type,
        mentions.post_id as evidence_id,
        mentions.published_at as evidence_at,
        'Negative post ' || mentions.post_id || ' on ' || coalesce(mentions.platform, 'unknown platform')
            || coalesce(' about ' || mentions.brand, '') || ' (sentiment '
            || {{ reason_text('round(mentions.sentiment_score, 2)') }} || '), '
            || {{ reason_text(dbt.datediff('mentions.published_date', 'as_of_day.as_of_date', 'day')) }} || ' days ago' as reason
    from {{ ref('fct_opinion_mentions') }} as mentions
    cross join as_of_day
    where mentions.customer_key is not null
        and mentions.sentiment_label = 'negative'
        and mentions.published_at <= as_of_day.as_of_at
        and mentions.published_date >= cast({{ dbt.dateadd('day', -1 * recovery_days, 'as_of_day.as_of_date') }} as date)
),

service_recovery as (
    select customer_key, trigger_type, priority, category, brand, evidence_type, evidence_id, reason
    from (
        select
            recovery_evidence.*,
            'service_recovery' as trigger_type,
            row_number() over (
                partition by customer_key order by priority desc, evidence_at desc, evidence_id
            ) as evidence_rank
        from recovery_evidence
    ) as ranked
    where evidence_rank = 1
),

candidates as (
    select customer_key, trigger_type, priority, category, brand, evidence_type, evidence_id, reason from retain
    union all
    select customer_key, trigger_type, priority, category, brand, evidence_type, evidence_id, reason from follow_up
    union all
    select customer_key, trigger_type, priority, category, brand, evidence_type, evidence_id, reason from cross_sell
    union all
    select customer_key, trigger_type, priority, category, brand, evidence_type, evidence_id, reason from service_recovery
)

select
    as_of_day.as_of_date as trigger_date,
    candidates.customer_key,
    candidates.trigger_type,
    cast(candidates.priority as integer) as priority,
    candidates.category,
    candidates.brand,
    candidates.evidence_type,
    candidates.evidence_id,
    candidates.reason
from candidates
cross join as_of_day

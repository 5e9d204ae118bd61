-- Trigger 4, service_recovery: open complaints/disputes and negative posts by resolved customers.
-- An open complaint or dispute ticket opened in the last var('trigger_service_recovery_window_days')
-- days, or a negative public mention linked to the person in that window (both up to the as-of
-- date). Priority: open dispute 90, open complaint 85, negative mention 80; the strongest evidence
-- (then the latest, then the smallest id) is the row's. One row per person;
-- int_triggers__candidates unions the four trigger types.
{%- set recovery_days = var('trigger_service_recovery_window_days', 30) %}
{%- set string = api.Column.translate_type('string') %}

with orders as (
    select * from {{ ref('fct_orders') }}
),

as_of as (
    {{- as_of('orders') }}
),

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
        || {{ reason_text(dbt.datediff('tickets.opened_date', 'as_of.as_of_date', 'day')) }} || ' days ago'
        || case when tickets.reopen_count > 0 then ', reopened ' || {{ reason_text('tickets.reopen_count') }} || ' times' else '' end
            as reason
    from {{ ref('fct_service_tickets') }} as tickets
    cross join as_of
    left join orders as related on tickets.order_id = related.order_id
    where tickets.customer_key is not null
        and tickets.opened_at <= as_of.as_of_at
        and tickets.is_open
        and tickets.category in ('complaint', 'dispute')
        and tickets.opened_date >= cast({{ dbt.dateadd('day', -1 * recovery_days, 'as_of.as_of_date') }} as date)

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
        || {{ reason_text(dbt.datediff('mentions.published_date', 'as_of.as_of_date', 'day')) }} || ' days ago' as reason
    from {{ ref('fct_opinion_mentions') }} as mentions
    cross join as_of
    where mentions.customer_key is not null
        and mentions.sentiment_label = 'negative'
        and mentions.published_at <= as_of.as_of_at
        and mentions.published_date >= cast({{ dbt.dateadd('day', -1 * recovery_days, 'as_of.as_of_date') }} as date)
)

select customer_key, trigger_type, priority, category, brand, evidence_type, evidence_id, reason
from (
    select
        recovery_evidence.*,
        'service_recovery' as trigger_type,
        row_number() over (
            partition by customer_key order by priority desc, evidence_at desc, evidence_id asc
        ) as evidence_rank
    from recovery_evidence
) as ranked
where evidence_rank = 1

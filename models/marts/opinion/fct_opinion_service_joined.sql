-- Opinion monitoring joined up with customer service: one row per public mention whose author
-- resolves to a customer (fct_opinion_mentions.customer_key not null), with that person's service
-- history around the post (tickets of any of their accounts, fct_service_tickets.customer_key).
-- "Before the post" means opened at or before published_at; the windows are fixed (30 days before,
-- 7 days after) because the column names say so.
-- A ticket counts as open at post time when its FINAL resolution (resolved_at) is after the post
-- or missing: a ticket resolved, reopened and resolved again counts as open until the last one.
{%- set lookback = 30 %}
{%- set lookahead = 7 %}

with mentions as (
    select
        post_id, customer_key, published_at, published_date, platform, brand, product,
        sentiment_score, sentiment_label, is_negative
    from {{ ref('fct_opinion_mentions') }}
    where customer_key is not null and published_at is not null
),

tickets as (
    select ticket_id, customer_key, opened_at, resolved_at, channel, category, satisfaction
    from {{ ref('fct_service_tickets') }}
    where customer_key is not null and opened_at is not null
),

-- every ticket of the author opened before the post or within the look-ahead after it
pairs as (
    select
        mentions.post_id,
        mentions.published_at,
        tickets.ticket_id,
        tickets.opened_at,
        tickets.resolved_at,
        tickets.channel,
        tickets.category,
        tickets.satisfaction,
        tickets.opened_at <= mentions.published_at as is_before_post,
        tickets.opened_at > {{ dbt.dateadd('day', -1 * lookback, 'mentions.published_at') }} as is_within_lookback,
        tickets.category in ('complaint', 'dispute') as is_complaint,
        (tickets.resolved_at is null or tickets.resolved_at > mentions.published_at) as is_unresolved_at_post
    from mentions
    inner join tickets
        on mentions.customer_key = tickets.customer_key
        and {{ dbt.dateadd('day', lookahead, 'mentions.published_at') }} >= tickets.opened_at
),

history as (
    select
        post_id,
        sum(case when is_before_post then 1 else 0 end) as tickets_before_post,
        sum(case when is_before_post and is_within_lookback then 1 else 0 end) as tickets_prior_window,
        sum(case when is_before_post and is_within_lookback and is_complaint then 1 else 0 end) as complaints_prior_window,
        max(case when is_before_post and is_unresolved_at_post then 1 else 0 end) as has_open_ticket,
        max(case when is_before_post and is_unresolved_at_post and is_complaint then 1 else 0 end) as has_open_complaint,
        avg(case when is_before_post and is_within_lookback then 1.0 * satisfaction end) as avg_satisfaction_prior_window,
        sum(case when not is_before_post then 1 else 0 end) as tickets_after_window
    from pairs
    group by post_id
),

last_ticket as (
    select post_id, ticket_id, opened_at, channel, category, satisfaction, is_unresolved_at_post
    from (
        select
            pairs.*,
            row_number() over (partition by post_id order by opened_at desc, ticket_id desc) as recency_rank
        from pairs
        where is_before_post
    ) as ranked
    where recency_rank = 1
)

select
    mentions.post_id,
    mentions.customer_key,
    mentions.published_at,
    mentions.published_date,
    mentions.platform,
    coalesce(mentions.brand, 'unknown') as brand,
    mentions.product,
    mentions.sentiment_score,
    mentions.sentiment_label,
    coalesce(mentions.is_negative, false) as is_negative,
    cast(coalesce(history.tickets_before_post, 0) as integer) as tickets_before_post,
    cast(coalesce(history.tickets_prior_window, 0) as integer) as tickets_prior_30d,
    cast(coalesce(history.complaints_prior_window, 0) as integer) as complaints_prior_30d,
    coalesce(history.has_open_ticket, 0) = 1 as had_open_ticket_at_post,
    coalesce(history.has_open_complaint, 0) = 1 as had_open_complaint_at_post,
    cast(history.avg_satisfaction_prior_window as double) as avg_satisfaction_prior_30d,
    cast(coalesce(history.tickets_after_window, 0) as integer) as tickets_next_7d,
    last_ticket.ticket_id as last_ticket_id,
    last_ticket.opened_at as last_ticket_opened_at,
    last_ticket.channel as last_ticket_channel,
    last_ticket.category as last_ticket_category,
    cast(last_ticket.satisfaction as integer) as last_ticket_satisfaction,
    coalesce(last_ticket.is_unresolved_at_post, false) as last_ticket_open_at_post,
    cast({{ dbt.datediff('last_ticket.opened_at', 'mentions.published_at', 'hour') }} as integer) as hours_since_last_ticket,
    -- the case service should see first: an angry post after a bad experience
    coalesce(mentions.is_negative, false) and (
        coalesce(history.has_open_complaint, 0) = 1
        or coalesce(history.complaints_prior_window, 0) > 0
        or coalesce(
            last_ticket.satisfaction <= 2
            and last_ticket.opened_at > {{ dbt.dateadd('day', -1 * lookback, 'mentions.published_at') }},
            false
        )
    ) as is_negative_after_bad_service
from mentions
left join history on mentions.post_id = history.post_id
left join last_ticket on mentions.post_id = last_ticket.post_id

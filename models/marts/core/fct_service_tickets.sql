-- One row per service ticket with service-quality measures derived from its event log:
-- first reply = first 'first_reply' event, resolution = last 'resolved' or 'closed' event (full
-- resolution after any reopen), reopen count = 'reopened' events, satisfaction = latest rating.
-- The ticket header's own fields are the fallback when a ticket has no events. Minutes are whole
-- minutes between UTC timestamps (time zones cannot skew them).
-- The index serves the API's customer 360 point lookups (see macros/indexes.sql).
{{ config(indexes=[{'columns': ['customer_key']}]) }}
with tickets as (
    select * from {{ ref('stg_service__tickets') }}
),

events as (
    select * from {{ ref('stg_service__ticket_events') }}
),

event_summary as (
    select
        ticket_id,
        min(case when event_type = 'created' then occurred_at end) as created_event_at,
        min(case when event_type = 'first_reply' then occurred_at end) as first_reply_event_at,
        max(case when event_type in ('resolved', 'closed') then occurred_at end) as resolved_event_at,
        max(case when event_type = 'reopened' then occurred_at end) as last_reopened_at,
        sum(case when event_type = 'reopened' then 1 else 0 end) as reopen_events
    from events
    group by ticket_id
),

latest_rating as (
    select ticket_id, satisfaction
    from (
        select
            ticket_id, satisfaction,
            row_number() over (partition by ticket_id order by occurred_at desc, event_id desc) as recency_rank
        from events
        where event_type = 'rated' and satisfaction is not null
    ) as ranked
    where recency_rank = 1
),

keys as (
    select customer_id, customer_key from {{ ref('int_identity__customer_keys') }}
),

orders as (
    select order_id, primary_brand from {{ ref('fct_orders') }}
),

joined as (
    select
        tickets.ticket_id,
        tickets.customer_id,
        coalesce(keys.customer_key, tickets.customer_id) as customer_key,
        tickets.order_id,
        tickets.channel,
        tickets.category,
        coalesce(event_summary.created_event_at, tickets.created_at) as opened_at,
        coalesce(event_summary.first_reply_event_at, tickets.first_reply_at) as first_reply_at,
        case
            -- reopened after the last resolution: not resolved
            when event_summary.last_reopened_at is not null and (
                    event_summary.resolved_event_at is null
                    or event_summary.last_reopened_at > event_summary.resolved_event_at
                ) then null
            else coalesce(event_summary.resolved_event_at, tickets.resolved_at)
        end as resolved_at,
        case
            when coalesce(event_summary.reopen_events, 0) > coalesce(tickets.reopened_count, 0) then event_summary.reopen_events
            else coalesce(tickets.reopened_count, 0)
        end as reopen_count,
        coalesce(latest_rating.satisfaction, tickets.satisfaction) as satisfaction,
        tickets.lang,
        orders.primary_brand as brand
    from tickets
    left join event_summary on tickets.ticket_id = event_summary.ticket_id
    left join latest_rating on tickets.ticket_id = latest_rating.ticket_id
    left join keys on tickets.customer_id = keys.customer_id
    left join orders on tickets.order_id = orders.order_id
)

select
    ticket_id,
    customer_id,
    customer_key,
    order_id,
    channel,
    category,
    opened_at,
    {{ shop_date('opened_at') }} as opened_date,
    first_reply_at,
    resolved_at,
    cast({{ dbt.datediff('opened_at', 'first_reply_at', 'minute') }} as integer) as first_reply_minutes,
    cast({{ dbt.datediff('opened_at', 'resolved_at', 'minute') }} as integer) as resolution_minutes,
    cast(reopen_count as integer) as reopen_count,
    resolved_at is null as is_open,
    cast(satisfaction as integer) as satisfaction,
    lang,
    brand
from joined

-- Service quality by shop day, ticket channel and ticket category. A ticket belongs to the day it
-- was opened (fct_service_tickets.opened_date, a shop day): volumes, reply and resolution times, reopens
-- and satisfaction describe the tickets opened that day, as they stand at build time.
-- resolved_that_day is the exception: tickets (opened on any day) whose final resolution fell on
-- this shop day, the team's throughput. Medians and 90th percentiles are exact (percentile_cont)
-- and only valid at this grain: they cannot be summed or averaged across rows (the Cube model
-- computes them over fct_service_tickets instead); the *_sum and count columns can. Ratios (reopen
-- rate, average satisfaction, average reply and resolution minutes) are measures of the
-- service_quality_daily cube over these sums and counts; none is stored here.
with tickets as (
    select
        ticket_id,
        coalesce(channel, 'unknown') as channel,
        coalesce(category, 'unknown') as category,
        opened_date,
        {{ shop_date('resolved_at') }} as resolved_date,
        first_reply_minutes,
        resolution_minutes,
        reopen_count,
        is_open,
        satisfaction
    from {{ ref('fct_service_tickets') }}
),

opened as (
    select
        opened_date as day,
        channel,
        category,
        count(*) as tickets,
        sum(case when is_open then 0 else 1 end) as resolved_tickets,
        sum(case when is_open then 1 else 0 end) as open_tickets,
        count(first_reply_minutes) as replied_tickets,
        sum(first_reply_minutes) as first_reply_minutes_sum,
        {{ percentile('first_reply_minutes', 0.5) }} as first_reply_minutes_median,
        {{ percentile('first_reply_minutes', 0.9) }} as first_reply_minutes_p90,
        sum(resolution_minutes) as resolution_minutes_sum,
        {{ percentile('resolution_minutes', 0.5) }} as resolution_minutes_median,
        {{ percentile('resolution_minutes', 0.9) }} as resolution_minutes_p90,
        sum(case when reopen_count > 0 then 1 else 0 end) as reopened_tickets,
        sum(reopen_count) as reopens,
        count(satisfaction) as rated_tickets,
        sum(satisfaction) as satisfaction_sum
    from tickets
    where opened_date is not null
    group by opened_date, channel, category
),

resolved as (
    select
        resolved_date as day,
        channel,
        category,
        count(*) as resolved_that_day
    from tickets
    where resolved_date is not null
    group by resolved_date, channel, category
),

grain as (
    select day, channel, category from opened
    union
    select day, channel, category from resolved
)

select
    grain.day,
    grain.channel,
    grain.category,
    cast(coalesce(opened.tickets, 0) as integer) as tickets,
    cast(coalesce(opened.resolved_tickets, 0) as integer) as resolved_tickets,
    cast(coalesce(opened.open_tickets, 0) as integer) as open_tickets,
    cast(coalesce(resolved.resolved_that_day, 0) as integer) as resolved_that_day,
    cast(coalesce(opened.replied_tickets, 0) as integer) as replied_tickets,
    cast(opened.first_reply_minutes_sum as bigint) as first_reply_minutes_sum,
    cast(opened.first_reply_minutes_median as double) as first_reply_minutes_median,
    cast(opened.first_reply_minutes_p90 as double) as first_reply_minutes_p90,
    cast(opened.resolution_minutes_sum as bigint) as resolution_minutes_sum,
    cast(opened.resolution_minutes_median as double) as resolution_minutes_median,
    cast(opened.resolution_minutes_p90 as double) as resolution_minutes_p90,
    cast(coalesce(opened.reopened_tickets, 0) as integer) as reopened_tickets,
    cast(coalesce(opened.reopens, 0) as integer) as reopens,
    cast(coalesce(opened.rated_tickets, 0) as integer) as rated_tickets,
    cast(opened.satisfaction_sum as bigint) as satisfaction_sum
from grain
left join opened
    on grain.day = opened.day and grain.channel = opened.channel and grain.category = opened.category
left join resolved
    on grain.day = resolved.day and grain.channel = resolved.channel and grain.category = resolved.category

-- Fails on any shop day (var shop_timezone) whose daily service rows do not add up to fct_service_tickets: tickets
-- opened, tickets still open, and final resolutions falling on the day.
with daily as (
    select day, sum(tickets) as tickets, sum(open_tickets) as open_tickets, sum(resolved_that_day) as resolved_that_day
    from {{ ref('fct_service_quality_daily') }}
    group by day
),

opened as (
    select opened_date as day, count(*) as tickets, sum(case when is_open then 1 else 0 end) as open_tickets
    from {{ ref('fct_service_tickets') }}
    where opened_date is not null
    group by opened_date
),

resolved as (
    select {{ shop_date('resolved_at') }} as day, count(*) as resolved_that_day
    from {{ ref('fct_service_tickets') }}
    where resolved_at is not null
    group by {{ shop_date('resolved_at') }}
),

expected as (
    select
        coalesce(opened.day, resolved.day) as day,
        coalesce(opened.tickets, 0) as tickets,
        coalesce(opened.open_tickets, 0) as open_tickets,
        coalesce(resolved.resolved_that_day, 0) as resolved_that_day
    from opened
    full outer join resolved on opened.day = resolved.day
)

select expected.day, expected.tickets, daily.tickets as mart_tickets
from expected
left join daily on expected.day = daily.day
where daily.day is null
    or daily.tickets != expected.tickets
    or daily.open_tickets != expected.open_tickets
    or daily.resolved_that_day != expected.resolved_that_day

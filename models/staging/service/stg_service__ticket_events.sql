with source as (
    select * from {{ source('service', 'service_ticket_events') }}
)

select
    event_id,
    ticket_id,
    event_type,
    {{ utc_timestamp('occurred_at') }} as occurred_at,
    agent_id,
    channel,
    satisfaction,
    note
from source

with source as (
    select * from {{ source('service', 'service_contacts') }}
)

select
    contact_id,
    ticket_id,
    customer_id,
    channel,
    direction,
    category,
    cast(started_at as timestamp) as started_at,
    handle_seconds,
    agent_id,
    contact_point,
    lang,
    summary,
    cast(updated_at as timestamp) as updated_at
from source

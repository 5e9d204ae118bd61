with source as (
    select * from {{ source('service', 'service_tickets') }}
)

select
    ticket_id,
    customer_id,
    order_id,
    agent_id,
    channel,
    category,
    subject,
    lang,
    cast(created_at as timestamp) as created_at,
    cast(first_reply_at as timestamp) as first_reply_at,
    cast(resolved_at as timestamp) as resolved_at,
    status as ticket_status,
    satisfaction,
    coalesce(reopened_count, 0) as reopened_count,
    cast(updated_at as timestamp) as updated_at
from source

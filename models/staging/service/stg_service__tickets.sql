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
    {{ utc_timestamp('created_at') }} as created_at,
    {{ utc_timestamp('first_reply_at') }} as first_reply_at,
    {{ utc_timestamp('resolved_at') }} as resolved_at,
    status as ticket_status,
    satisfaction,
    coalesce(reopened_count, 0) as reopened_count,
    {{ utc_timestamp('updated_at') }} as updated_at
from source

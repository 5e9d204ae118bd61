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
    {{ utc_timestamp('started_at') }} as started_at,
    handle_seconds,
    agent_id,
    contact_point,
    lang,
    summary,
    {{ utc_timestamp('updated_at') }} as updated_at,
    {{ utc_timestamp('_loaded_at') }} as loaded_at
from source

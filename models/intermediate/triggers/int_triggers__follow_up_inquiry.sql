-- Trigger 2, follow_up_inquiry: pre-sale inquiries not followed by a purchase. A pre_sale ticket
-- opened in the last var('trigger_inquiry_window_days') days (up to the as-of date) with no credited
-- valid sale by the person since it was opened; the latest such ticket is the evidence. Priority 60.
-- One row per person; int_triggers__candidates unions the four trigger types.
{%- set inquiry_days = var('trigger_inquiry_window_days', 14) %}
{%- set string = api.Column.translate_type('string') %}

with as_of as (
    {{- as_of(ref('fct_orders')) }}
),

credited_sales as (
    select * from {{ ref('int_triggers__credited_sales') }}
),

inquiries as (
    select
        tickets.customer_key,
        tickets.ticket_id,
        tickets.channel,
        tickets.brand,
        tickets.opened_at,
        {{ dbt.datediff('tickets.opened_date', 'as_of.as_of_date', 'day') }} as days_ago,
        row_number() over (partition by tickets.customer_key order by tickets.opened_at desc, tickets.ticket_id asc) as inquiry_rank
    from {{ ref('fct_service_tickets') }} as tickets
    cross join as_of
    where tickets.customer_key is not null
        and tickets.opened_at <= as_of.as_of_at
        and tickets.category in ('pre_sale', 'pre_sale_inquiry')
        and tickets.opened_date >= cast({{ dbt.dateadd('day', -1 * inquiry_days, 'as_of.as_of_date') }} as date)
        and not exists (
            select 1 from credited_sales
            where credited_sales.customer_key = tickets.customer_key
                and credited_sales.ordered_at >= tickets.opened_at
        )
)

select
    customer_key,
    'follow_up_inquiry' as trigger_type,
    60 as priority,
    cast(null as {{ string }}) as category,
    brand,
    'pre_sale_ticket' as evidence_type,
    ticket_id as evidence_id,
    'Pre-sale inquiry ' || ticket_id || ' by ' || coalesce(channel, 'unknown channel')
    || coalesce(' about ' || brand, '') || ' ' || {{ reason_text('days_ago') }}
    || ' days ago, no purchase since' as reason
from inquiries
where inquiry_rank = 1

-- Who an order belongs to and whether it is an "accidental transaction": an order placed under one
-- person's account but shipped to ANOTHER known person (the receiver's normalised phone is a
-- contact point of a different customer_key and of nobody in the account holder's cluster).
-- Such orders are not credited to the account holder: credited_customer_key is null and
-- shipped_to_customer_key names the person the parcel went to (not credited to them either: they
-- did not pay under their own account; analysts can still see who it was).
with orders as (
    select order_id, customer_id, ship_name, ship_phone, updated_at from {{ ref('stg_shop__orders') }}
),

keys as (
    select * from {{ ref('int_identity__customer_keys') }}
),

phone_owners as (
    select distinct points.point_value as phone, keys.customer_key, keys.identity_updated_at
    from {{ ref('int_identity__contact_points') }} as points
    inner join keys on points.customer_id = keys.customer_id
    where points.point_type = 'phone'
),

order_phones as (
    select
        orders.order_id,
        orders.customer_id,
        orders.ship_name,
        {{ normalize_phone('orders.ship_phone') }} as ship_phone_normalized,
        coalesce(keys.customer_key, orders.customer_id) as customer_key,
        keys.identity_updated_at
    from orders
    left join keys on orders.customer_id = keys.customer_id
),

receivers as (
    select
        order_phones.order_id,
        -- 1 when the ship phone is one of the account holder's own (cluster's) phones
        max(case when phone_owners.customer_key = order_phones.customer_key then 1 else 0 end) as ships_to_self,
        min(case when phone_owners.customer_key <> order_phones.customer_key then phone_owners.customer_key end) as other_key,
        count(distinct case when phone_owners.customer_key <> order_phones.customer_key then phone_owners.customer_key end) as other_key_count,
        max(phone_owners.identity_updated_at) as receiver_identity_updated_at
    from order_phones
    left join phone_owners on order_phones.ship_phone_normalized = phone_owners.phone
    group by order_phones.order_id
),

flagged as (
    select
        order_phones.order_id,
        order_phones.customer_id,
        order_phones.customer_key,
        order_phones.ship_phone_normalized,
        coalesce(receivers.ships_to_self, 0) = 0 and receivers.other_key_count = 1 as is_accidental,
        receivers.other_key,
        order_phones.identity_updated_at,
        receivers.receiver_identity_updated_at
    from order_phones
    inner join receivers on order_phones.order_id = receivers.order_id
)

select
    order_id,
    customer_id,
    customer_key,
    case when is_accidental then null else customer_key end as credited_customer_key,
    is_accidental,
    case when is_accidental then 'ship_phone_of_other_customer' end as accidental_reason,
    case when is_accidental then other_key end as shipped_to_customer_key,
    ship_phone_normalized,
    case
        when receiver_identity_updated_at is null then identity_updated_at
        when identity_updated_at is null then receiver_identity_updated_at
        when receiver_identity_updated_at > identity_updated_at then receiver_identity_updated_at
        else identity_updated_at
    end as identity_updated_at
from flagged

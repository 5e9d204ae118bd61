-- Who an order belongs to and whether it is an "accidental transaction": an order placed under one
-- person's account but shipped to ANOTHER known person (the receiver's normalised phone is a
-- contact point of a different customer_key and of nobody in the account holder's cluster).
-- Such orders are not credited to the account holder: credited_customer_key is null and
-- shipped_to_customer_key names the person the parcel went to (not credited to them either: they
-- did not pay under their own account; analysts can still see who it was).
-- A guest order (no customer_id) has no customer_key and no credited_customer_key, and is never
-- accidental: its ship phone does not make it anyone's (shipping contacts are not identity evidence).
--
-- Incremental (delete+insert on order_id). The outcome of an order depends on its header (account,
-- ship phone), on the person of its account holder and on the persons owning its ship phone, so an
-- order is evaluated again when
--   * its header was loaded since the last build, or its updated_at is within the lookback;
--   * its account holder's cluster changed: identity evidence of the cluster within the lookback
--     (a merge brings new evidence with its own time);
--   * its ship phone is a contact point of a person whose identity evidence changed: a phone newly
--     attached to another person makes orders shipped to it accidental, a phone newly attached to
--     the holder's own cluster (or to a second person) makes them credited again. Every account of
--     a changed person counts, so re-keying of an owner is covered too;
--   * during a backfill, it was ordered in the window.
-- The phone owners of the re-evaluated orders are then read in full (all owners of their phones).
{{ config(
    materialized='incremental',
    unique_key='order_id',
    incremental_strategy=crm_incremental_strategy(),
    on_schema_change='fail'
) }}

with keys as (
    select * from {{ ref('int_identity__customer_keys') }}
),

{% if is_incremental() %}
identity_changed_accounts as (
    select customer_id
    from keys
    where identity_updated_at > {{ incremental_cutoff('source_updated_at') }}
),

identity_changed_phones as (
    select distinct point_value as phone
    from {{ ref('int_identity__contact_points') }}
    where point_type = 'phone'
        and customer_id in (select customer_id from identity_changed_accounts)
),

changed_orders as (
    select order_id
    from {{ ref('stg_shop__orders') }}
    where loaded_at > {{ incremental_load_cutoff('source_loaded_at') }}
        or updated_at > {{ incremental_cutoff('source_updated_at') }}
        or customer_id in (select customer_id from identity_changed_accounts)
        or {{ backfill_window('ordered_at') }}
    union
    select previous.order_id
    from {{ this }} as previous
    where previous.ship_phone_normalized in (select phone from identity_changed_phones)
),
{% endif %}

orders as (
    select order_id, customer_id, ship_name, ship_phone, updated_at, loaded_at
    from {{ ref('stg_shop__orders') }}
    {% if is_incremental() %}
    where order_id in (select order_id from changed_orders)
    {% endif %}
),

order_phones as (
    select
        orders.order_id,
        orders.customer_id,
        orders.ship_name,
        {{ normalize_phone('orders.ship_phone') }} as ship_phone_normalized,
        coalesce(keys.customer_key, orders.customer_id) as customer_key,
        keys.identity_updated_at,
        orders.updated_at as order_updated_at,
        orders.loaded_at as order_loaded_at
    from orders
    left join keys on orders.customer_id = keys.customer_id
),

phone_owners as (
    select distinct points.point_value as phone, keys.customer_key, keys.identity_updated_at
    from {{ ref('int_identity__contact_points') }} as points
    inner join keys on points.customer_id = keys.customer_id
    where points.point_type = 'phone'
        {% if is_incremental() %}
        and points.point_value in (select ship_phone_normalized from order_phones)
        {% endif %}
),

receivers as (
    select
        order_phones.order_id,
        -- 1 when the ship phone is one of the account holder's own (cluster's) phones
        max(case when phone_owners.customer_key = order_phones.customer_key then 1 else 0 end) as ships_to_self,
        min(case when phone_owners.customer_key <> order_phones.customer_key then phone_owners.customer_key end) as other_key,
        count(
            distinct case when phone_owners.customer_key <> order_phones.customer_key then phone_owners.customer_key end
        ) as other_key_count,
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
        receivers.receiver_identity_updated_at,
        order_phones.order_updated_at,
        order_phones.order_loaded_at
    from order_phones
    inner join receivers on order_phones.order_id = receivers.order_id
),

final as (
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
        end as identity_updated_at,
        order_updated_at,
        order_loaded_at
    from flagged
)

select
    order_id,
    customer_id,
    customer_key,
    credited_customer_key,
    is_accidental,
    accidental_reason,
    shipped_to_customer_key,
    ship_phone_normalized,
    identity_updated_at,
    -- The business-time watermark: the later of the order header's updated_at and identity_updated_at.
    case
        when identity_updated_at is null or order_updated_at > identity_updated_at then order_updated_at
        else identity_updated_at
    end as source_updated_at,
    -- The load-time watermark: when the order header was last loaded.
    order_loaded_at as source_loaded_at
from final

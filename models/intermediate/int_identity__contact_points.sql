-- Every contact point ever seen for an account, normalised: profile versions (current and old
-- phones, mobiles, e-mails, WeChat and QQ ids) and the contact points customers used with the
-- service desk. One row per (customer_id, point_type, point_value, evidence_source).
-- Shipping contacts are deliberately NOT evidence: a parcel sent to a friend must not merge accounts.
-- Incremental (delete+insert on customer_id, several rows per key): an account's points depend only
-- on its own profile versions, current profile and service contacts, so an account is normalised
-- again, from all of its rows, when one of them was loaded since the last build (last_loaded_at) or
-- has an updated_at within the lookback of the latest last_seen_at.
{{ config(
    materialized='incremental',
    unique_key='customer_id',
    incremental_strategy=crm_incremental_strategy(rows_per_key='many'),
    on_schema_change='fail'
) }}

{% if is_incremental() %}
with changed_accounts as (
    select customer_id from {{ ref('stg_shop__customer_versions') }}
    where loaded_at > {{ incremental_load_cutoff('last_loaded_at') }}
        or updated_at > {{ incremental_cutoff('last_seen_at') }}
    union
    select customer_id from {{ ref('stg_shop__customers') }}
    where loaded_at > {{ incremental_load_cutoff('last_loaded_at') }}
        or updated_at > {{ incremental_cutoff('last_seen_at') }}
    union
    select customer_id from {{ ref('stg_service__contacts') }}
    where loaded_at > {{ incremental_load_cutoff('last_loaded_at') }}
        or updated_at > {{ incremental_cutoff('last_seen_at') }}
),

versions as (
    select * from {{ ref('stg_shop__customer_versions') }}
    where customer_id in (select customer_id from changed_accounts)
),
{% else %}
with versions as (
    select * from {{ ref('stg_shop__customer_versions') }}
),
{% endif %}

current_profiles as (
    select * from {{ ref('stg_shop__customers') }}
    {% if is_incremental() %}where customer_id in (select customer_id from changed_accounts){% endif %}
),

profile_rows as (
    select customer_id, email, phone, mobile, wechat_id, qq_id, updated_at, loaded_at from versions
    union all
    select customer_id, email, phone, mobile, wechat_id, qq_id, updated_at, loaded_at from current_profiles
),

contacts as (
    select * from {{ ref('stg_service__contacts') }}
    {% if is_incremental() %}where customer_id in (select customer_id from changed_accounts){% endif %}
),

points as (
    select
        customer_id, 'email' as point_type, {{ normalize_email('email') }} as point_value,
        'profile' as evidence_source, updated_at, loaded_at
    from profile_rows
    union all
    select
        customer_id, 'phone' as point_type, {{ normalize_phone('phone') }} as point_value,
        'profile' as evidence_source, updated_at, loaded_at
    from profile_rows
    union all
    select
        customer_id, 'phone' as point_type, {{ normalize_phone('mobile') }} as point_value,
        'profile' as evidence_source, updated_at, loaded_at
    from profile_rows
    union all
    select
        customer_id, 'wechat' as point_type, {{ normalize_handle('wechat_id') }} as point_value,
        'profile' as evidence_source, updated_at, loaded_at
    from profile_rows
    union all
    select
        customer_id, 'qq' as point_type, {{ normalize_handle('qq_id') }} as point_value,
        'profile' as evidence_source, updated_at, loaded_at
    from profile_rows
    union all
    select
        customer_id,
        case channel when 'phone' then 'phone' when 'email' then 'email' when 'wechat' then 'wechat' when 'qq' then 'qq' end as point_type,
        case channel
            when 'phone' then {{ normalize_phone('contact_point') }}
            when 'email' then {{ normalize_email('contact_point') }}
            when 'wechat' then {{ normalize_handle('contact_point') }}
            when 'qq' then {{ normalize_handle('contact_point') }}
        end as point_value,
        'service_contact' as evidence_source,
        updated_at,
        loaded_at
    from contacts
)

select
    customer_id,
    point_type,
    point_value,
    evidence_source,
    max(updated_at) as last_seen_at,
    max(loaded_at) as last_loaded_at
from points
where point_type is not null and point_value is not null
group by customer_id, point_type, point_value, evidence_source

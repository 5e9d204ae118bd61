-- Every contact point ever seen for an account, normalised: profile versions (current and old
-- phones, mobiles, e-mails, WeChat and QQ ids) and the contact points customers used with the
-- service desk. One row per (customer_id, point_type, point_value, evidence_source).
-- Shipping contacts are deliberately NOT evidence: a parcel sent to a friend must not merge accounts.
with versions as (
    select * from {{ ref('stg_shop__customer_versions') }}
),

current_profiles as (
    select * from {{ ref('stg_shop__customers') }}
),

profile_rows as (
    select customer_id, email, phone, mobile, wechat_id, qq_id, updated_at from versions
    union all
    select customer_id, email, phone, mobile, wechat_id, qq_id, updated_at from current_profiles
),

contacts as (
    select * from {{ ref('stg_service__contacts') }}
),

points as (
    select customer_id, 'email' as point_type, {{ normalize_email('email') }} as point_value, 'profile' as evidence_source, updated_at from profile_rows
    union all
    select customer_id, 'phone', {{ normalize_phone('phone') }}, 'profile', updated_at from profile_rows
    union all
    select customer_id, 'phone', {{ normalize_phone('mobile') }}, 'profile', updated_at from profile_rows
    union all
    select customer_id, 'wechat', {{ normalize_handle('wechat_id') }}, 'profile', updated_at from profile_rows
    union all
    select customer_id, 'qq', {{ normalize_handle('qq_id') }}, 'profile', updated_at from profile_rows
    union all
    select
        customer_id,
        case channel when 'phone' then 'phone' when 'email' then 'email' when 'wechat' then 'wechat' when 'qq' then 'qq' end,
        case channel
            when 'phone' then {{ normalize_phone('contact_point') }}
            when 'email' then {{ normalize_email('contact_point') }}
            when 'wechat' then {{ normalize_handle('contact_point') }}
            when 'qq' then {{ normalize_handle('contact_point') }}
        end,
        'service_contact',
        updated_at
    from contacts
)

select
    customer_id,
    point_type,
    point_value,
    evidence_source,
    max(updated_at) as last_seen_at
from points
where point_type is not null and point_value is not null
group by customer_id, point_type, point_value, evidence_source

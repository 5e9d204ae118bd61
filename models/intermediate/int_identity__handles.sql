-- Platform handles that resolve to a person. The shop holds no authoritative handle list, so a
-- public author handle is linked to a customer only when it equals (case-insensitive) their WeChat
-- id without its "wx_" prefix, or the leading word of their e-mail local part (cut at '.' or '_').
-- A handle claimed by more than one person is ambiguous and resolves to nobody.
-- Heuristic by nature: it links handles to accounts for opinion monitoring, it never merges accounts.
with points as (
    select * from {{ ref('int_identity__contact_points') }}
    where evidence_source = 'profile' and point_type in ('wechat', 'email')
),

candidates as (
    select
        customer_id,
        case
            when point_type = 'wechat' and substring(point_value, 1, 3) = 'wx_'
                then {{ dbt.right('point_value', 'length(point_value) - 3') }}
            when point_type = 'email' then {{ dbt.split_part(dbt.split_part(dbt.split_part('point_value', "'@'", 1), "'.'", 1), "'_'", 1) }}
        end as handle,
        last_seen_at
    from points
),

keyed as (
    select candidates.handle, keys.customer_key, max(keys.identity_updated_at) as identity_updated_at
    from candidates
    inner join {{ ref('int_identity__customer_keys') }} as keys on candidates.customer_id = keys.customer_id
    where candidates.handle is not null and length(candidates.handle) >= 4
    group by candidates.handle, keys.customer_key
)

select
    handle,
    min(customer_key) as customer_key,
    max(identity_updated_at) as identity_updated_at
from keyed
group by handle
having count(*) = 1

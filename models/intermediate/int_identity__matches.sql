-- Match evidence: one row per pair of accounts (customer_id_a < customer_id_b) that share a
-- normalised phone, e-mail, WeChat or QQ id. Deterministic rules only. A value shared by more
-- than var('identity_max_accounts_per_value') accounts (a shop's own hotline, a placeholder) is
-- treated as junk and never links anyone.
with points as (
    select distinct customer_id, point_type, point_value
    from {{ ref('int_identity__contact_points') }}
),

usable_values as (
    select point_type, point_value
    from points
    group by point_type, point_value
    having count(*) between 2 and {{ var('identity_max_accounts_per_value', 5) }}
),

shared as (
    select points.*
    from points
    inner join usable_values
        on points.point_type = usable_values.point_type
        and points.point_value = usable_values.point_value
)

select
    a.customer_id as customer_id_a,
    b.customer_id as customer_id_b,
    a.point_type as matched_on,
    a.point_value as normalized_value
from shared as a
inner join shared as b
    on a.point_type = b.point_type
    and a.point_value = b.point_value
    and a.customer_id < b.customer_id

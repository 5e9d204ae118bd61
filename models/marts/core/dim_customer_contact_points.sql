-- Every normalised contact point of a person (customer_key), as identity resolution saw it: current
-- and earlier profile values and the points used with the service desk. The API's customer lookup
-- by e-mail, phone, WeChat or QQ reads this table, so a lookup finds exactly the people identity
-- resolution matched, with the normalisation written once (macros/contact_points.sql).
-- The index serves the lookup's point query (see macros/indexes.sql).
{{ config(indexes=[{'columns': ['point_type', 'point_value']}]) }}
with points as (
    select * from {{ ref('int_identity__contact_points') }}
),

keys as (
    select * from {{ ref('int_identity__customer_keys') }}
)

select
    keys.customer_key,
    points.point_type,
    points.point_value,
    max(points.last_seen_at) as last_seen_at
from points
inner join keys on points.customer_id = keys.customer_id
group by keys.customer_key, points.point_type, points.point_value

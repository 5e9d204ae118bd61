-- Lists every segment of rfm_segment_rules that the data can reach but no customer is in. A segment
-- is reachable when it is the winning rule (lowest priority number) of at least one (r, f, m) score
-- combination whose r, f and m scores each occur among the scored customers; a score no customer has
-- (e.g. F = 5 in a shop where nobody ordered 10 times) makes the combinations needing it unreachable.
-- A real shop may still lack a combination (no recent one-time buyer, so no New), hence a warning by
-- default; on the generated sample shop every segment must appear:
-- --vars '{rfm_segment_reach_severity: error}'.
{{ config(severity=var('rfm_segment_reach_severity', 'warn')) }}

with value as (
    select r_score, f_score, m_score, rfm_segment from {{ ref('customer_value') }}
    where r_score is not null
),

rules as (
    select * from {{ ref('rfm_segment_rules') }}
),

grid as (
    select r.r_score, f.f_score, m.m_score
    from (select distinct r_score from value) as r
    cross join (select distinct f_score from value) as f
    cross join (select distinct m_score from value) as m
),

winners as (
    select
        grid.r_score,
        grid.f_score,
        grid.m_score,
        rules.segment_name,
        row_number() over (partition by grid.r_score, grid.f_score, grid.m_score order by rules.priority) as rule_rank
    from grid
    inner join rules
        on grid.r_score between rules.r_min and rules.r_max
        and grid.f_score between rules.f_min and rules.f_max
        and grid.m_score between rules.m_min and rules.m_max
),

reachable as (
    select distinct segment_name from winners
    where rule_rank = 1
)

select reachable.segment_name
from reachable
left join (select distinct rfm_segment from value) as present on reachable.segment_name = present.rfm_segment
where present.rfm_segment is null

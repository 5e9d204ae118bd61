-- Fails on every (r, f, m) score combination, 1-5 each, that no rfm_segment_rules row matches:
-- every scored customer must get a named segment.
with scores as (
    select 1 as score union all select 2 union all select 3 union all select 4 union all select 5
),

grid as (
    select r.score as r_score, f.score as f_score, m.score as m_score
    from scores as r cross join scores as f cross join scores as m
)

select grid.r_score, grid.f_score, grid.m_score
from grid
left join {{ ref('rfm_segment_rules') }} as rules
    on grid.r_score between rules.r_min and rules.r_max
    and grid.f_score between rules.f_min and rules.f_max
    and grid.m_score between rules.m_min and rules.m_max
where rules.segment_name is null

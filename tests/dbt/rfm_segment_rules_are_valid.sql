-- Fails on any rfm_segment_rules row whose ranges are inverted (min above max).
select segment_name
from {{ ref('rfm_segment_rules') }}
where r_min > r_max or f_min > f_max or m_min > m_max

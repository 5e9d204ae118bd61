-- Fails on any (cohort_month, months_since_first) pair that appears more than once.
select cohort_month, months_since_first, count(*) as rows_per_key
from {{ ref('fct_cohort_retention') }}
group by cohort_month, months_since_first
having count(*) > 1

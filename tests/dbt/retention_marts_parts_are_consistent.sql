-- The retention marts carry the parts of the cubes' retention and repeat purchase rates, not the
-- rates: each part must keep its rate between 0 and 1 on every row (the checks the ratio columns'
-- value_between tests made), and month 0 retains the whole cohort. Returns each row and part that
-- breaks it.
select cast(cohort_month as string) || '/' || cast(months_since_first as string) as row_key, 'active_customers' as part
from {{ ref('fct_cohort_retention') }}
where
    active_customers < 0
    or cohort_size <= 0
    or active_customers > cohort_size
    or (months_since_first = 0 and active_customers <> cohort_size)

union all

select cast(month as string) as row_key, 'repeat_customers' as part
from {{ ref('fct_customer_activity_monthly') }}
where repeat_customers < 0 or repeat_customers > active_customers

-- fct_kpi_periods carries the parts of the kpi_periods cube's ratios, not the ratios: each part must
-- keep its ratio in range on every row (the checks the ratio columns' value_between tests made).
-- Returns each row and part that breaks it.
{%- set checks = [
    ('repeat_customers', 'repeat_customers > active_customers'),
    ('retained_customers', 'retained_customers > coalesce(retention_base_customers, 0)'),
    ('retained_customers', 'retained_customers > active_customers'),
    ('satisfaction_sum', 'satisfaction_sum < 1 * rated_tickets or satisfaction_sum > 5 * rated_tickets'),
    ('rated_tickets', 'rated_tickets > tickets'),
    ('negative_mentions', 'negative_mentions > mentions'),
    ('scored_mentions', 'scored_mentions > mentions'),
    ('sentiment_score_sum', 'abs(sentiment_score_sum) > scored_mentions + 0.000001'),
    ('prev_retention_base_customers', 'prev_retained_customers > coalesce(prev_retention_base_customers, 0)'),
] %}
{%- for part, broken in checks %}
{%- if not loop.first %}
union all
{%- endif %}
select period_grain, period_start, '{{ part }}' as part
from {{ ref('fct_kpi_periods') }}
where {{ broken }}
{%- endfor %}

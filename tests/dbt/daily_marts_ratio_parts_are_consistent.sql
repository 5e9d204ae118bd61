-- The daily service and opinion marts carry the parts of the cubes' ratios, not the ratios: each
-- part must keep its ratio in range on every row (the checks the ratio columns' value_between tests
-- made). Returns each row and part that breaks it.
select cast(day as string) || '|' || channel || '|' || category as row_key, 'reopened_tickets' as part
from {{ ref('fct_service_quality_daily') }}
where reopened_tickets > tickets

union all

select cast(day as string) || '|' || channel || '|' || category as row_key, 'satisfaction_sum' as part
from {{ ref('fct_service_quality_daily') }}
where satisfaction_sum < 1 * rated_tickets or satisfaction_sum > 5 * rated_tickets

union all

select cast(day as string) as row_key, 'category_tickets' as part
from {{ ref('fct_service_rates_daily') }}
where complaint_tickets + return_tickets + dispute_tickets > tickets

union all

select cast(day as string) || '|' || platform || '|' || brand as row_key, 'negative_mentions' as part
from {{ ref('fct_opinion_daily') }}
where negative_mentions > mentions or scored_mentions > mentions

union all

select cast(day as string) || '|' || platform || '|' || brand as row_key, 'sentiment_score_sum' as part
from {{ ref('fct_opinion_daily') }}
where abs(sentiment_score_sum) > scored_mentions + 0.000001

union all

select cast(day as string) || '|' || platform || '|' || brand as row_key, 'baseline_negative_mentions' as part
from {{ ref('fct_opinion_daily') }}
where baseline_negative_mentions > baseline_mentions

-- Fails with one row per problem of the rfm_scoring seed: a metric (recency, frequency, monetary)
-- missing or with more than one method; a distinct_quantile metric with other than one row or with
-- a score or bounds; a bins metric without exactly the scores 1-5 once each, with an empty or
-- inverted bin, with a gap or overlap between consecutive bins (each bin must start where the one
-- below ends), or whose top bin is closed (a value above it would get no score).
with scoring as (
    select * from {{ ref('rfm_scoring') }}
),

metrics as (
    select 'recency' as metric
    union all
    select 'frequency'
    union all
    select 'monetary'
),

per_metric as (
    select
        metrics.metric,
        count(scoring.metric) as row_count,
        count(distinct scoring.method) as methods,
        min(scoring.method) as method,
        count(distinct scoring.score) as distinct_scores,
        min(scoring.score) as min_score,
        max(scoring.score) as max_score,
        count(scoring.score) as scored_rows,
        count(scoring.lower_bound) + count(scoring.upper_bound) as bounds
    from metrics
    left join scoring on metrics.metric = scoring.metric
    group by metrics.metric
),

bins as (
    select
        metric,
        score,
        lower_bound,
        upper_bound,
        lag(upper_bound) over (partition by metric order by lower_bound) as previous_upper_bound,
        row_number() over (partition by metric order by lower_bound) as bin_from_bottom,
        row_number() over (partition by metric order by lower_bound desc) as bin_from_top
    from scoring
    where method = 'bins'
)

select metric, cast(null as integer) as score, 'no rows' as problem from per_metric
where row_count = 0
union all
select metric, null as score, 'several methods' as problem from per_metric
where methods > 1
union all
select metric, null as score, 'distinct_quantile needs exactly one row, without score or bounds' as problem
from per_metric
where methods = 1 and method = 'distinct_quantile' and (row_count <> 1 or scored_rows > 0 or bounds > 0)
union all
select metric, null as score, 'bins need the scores 1-5 once each' as problem
from per_metric
where methods = 1 and method = 'bins' and (row_count <> 5 or distinct_scores <> 5 or min_score <> 1 or max_score <> 5)
union all
select metric, score, 'empty or inverted bin' as problem
from bins
where lower_bound >= upper_bound
union all
select metric, score, 'gap or overlap with the bin below' as problem
from bins
where bin_from_bottom > 1 and (previous_upper_bound is null or lower_bound is null or lower_bound <> previous_upper_bound)
union all
select metric, score, 'the top bin must have no upper_bound' as problem
from bins
where bin_from_top = 1 and upper_bound is not null

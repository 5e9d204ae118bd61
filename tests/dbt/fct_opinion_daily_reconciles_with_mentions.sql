-- Fails when fct_opinion_daily loses or invents mentions: per shop day, its mentions and negative
-- mentions must equal fct_opinion_mentions'; and a flagged spike must satisfy its own baseline.
with daily as (
    select day, sum(mentions) as mentions, sum(negative_mentions) as negative_mentions
    from {{ ref('fct_opinion_daily') }}
    group by day
),

mentions as (
    select published_date as day, count(*) as mentions, sum(case when sentiment_label = 'negative' then 1 else 0 end) as negative_mentions
    from {{ ref('fct_opinion_mentions') }}
    where published_date is not null
    group by published_date
)

select mentions.day, 'count mismatch' as problem
from mentions
left join daily on mentions.day = daily.day
where daily.day is null
    or daily.mentions != mentions.mentions
    or daily.negative_mentions != mentions.negative_mentions

union all

select day, 'spike below its threshold' as problem
from {{ ref('fct_opinion_daily') }}
where is_negative_spike
    and (negative_mentions <= spike_threshold
        or negative_mentions < {{ var('opinion_spike_min_negative', 3) }}
        or baseline_days < {{ var('opinion_spike_min_history_days', 7) }})

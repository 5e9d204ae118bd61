-- Public opinion by shop day (published_date), platform and brand ('unknown' when the post names
-- none). Product is left out of the grain on purpose: half the posts name no product and the rest
-- spread over dozens, so a day x platform x product series is almost all zeros and no baseline can
-- be estimated; product detail stays in fct_opinion_mentions (and the opinion_mentions cube).
--
-- The sentiment index (mean sentiment_score, -1..1, of the scored mentions, the same definition as
-- the opinion_mentions cube), the negative share and the trailing negative share are measures or
-- dimensions of the opinion_daily cube over the parts stored here (sentiment_score_sum /
-- scored_mentions, negative_mentions / mentions, baseline_negative_mentions / baseline_mentions), so
-- they re-aggregate exactly; no ratio of them is stored. The baseline mean and standard deviation
-- stay here: the spike flag is computed from them.
--
-- Negative spike: the day's negative mentions against the same platform x brand over the
-- var('opinion_spike_baseline_days') calendar days BEFORE it (the day itself excluded). Days
-- without mentions count as zero, so the baseline is computed on calendar days through a join on
-- a date range rather than `rows between ... preceding` over this table's rows (which skip empty
-- days and would stretch the window over months of a sparse series). The window is clipped to the
-- series' history (first mention of that platform x brand); a day is a spike when
--   history >= var('opinion_spike_min_history_days')
--   and negative_mentions >= var('opinion_spike_min_negative')
--   and negative_mentions > mean + var('opinion_spike_stddevs') * stddev (population, over the window).
{%- set baseline_days = var('opinion_spike_baseline_days', 28) %}

with mentions as (
    select
        published_date as day,
        coalesce(platform, 'unknown') as platform,
        coalesce(brand, 'unknown') as brand,
        sentiment_label,
        sentiment_score
    from {{ ref('fct_opinion_mentions') }}
    where published_date is not null
),

daily as (
    select
        day,
        platform,
        brand,
        count(*) as mentions,
        sum(case when sentiment_label = 'positive' then 1 else 0 end) as positive_mentions,
        sum(case when sentiment_label = 'neutral' then 1 else 0 end) as neutral_mentions,
        sum(case when sentiment_label = 'negative' then 1 else 0 end) as negative_mentions,
        count(sentiment_score) as scored_mentions,
        sum(sentiment_score) as sentiment_score_sum
    from mentions
    group by day, platform, brand
),

series as (
    select platform, brand, min(day) as first_day
    from daily
    group by platform, brand
),

prior_window as (
    select
        this_day.day,
        this_day.platform,
        this_day.brand,
        sum(prior_day.negative_mentions) as negative_sum,
        sum(prior_day.negative_mentions * prior_day.negative_mentions) as negative_square_sum,
        sum(prior_day.mentions) as mentions_sum
    from daily as this_day
    inner join daily as prior_day
        on this_day.platform = prior_day.platform
        and this_day.brand = prior_day.brand
        and this_day.day > prior_day.day
        and cast({{ dbt.dateadd('day', -1 * baseline_days, 'this_day.day') }} as date) <= prior_day.day
    group by this_day.day, this_day.platform, this_day.brand
),

with_history as (
    select
        daily.*,
        case
            when {{ dbt.datediff('series.first_day', 'daily.day', 'day') }} < {{ baseline_days }}
                then {{ dbt.datediff('series.first_day', 'daily.day', 'day') }}
            else {{ baseline_days }}
        end as baseline_days,
        coalesce(prior_window.negative_sum, 0) as baseline_negative_sum,
        coalesce(prior_window.negative_square_sum, 0) as baseline_negative_square_sum,
        coalesce(prior_window.mentions_sum, 0) as baseline_mentions
    from daily
    inner join series on daily.platform = series.platform and daily.brand = series.brand
    left join prior_window
        on daily.day = prior_window.day and daily.platform = prior_window.platform and daily.brand = prior_window.brand
),

baseline as (
    select
        with_history.*,
        case when baseline_days > 0 then 1.0 * baseline_negative_sum / baseline_days end as baseline_negative_mean,
        case when baseline_days > 0 then
                -- population variance E[x^2] - E[x]^2, clamped at 0 against rounding
                case
                    when 1.0 * baseline_negative_square_sum / baseline_days
                        - (1.0 * baseline_negative_sum / baseline_days) * (1.0 * baseline_negative_sum / baseline_days) > 0
                        then sqrt(
                                1.0 * baseline_negative_square_sum / baseline_days
                                - (1.0 * baseline_negative_sum / baseline_days) * (1.0 * baseline_negative_sum / baseline_days)
                            )
                    else 0
                end
        end as baseline_negative_stddev
    from with_history
)

select
    day,
    platform,
    brand,
    cast(mentions as integer) as mentions,
    cast(positive_mentions as integer) as positive_mentions,
    cast(neutral_mentions as integer) as neutral_mentions,
    cast(negative_mentions as integer) as negative_mentions,
    cast(scored_mentions as integer) as scored_mentions,
    cast(sentiment_score_sum as double) as sentiment_score_sum,
    cast(baseline_days as integer) as baseline_days,
    cast(baseline_mentions as integer) as baseline_mentions,
    cast(baseline_negative_sum as integer) as baseline_negative_mentions,
    cast(baseline_negative_mean as double) as baseline_negative_mean,
    cast(baseline_negative_stddev as double) as baseline_negative_stddev,
    cast(baseline_negative_mean + {{ var('opinion_spike_stddevs', 3) }} * baseline_negative_stddev as double) as spike_threshold,
    coalesce(
        baseline_days >= {{ var('opinion_spike_min_history_days', 7) }}
        and negative_mentions >= {{ var('opinion_spike_min_negative', 3) }}
        and negative_mentions > baseline_negative_mean + {{ var('opinion_spike_stddevs', 3) }} * baseline_negative_stddev,
        false
    ) as is_negative_spike
from baseline

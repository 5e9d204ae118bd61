-- One row per public post or review, linked to a customer where its author handle resolves
-- (int_identity__handles). Sentiment comes scored from extraction (raw.opinion_posts).
-- Incremental: a post is rebuilt when it was (re)loaded, or when its handle's resolution changed,
-- since the last build minus var('incremental_lookback_days').
{{ config(
    materialized='incremental',
    unique_key='post_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}

with posts as (
    select * from {{ ref('stg_opinion__posts') }}
),

handles as (
    select * from {{ ref('int_identity__handles') }}
),

joined as (
    select
        posts.post_id,
        posts.platform,
        coalesce(posts.source_feed, 'opinion_posts') as source_feed,
        posts.author_handle,
        handles.customer_key,
        posts.published_at,
        cast({{ dbt.date_trunc('day', 'posts.published_at') }} as date) as published_date,
        posts.language as lang,
        posts.rating,
        posts.brand,
        posts.product,
        posts.sentiment_score,
        posts.sentiment_label,
        coalesce(posts.sentiment_label = 'negative', false) as is_negative,
        posts.scorer,
        posts.scorer_version,
        posts.url,
        posts.title,
        posts.post_text as text,
        case
            when handles.identity_updated_at is not null and handles.identity_updated_at > posts.loaded_at
            then handles.identity_updated_at
            else posts.loaded_at
        end as source_updated_at
    from posts
    left join handles on lower(posts.author_handle) = handles.handle
)

select * from joined
{% if is_incremental() %}
where {{ incremental_window('source_updated_at', 'published_at') }}
{% endif %}

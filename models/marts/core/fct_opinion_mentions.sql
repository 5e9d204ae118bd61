-- One row per public post or review, linked to a customer where its author handle resolves
-- (int_identity__handles). Sentiment comes scored from extraction (raw.opinion_posts).
-- Incremental: a post is rebuilt when it was (re)loaded after the latest load built (load times
-- never arrive late, so no lookback: with one, every run re-read the last days' posts in full), or
-- when its handle's resolution changed since the latest build minus var('incremental_lookback_days')
-- (business time, which can arrive late).
-- The index serves the API's customer 360 point lookups (see macros/indexes.sql).
{{ config(
    materialized='incremental',
    unique_key='post_id',
    incremental_strategy=crm_incremental_strategy(),
    on_schema_change='fail',
    indexes=[{'columns': ['customer_key']}]
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
        {{ shop_date('posts.published_at') }} as published_date,
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
        end as source_updated_at,
        posts.loaded_at as source_loaded_at,
        handles.identity_updated_at
    from posts
    left join handles on lower(posts.author_handle) = handles.handle
)

select
    post_id, platform, source_feed, author_handle, customer_key, published_at, published_date, lang,
    rating, brand, product, sentiment_score, sentiment_label, is_negative, scorer, scorer_version,
    url, title, text, source_updated_at, source_loaded_at
from joined
{% if is_incremental() %}
where source_loaded_at > {{ incremental_load_cutoff('source_loaded_at') }}
    or identity_updated_at > {{ incremental_cutoff('source_updated_at') }}
    or {{ backfill_window('published_at') }}
{% endif %}

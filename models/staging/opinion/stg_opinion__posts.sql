with source as (
    select * from {{ source('opinion', 'opinion_posts') }}
)

select
    post_id,
    platform,
    author_handle,
    {{ utc_timestamp('published_at') }} as published_at,
    lang as language,
    text as post_text,
    rating,
    brand,
    product,
    sentiment_score,
    sentiment_label,
    scorer,
    scorer_version,
    source_feed,
    url,
    title,
    {{ utc_timestamp('_loaded_at') }} as loaded_at
from source

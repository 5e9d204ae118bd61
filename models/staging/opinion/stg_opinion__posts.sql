with source as (
    select * from {{ source('opinion', 'opinion_posts') }}
)

select
    post_id,
    platform,
    author_handle,
    cast(published_at as timestamp) as published_at,
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
    cast(_loaded_at as timestamp) as loaded_at
from source

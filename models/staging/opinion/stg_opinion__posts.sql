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
    product
from source

with source as (
    select * from {{ source('shop', 'customers') }}
)

select
    customer_id,
    full_name,
    email,
    phone,
    wechat_id,
    qq_id,
    city,
    cast(signup_at as timestamp) as signup_at,
    membership_tier,
    marketing_consent,
    cast(updated_at as timestamp) as updated_at
from source

-- Every version of every customer profile (old phones and e-mails still identify the person).
with source as (
    select * from {{ source('shop', 'customer_versions') }}
)

select
    {{ dbt.concat(['customer_id', "'@'", dbt.cast('updated_at', api.Column.translate_type('string'))]) }} as customer_version_id,
    customer_id,
    full_name,
    email,
    phone,
    mobile,
    wechat_id,
    qq_id,
    city,
    membership_tier,
    points_balance,
    marketing_consent,
    {{ utc_timestamp('updated_at') }} as updated_at,
    {{ utc_timestamp('_loaded_at') }} as loaded_at
from source

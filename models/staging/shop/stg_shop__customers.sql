-- Newest version of each customer profile, typed. Contact points stay raw here; normalising them
-- for identity matching happens in int_identity__contact_points.
with source as (
    select * from {{ source('shop', 'customers') }}
)

select
    customer_id,
    full_name,
    email,
    phone,
    mobile,
    wechat_id,
    qq_id,
    company,
    job_title,
    industry,
    income_band,
    city,
    lang,
    {{ utc_timestamp('signup_at') }} as signup_at,
    preferred_categories,
    style_preference,
    price_sensitivity,
    brand_affinity,
    membership_tier,
    points_balance,
    privacy_tolerance,
    contact_frequency_tolerance,
    marketing_consent,
    consent_email,
    consent_sms,
    consent_wechat,
    consent_phone,
    {{ utc_timestamp('updated_at') }} as updated_at,
    {{ utc_timestamp('_loaded_at') }} as loaded_at
from source

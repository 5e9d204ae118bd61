{#-
  History of each account's membership tier and contact points (dbt snapshot, check strategy):
  a new row whenever one of the checked columns changes between builds, with dbt_valid_from /
  dbt_valid_to. It lives in the warehouse file of the run (schema snapshots); each run builds in a
  copy of the published file, so history carries forward run to run through publishing.
-#}
{% snapshot snp_customer_profiles %}
{{ config(
    target_schema='snapshots',
    unique_key='customer_id',
    strategy='check',
    check_cols=['membership_tier', 'email', 'phone', 'mobile', 'wechat_id', 'qq_id', 'city'],
    invalidate_hard_deletes=False
) }}
select
    customer_id,
    full_name,
    membership_tier,
    email,
    phone,
    mobile,
    wechat_id,
    qq_id,
    city,
    updated_at
from {{ ref('stg_shop__customers') }}
{% endsnapshot %}

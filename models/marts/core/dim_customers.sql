-- Customer 360: one row per person (customer_key) with the three facets of the customer record.
-- Basic and subjective facets come from the person's most recently updated profile among their
-- accounts (the freshest contact details); transactional facts count CREDITED orders only.
-- Contact points appear three ways: raw (restricted; the semantic layer shows them only to
-- marketing and service agents), masked for wide audiences (****5678, a***@x.com), and as keyed
-- pseudonyms of the normalised e-mail and phone: HMAC-SHA-256 under the deployment's key
-- (macro pseudonym, key in $CRM_PSEUDONYM_KEY, never in SQL), stable for one key so analysts can
-- count, dedupe and join on them, and not reversible or checkable against a guess without the key.
-- Unlike a plain SHA-256, the mask plus the pseudonym does not give the number back. A new key
-- changes every pseudonym on the next build (the incremental branch sees it and rebuilds every
-- person). See docs/pseudonyms.md.
-- Incremental (delete+insert / merge on customer_key): only the persons whose inputs changed are
-- rebuilt, picked in changed_keys:
--   * the person's facts (accounts, credited sales, service and opinion summaries) differ from the
--     row built: new persons, re-keyed accounts (identity resolution), new or changed orders,
--     tickets and mentions; these summaries are aggregates per person, cheap beside the profile part;
--   * one of the person's profiles was updated within the lookback of the latest profile_updated_at
--     built, or loaded after the latest profile_loaded_at built;
--   * the pseudonym key changed (a built row's pseudonym no longer matches): every person.
-- Persons merged away by identity resolution no longer exist upstream: the post-hook deletes them
-- (delete_vanished_keys, portable to Delta), so an incremental build equals a full refresh.
-- The index serves the API's customer 360 point lookups (see macros/indexes.sql).
{{ config(
    materialized='incremental',
    unique_key='customer_key',
    incremental_strategy=crm_incremental_strategy(),
    on_schema_change='fail',
    indexes=[{'columns': ['customer_key']}],
    post_hook=["{{ delete_vanished_keys('customer_key', ref('int_identity__customer_keys')) }}"]
) }}
with keys as (
    select * from {{ ref('int_identity__customer_keys') }}
),

persons as (
    select
        customer_key,
        {{ dbt.listagg('customer_id', "'|'", 'order by customer_id') }} as account_ids,
        count(*) as account_count
    from keys
    group by customer_key
),

sales as (
    select * from {{ ref('int_customers__sales') }}
),

service as (
    select
        customer_key,
        count(*) as ticket_count,
        sum(case when category in ('complaint', 'dispute') then 1 else 0 end) as complaint_count,
        sum(case when is_open then 1 else 0 end) as open_ticket_count,
        avg(satisfaction) as avg_satisfaction
    from {{ ref('fct_service_tickets') }}
    group by customer_key
),

opinion as (
    select
        customer_key,
        count(*) as mention_count,
        sum(case when is_negative then 1 else 0 end) as negative_mention_count,
        avg(sentiment_score) as avg_sentiment
    from {{ ref('fct_opinion_mentions') }}
    where customer_key is not null
    group by customer_key
),

facts as (
    select
        persons.customer_key,
        persons.account_ids,
        cast(persons.account_count as integer) as account_count,
        cast(coalesce(sales.order_count, 0) as integer) as order_count,
        cast(coalesce(sales.revenue, 0) as decimal(18, 2)) as revenue,
        sales.first_order_at,
        sales.last_order_at,
        cast({{ money_per('sales.revenue', 'sales.order_count') }} as decimal(18, 2)) as avg_order_value,
        cast(coalesce(service.ticket_count, 0) as integer) as ticket_count,
        cast(coalesce(service.complaint_count, 0) as integer) as complaint_count,
        cast(coalesce(service.open_ticket_count, 0) as integer) as open_ticket_count,
        cast(service.avg_satisfaction as double) as avg_satisfaction,
        cast(coalesce(opinion.mention_count, 0) as integer) as mention_count,
        cast(coalesce(opinion.negative_mention_count, 0) as integer) as negative_mention_count,
        cast(opinion.avg_sentiment as double) as avg_sentiment
    from persons
    left join sales on persons.customer_key = sales.customer_key
    left join service on persons.customer_key = service.customer_key
    left join opinion on persons.customer_key = opinion.customer_key
),
{%- if is_incremental() %}
{%- set fact_columns = [
    'customer_key', 'account_ids', 'account_count', 'order_count', 'revenue', 'first_order_at',
    'last_order_at', 'avg_order_value', 'ticket_count', 'complaint_count', 'open_ticket_count',
    'avg_satisfaction', 'mention_count', 'negative_mention_count', 'avg_sentiment'
] | join(', ') %}

-- One built row with an e-mail pseudonym: under the current key it differs iff the key changed (a
-- row whose e-mail does not normalise has no pseudonym and could not tell).
pseudonym_key_check as (
    select count(*) as changed_count
    from (
        select email, email_pseudonym
        from {{ this }}
        where email_pseudonym is not null
        order by customer_key
        limit 1
    ) as sample_row
    where email_pseudonym <> {{ pseudonym(normalize_email('email')) }}
),

changed_keys as (
    select changed_facts.customer_key
    from (
        select {{ fact_columns }} from facts
        except
        select {{ fact_columns }} from {{ this }}
    ) as changed_facts
    union
    select keys.customer_key
    from {{ ref('stg_shop__customers') }} as updated_profiles
    inner join keys on updated_profiles.customer_id = keys.customer_id
    where updated_profiles.updated_at > {{ incremental_cutoff('profile_updated_at') }}
        or updated_profiles.loaded_at > {{ incremental_load_cutoff('profile_loaded_at') }}
    union
    select facts.customer_key
    from facts
    where (select changed_count from pseudonym_key_check) > 0
),
{%- endif %}

profiles as (
    select
        profiles.*, keys.customer_key,
        row_number() over (partition by keys.customer_key order by profiles.updated_at desc, profiles.customer_id asc) as freshness_rank,
        max(profiles.updated_at) over (partition by keys.customer_key) as profile_updated_at,
        max(profiles.loaded_at) over (partition by keys.customer_key) as profile_loaded_at
    from {{ ref('stg_shop__customers') }} as profiles
    inner join keys on profiles.customer_id = keys.customer_id
    {%- if is_incremental() %}
    where keys.customer_key in (select changed_keys.customer_key from changed_keys)
    {%- endif %}
),

profile as (
    select
        *,
        {{ normalize_email('email') }} as email_normalized,
        {{ normalize_phone('coalesce(mobile, phone)') }} as phone_normalized
    from profiles
    where freshness_rank = 1
)

select
    facts.customer_key,
    facts.account_ids,
    facts.account_count,
    profile.full_name,
    profile.company,
    profile.job_title,
    profile.industry,
    profile.income_band,
    profile.city,
    profile.lang,
    profile.signup_at,
    {{ mask_email('profile.email_normalized') }} as email_masked,
    {{ mask_phone('profile.phone_normalized') }} as phone_masked,
    {{ mask_id('profile.wechat_id') }} as wechat_masked,
    {{ mask_id('profile.qq_id') }} as qq_masked,
    {{ pseudonym('profile.email_normalized') }} as email_pseudonym,
    {{ pseudonym('profile.phone_normalized') }} as phone_pseudonym,
    profile.email,
    profile.phone,
    profile.mobile,
    profile.wechat_id,
    profile.qq_id,
    profile.preferred_categories,
    profile.style_preference,
    profile.price_sensitivity,
    profile.brand_affinity,
    profile.membership_tier,
    cast(profile.points_balance as integer) as points_balance,
    profile.privacy_tolerance,
    profile.contact_frequency_tolerance,
    profile.marketing_consent,
    profile.consent_email,
    profile.consent_sms,
    profile.consent_wechat,
    profile.consent_phone,
    -- Contactable: marketing consent, a tolerance other than 'never', and at least one channel
    -- with both consent and a contact point.
    coalesce(
        profile.marketing_consent
        and coalesce(profile.contact_frequency_tolerance, 'never') <> 'never'
        and (
            (coalesce(profile.consent_email, false) and profile.email_normalized is not null)
            or (coalesce(profile.consent_sms, false) and profile.phone_normalized is not null)
            or (coalesce(profile.consent_phone, false) and profile.phone_normalized is not null)
            or (coalesce(profile.consent_wechat, false) and profile.wechat_id is not null)
        ),
        false
    ) as is_contactable,
    facts.order_count,
    facts.revenue,
    facts.first_order_at,
    facts.last_order_at,
    facts.avg_order_value,
    facts.ticket_count,
    facts.complaint_count,
    facts.open_ticket_count,
    facts.avg_satisfaction,
    facts.mention_count,
    facts.negative_mention_count,
    facts.avg_sentiment,
    -- Watermarks of the incremental build (changed_keys).
    profile.profile_updated_at,
    profile.profile_loaded_at
from facts
{%- if is_incremental() %}
inner join changed_keys on facts.customer_key = changed_keys.customer_key
{%- endif %}
left join profile on facts.customer_key = profile.customer_key

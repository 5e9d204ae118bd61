-- Today's actionable lists (the "catalyst" of the CRM strategy): every trigger of
-- int_triggers__candidates with the contact decision applied. Rows that may not be acted on are kept
-- (is_contactable = false, with not_contactable_reason) so analysts can see what consent and
-- tolerance held back; the API lists only is_contactable rows.
--
-- Consent and contact rules:
--   * Marketing triggers (retain_valuable_at_risk, follow_up_inquiry, cross_sell) need
--     marketing_consent, a contact_frequency_tolerance other than 'never', and a channel with its
--     own consent and a contact point; suggested_channel is the first such channel in the order
--     wechat, email, sms, phone (one-to-one marketing in WeChat first).
--   * service_recovery is service, not marketing: it does not need marketing consent. It uses the
--     first consented channel with a contact point (phone, wechat, email, sms), else any channel with
--     a contact point (phone, email, wechat). A case from an open complaint or dispute ticket answers
--     the customer's own request, so it ignores the tolerance; a case from a negative post was not
--     asked for, so 'never' blocks it.
--   * While a person has a contactable service-recovery case, their marketing triggers are held
--     back (no sales pitch to someone with an open complaint).
--   * Contact-frequency tolerance caps the marketing triggers per person and day:
--     daily -> var('trigger_max_per_day_daily'), weekly -> var('trigger_max_per_day_weekly'),
--     monthly -> var('trigger_max_per_day_monthly'), never or unknown -> 0; the highest priority
--     rows are kept (ties: trigger_type).
--   * suggested_channel is null on every row that is not contactable.
with candidates as (
    select * from {{ ref('int_triggers__candidates') }}
),

customers as (
    select
        customer_key,
        coalesce(marketing_consent, false) as marketing_consent,
        coalesce(contact_frequency_tolerance, 'never') as contact_frequency_tolerance,
        coalesce(consent_email, false) and email is not null as email_ok,
        coalesce(consent_sms, false) and coalesce(mobile, phone) is not null as sms_ok,
        coalesce(consent_phone, false) and coalesce(mobile, phone) is not null as phone_ok,
        coalesce(consent_wechat, false) and wechat_id is not null as wechat_ok,
        email is not null as has_email,
        coalesce(mobile, phone) is not null as has_phone,
        wechat_id is not null as has_wechat
    from {{ ref('dim_customers') }}
),

channels as (
    select
        candidates.*,
        customers.customer_key is not null as has_profile,
        coalesce(customers.marketing_consent, false) as marketing_consent,
        coalesce(customers.contact_frequency_tolerance, 'never') as contact_frequency_tolerance,
        candidates.trigger_type = 'service_recovery' as is_service,
        candidates.trigger_type = 'service_recovery'
        and candidates.evidence_type in ('complaint_ticket', 'dispute_ticket') as is_requested_service,
        case
            when customers.wechat_ok then 'wechat'
            when customers.email_ok then 'email'
            when customers.sms_ok then 'sms'
            when customers.phone_ok then 'phone'
        end as marketing_channel,
        case
            when customers.phone_ok then 'phone'
            when customers.wechat_ok then 'wechat'
            when customers.email_ok then 'email'
            when customers.sms_ok then 'sms'
            when customers.has_phone then 'phone'
            when customers.has_email then 'email'
            when customers.has_wechat then 'wechat'
        end as service_channel
    from candidates
    left join customers on candidates.customer_key = customers.customer_key
),

-- Whether each row may be acted on before the frequency cap, and why not.
eligibility as (
    select
        channels.*,
        case
            when not has_profile then 'no customer profile'
            when is_service and service_channel is null then 'no contact point'
            when is_service and not is_requested_service and contact_frequency_tolerance = 'never'
                then 'contact tolerance never'
            when is_service then null
            when not marketing_consent then 'no marketing consent'
            when contact_frequency_tolerance = 'never' then 'contact tolerance never'
            when marketing_channel is null then 'no consented channel with a contact point'
        end as block_reason
    from channels
),

service_held as (
    select distinct customer_key
    from eligibility
    where is_service and block_reason is null
),

ranked as (
    select
        eligibility.*,
        service_held.customer_key is not null as has_service_case,
        row_number() over (
            partition by eligibility.customer_key, eligibility.is_service, case when eligibility.block_reason is null then 0 else 1 end
            order by eligibility.priority desc, eligibility.trigger_type asc
        ) as marketing_rank,
        case eligibility.contact_frequency_tolerance
            when 'daily' then {{ var('trigger_max_per_day_daily', 3) }}
            when 'weekly' then {{ var('trigger_max_per_day_weekly', 2) }}
            when 'monthly' then {{ var('trigger_max_per_day_monthly', 1) }}
            else 0
        end as max_marketing_triggers
    from eligibility
    left join service_held on eligibility.customer_key = service_held.customer_key
),

decided as (
    select
        ranked.*,
        case
            when block_reason is not null then block_reason
            when is_service then null
            when has_service_case then 'held back: open service-recovery case'
            when marketing_rank > max_marketing_triggers then 'over the contact-frequency limit (' || contact_frequency_tolerance || ')'
        end as not_contactable_reason
    from ranked
)

select
    cast(trigger_date as date) as trigger_date,
    customer_key,
    trigger_type,
    cast(priority as integer) as priority,
    case
        when not_contactable_reason is not null then null
        when is_service then service_channel
        else marketing_channel
    end as suggested_channel,
    category,
    brand,
    reason,
    not_contactable_reason is null as is_contactable,
    not_contactable_reason,
    evidence_type,
    evidence_id,
    contact_frequency_tolerance,
    marketing_consent
from decided

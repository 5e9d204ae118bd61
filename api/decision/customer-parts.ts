/** The columns customer 360 reads of each mart (api/decision/customer-360.ts and the customer store). */

// The three facets of the brief, as dim_customers columns.
export const BASIC = [
  'customer_key',
  'account_ids',
  'account_count',
  'full_name',
  'company',
  'job_title',
  'industry',
  'city',
  'lang',
  'signup_at',
];
export const CONTACT_RAW = ['email', 'phone', 'mobile', 'wechat_id', 'qq_id'];
export const CONTACT_MASKED = ['email_masked', 'phone_masked', 'wechat_masked', 'qq_masked'];
export const SUBJECTIVE = [
  'preferred_categories',
  'price_sensitivity',
  'brand_affinity',
  'membership_tier',
  'points_balance',
  'privacy_tolerance',
  'contact_frequency_tolerance',
  'marketing_consent',
  'consent_email',
  'consent_sms',
  'consent_wechat',
  'consent_phone',
  'is_contactable',
];
export const TRANSACTIONAL = [
  'order_count',
  'revenue',
  'first_order_at',
  'last_order_at',
  'avg_order_value',
  'ticket_count',
  'complaint_count',
  'open_ticket_count',
  'avg_satisfaction',
  'mention_count',
  'negative_mention_count',
  'avg_sentiment',
];
export const VALUE = [
  'rfm_segment',
  'r_score',
  'f_score',
  'm_score',
  'rfm_score',
  'rfm_total',
  'recency_days',
  'order_count',
  'revenue',
  'avg_order_value',
  'predicted_orders_90d',
  'predicted_orders_365d',
  'predicted_value_90d',
  'predicted_value_365d',
  'probability_alive',
  'churn_risk',
  'churn_risk_band',
  'expected_next_order_at',
];
export const ORDER = [
  'order_id',
  'ordered_at',
  'order_status',
  'is_valid_sale',
  'item_count',
  'net_revenue',
  'currency',
  'primary_brand',
  'primary_category',
  'is_accidental',
];
export const TICKET = [
  'ticket_id',
  'channel',
  'category',
  'opened_at',
  'resolved_at',
  'first_reply_minutes',
  'resolution_minutes',
  'is_open',
  'satisfaction',
  'brand',
];
export const MENTION = [
  'post_id',
  'platform',
  'published_at',
  'brand',
  'product',
  'sentiment_score',
  'sentiment_label',
  'is_negative',
  'text',
];

export type CustomerPartName = 'profile' | 'value' | 'orders' | 'tickets' | 'mentions';

/** One mart customer 360 reads: its rows of a customer, by key; lists newest first. */
export interface CustomerPart {
  name: CustomerPartName;
  table: 'marts.dim_customers' | 'marts.customer_value' | 'marts.fct_orders' | 'marts.fct_service_tickets' | 'marts.fct_opinion_mentions';
  /** The customer's key column: the first of these the table has. */
  keyColumns: string[];
  columns: string[];
  /** Lists only: newest first by `at`, ties by `id` (both descending, nulls last). */
  list?: { at: string; id: string };
}

export const CUSTOMER_PARTS: readonly CustomerPart[] = [
  {
    name: 'profile',
    table: 'marts.dim_customers',
    keyColumns: ['customer_key'],
    columns: [...BASIC, ...CONTACT_RAW, ...CONTACT_MASKED, ...SUBJECTIVE, ...TRANSACTIONAL],
  },
  { name: 'value', table: 'marts.customer_value', keyColumns: ['customer_key'], columns: VALUE },
  // Orders credited to the customer (an accidental order is not theirs), else the account holder's.
  {
    name: 'orders',
    table: 'marts.fct_orders',
    keyColumns: ['credited_customer_key', 'customer_key'],
    columns: ORDER,
    list: { at: 'ordered_at', id: 'order_id' },
  },
  {
    name: 'tickets',
    table: 'marts.fct_service_tickets',
    keyColumns: ['customer_key'],
    columns: TICKET,
    list: { at: 'opened_at', id: 'ticket_id' },
  },
  {
    name: 'mentions',
    table: 'marts.fct_opinion_mentions',
    keyColumns: ['customer_key'],
    columns: MENTION,
    list: { at: 'published_at', id: 'post_id' },
  },
];

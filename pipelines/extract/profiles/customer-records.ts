import { defineRecord, field, type FieldSpec } from '../record-schema.ts';

const LEVEL = ['low', 'medium', 'high'] as const;

/** Profile fields: basic facet (contact points), subjective facet, membership, consent. */
const customerFields = {
  customer_id: field.id(),
  // basic facet
  full_name: field.text(),
  email: field.email(),
  phone: field.text(),
  mobile: field.text(),
  wechat_id: field.text(),
  qq_id: field.text(),
  company: field.text(),
  job_title: field.text(),
  industry: field.text(),
  income_band: field.optionalOneOf(['under_5k', '5k_10k', '10k_20k', '20k_50k', 'over_50k']),
  city: field.text(),
  lang: field.optionalOneOf(['zh', 'en']),
  signup_at: field.timestamp(),
  // subjective facet
  preferred_categories: field.text(),
  style_preference: field.text(),
  price_sensitivity: field.optionalOneOf(LEVEL),
  brand_affinity: field.text(),
  membership_tier: field.oneOf(['bronze', 'silver', 'gold', 'platinum']),
  points_balance: field.optionalInteger(0, 100_000_000),
  privacy_tolerance: field.optionalOneOf(LEVEL),
  contact_frequency_tolerance: field.optionalOneOf(['never', 'monthly', 'weekly', 'daily']),
  // consent flags
  marketing_consent: field.boolean(),
  consent_email: field.optionalBoolean(),
  consent_sms: field.optionalBoolean(),
  consent_wechat: field.optionalBoolean(),
  consent_phone: field.optionalBoolean(),
  updated_at: field.timestamp(),
} satisfies Record<string, FieldSpec>;

/** Customer profile, newest version per customer. */
export const customerRecord = defineRecord({
  table: 'customers',
  key: ['customer_id'],
  version: 'updated_at',
  fields: customerFields,
});

/**
 * Every version of every profile, kept (contact details change over time: an old phone number
 * on a shipping label still identifies the person). Fed by the same files as `customers`.
 */
export const customerVersionRecord = defineRecord({
  table: 'customer_versions',
  key: ['customer_id', 'updated_at'],
  fields: customerFields,
});

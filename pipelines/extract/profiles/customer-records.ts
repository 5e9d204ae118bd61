import { defineRecord, field } from '../record-schema.ts';

/** Customer profile: the basic facet (contact points) and membership, as the shop's CRM exports it. */
export const customerRecord = defineRecord({
  table: 'customers',
  key: ['customer_id'],
  version: 'updated_at',
  fields: {
    customer_id: field.id(),
    full_name: field.text(),
    email: field.email(),
    phone: field.text(),
    wechat_id: field.text(),
    qq_id: field.text(),
    city: field.text(),
    signup_at: field.timestamp(),
    membership_tier: field.oneOf(['bronze', 'silver', 'gold', 'platinum']),
    marketing_consent: field.boolean(),
    updated_at: field.timestamp(),
  },
});

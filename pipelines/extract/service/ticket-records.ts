import { defineRecord, field } from '../record-schema.ts';

/** A customer-service ticket across channels, from first contact to resolution and rating. */
export const ticketRecord = defineRecord({
  table: 'service_tickets',
  key: ['ticket_id'],
  version: 'updated_at',
  fields: {
    ticket_id: field.id(),
    customer_id: field.text(),
    channel: field.oneOf(['phone', 'email', 'web_chat', 'wechat', 'qq']),
    category: field.oneOf(['pre_sale_inquiry', 'in_sale', 'after_sale', 'return', 'complaint', 'dispute', 'praise']),
    subject: field.text(),
    created_at: field.timestamp(),
    first_reply_at: field.optionalTimestamp(),
    resolved_at: field.optionalTimestamp(),
    status: field.oneOf(['open', 'pending', 'resolved', 'closed']),
    satisfaction: field.optionalInteger(1, 5),
    updated_at: field.timestamp(),
  },
});

import { defineRecord, field } from '../record-schema.ts';

export const SERVICE_CHANNELS = ['phone', 'email', 'web_chat', 'wechat', 'qq'] as const;
export const SERVICE_CATEGORIES = ['pre_sale_inquiry', 'in_sale', 'after_sale', 'return', 'complaint', 'dispute', 'praise'] as const;

/** A customer-service ticket across channels, from first contact to resolution and rating. */
export const ticketRecord = defineRecord({
  table: 'service_tickets',
  key: ['ticket_id'],
  version: 'updated_at',
  fields: {
    ticket_id: field.id(),
    customer_id: field.text(),
    channel: field.oneOf(SERVICE_CHANNELS),
    category: field.oneOf(SERVICE_CATEGORIES),
    subject: field.text(),
    created_at: field.timestamp(),
    first_reply_at: field.optionalTimestamp(),
    resolved_at: field.optionalTimestamp(),
    status: field.oneOf(['open', 'pending', 'resolved', 'closed']),
    satisfaction: field.optionalInteger(1, 5),
    updated_at: field.timestamp(),
    order_id: field.text(),
    agent_id: field.text(),
    lang: field.optionalOneOf(['zh', 'en']),
    reopened_count: field.optionalInteger(0, 1_000),
  },
});

/** One step in a ticket's history; the history is append-only, so events are keyed by their id. */
export const ticketEventRecord = defineRecord({
  table: 'service_ticket_events',
  key: ['event_id'],
  fields: {
    event_id: field.id(),
    ticket_id: field.id(),
    event_type: field.oneOf(['created', 'first_reply', 'reassigned', 'resolved', 'reopened', 'closed', 'rated']),
    occurred_at: field.timestamp(),
    agent_id: field.text(),
    channel: field.optionalOneOf(SERVICE_CHANNELS),
    satisfaction: field.optionalInteger(1, 5),
    note: field.text(),
  },
});

/** A single contact (call, chat session, e-mail, WeChat/QQ message thread), with or without a ticket. */
export const contactRecord = defineRecord({
  table: 'service_contacts',
  key: ['contact_id'],
  version: 'updated_at',
  fields: {
    contact_id: field.id(),
    ticket_id: field.text(),
    customer_id: field.text(),
    channel: field.oneOf(SERVICE_CHANNELS),
    direction: field.oneOf(['inbound', 'outbound']),
    category: field.oneOf(SERVICE_CATEGORIES),
    started_at: field.timestamp(),
    handle_seconds: field.optionalInteger(0, 86_400),
    agent_id: field.text(),
    // The contact point the customer used: a phone number, e-mail, WeChat or QQ id (identity clue).
    contact_point: field.text(),
    lang: field.optionalOneOf(['zh', 'en']),
    summary: field.text(),
    updated_at: field.timestamp(),
  },
});

import { cancellationRecord, orderItemRecord, orderRecord, paymentRecord, refundRecord } from '../orders/order-records.ts';
import { customerRecord } from '../profiles/customer-records.ts';
import { contactRecord, ticketEventRecord, ticketRecord } from '../service/ticket-records.ts';
import { postRecord } from '../opinion/post-records.ts';
import type { DefinedRecord } from '../record-schema.ts';
import type { SourceFamily } from '../source-contract.ts';
import type { MappedTable } from './mapping-schema.ts';

/** The canonical record each mapped table is checked against and loaded as. */
export const MAPPED_RECORDS: Record<MappedTable, DefinedRecord> = {
  orders: orderRecord,
  order_items: orderItemRecord,
  order_payments: paymentRecord,
  order_refunds: refundRecord,
  order_cancellations: cancellationRecord,
  customers: customerRecord,
  service_tickets: ticketRecord,
  service_ticket_events: ticketEventRecord,
  service_contacts: contactRecord,
  opinion_posts: postRecord,
};

/** The source family of each record: a mapping's records must all be of one. */
export const MAPPED_FAMILY: Record<MappedTable, SourceFamily> = {
  orders: 'orders',
  order_items: 'orders',
  order_payments: 'orders',
  order_refunds: 'orders',
  order_cancellations: 'orders',
  customers: 'profiles',
  service_tickets: 'service',
  service_ticket_events: 'service',
  service_contacts: 'service',
  opinion_posts: 'opinion',
};

import { fileDropSource } from '../pipelines/extract/files/file-drop-source.ts';
import { withScoredPosts } from '../pipelines/extract/opinion/scored-posts.ts';
import { postRecord } from '../pipelines/extract/opinion/post-records.ts';
import {
  cancellationRecord,
  orderItemRecord,
  orderRecord,
  paymentRecord,
  refundRecord,
} from '../pipelines/extract/orders/order-records.ts';
import { customerRecord, customerVersionRecord } from '../pipelines/extract/profiles/customer-records.ts';
import { contactRecord, ticketEventRecord, ticketRecord } from '../pipelines/extract/service/ticket-records.ts';
import type { SourceDefinition } from '../pipelines/extract/source-contract.ts';

/**
 * The landing folders read by the file drop's row path (csv-parse or JSON.parse, then zod, files
 * picked by file-name prefix): the reference the built-in sources, mapped sources over the landing
 * presets, are compared with (tests/unit/landing-preset.test.ts, landing-family-presets.test.ts,
 * benchmarks/family-load.ts).
 */
export const ROW_PATH_SOURCES: Record<'orders' | 'profiles' | 'service_tickets' | 'opinion_posts', () => SourceDefinition> = {
  orders: () =>
    fileDropSource({
      name: 'orders',
      family: 'orders',
      description: '',
      folder: 'orders',
      rules: [
        { prefix: 'orders', records: [orderRecord] },
        { prefix: 'order_items', records: [orderItemRecord] },
        { prefix: 'payments', records: [paymentRecord] },
        { prefix: 'refunds', records: [refundRecord] },
        { prefix: 'cancellations', records: [cancellationRecord] },
      ],
    }),
  profiles: () =>
    fileDropSource({
      name: 'profiles',
      family: 'profiles',
      description: '',
      folder: 'profiles',
      rules: [{ prefix: 'customers', records: [customerRecord, customerVersionRecord] }],
    }),
  service_tickets: () =>
    fileDropSource({
      name: 'service_tickets',
      family: 'service',
      description: '',
      folder: 'service',
      rules: [
        { prefix: 'tickets', records: [ticketRecord] },
        { prefix: 'ticket_events', records: [ticketEventRecord] },
        { prefix: 'contacts', records: [contactRecord] },
      ],
    }),
  opinion_posts: () =>
    withScoredPosts(
      fileDropSource({
        name: 'opinion_posts',
        family: 'opinion',
        description: '',
        folder: 'opinion',
        rules: [{ prefix: 'posts', records: [postRecord] }],
      }),
    ),
};

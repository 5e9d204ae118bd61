import { fileDropSource } from './files/file-drop-source.ts';
import { cancellationRecord, orderItemRecord, orderRecord, paymentRecord, refundRecord } from './orders/order-records.ts';
import { customerRecord, customerVersionRecord } from './profiles/customer-records.ts';
import { contactRecord, ticketEventRecord, ticketRecord } from './service/ticket-records.ts';
import { postRecord } from './opinion/post-records.ts';
import { postgresOrdersSource, POSTGRES_ORDERS_ENV } from './postgres/postgres-orders-source.ts';
import { SourceUnavailableError, type SourceDefinition } from './source-contract.ts';

export { SourceUnavailableError } from './source-contract.ts';
export type { SourceDefinition, SourceFamily, SourceKind } from './source-contract.ts';

/**
 * The source registry. The default sources are folders of file drops under the landing folder
 * (what the sample generator writes); a shop points other transports at the same raw tables by
 * configuration (see configuredSources).
 */
export const SOURCES: readonly SourceDefinition[] = [
  fileDropSource({
    name: 'profiles',
    family: 'profiles',
    description: 'Customer profiles: basic and subjective facets, consent (CSV/NDJSON drops in profiles/)',
    folder: 'profiles',
    rules: [{ prefix: 'customers', records: [customerRecord, customerVersionRecord] }],
  }),
  fileDropSource({
    name: 'orders',
    family: 'orders',
    description: 'Orders, items, payments, refunds, cancellations (CSV/NDJSON drops in orders/)',
    folder: 'orders',
    rules: [
      { prefix: 'orders', records: [orderRecord] },
      { prefix: 'order_items', records: [orderItemRecord] },
      { prefix: 'payments', records: [paymentRecord] },
      { prefix: 'refunds', records: [refundRecord] },
      { prefix: 'cancellations', records: [cancellationRecord] },
    ],
  }),
  fileDropSource({
    name: 'service_tickets',
    family: 'service',
    description: 'Customer-service tickets, their event history and contacts across channels (drops in service/)',
    folder: 'service',
    rules: [
      { prefix: 'tickets', records: [ticketRecord] },
      { prefix: 'ticket_events', records: [ticketEventRecord] },
      { prefix: 'contacts', records: [contactRecord] },
    ],
  }),
  fileDropSource({
    name: 'opinion_posts',
    family: 'opinion',
    description: 'Public-opinion posts and reviews (NDJSON drops in opinion/)',
    folder: 'opinion',
    rules: [{ prefix: 'posts', records: [postRecord] }],
  }),
];

/**
 * Sources that need configuration, by name: each is built from the environment when asked for.
 * Other transports (HTTP APIs, feeds) register here the same way.
 */
export const CONFIGURABLE_SOURCES: Readonly<Record<string, { env: string; build: (env: NodeJS.ProcessEnv) => SourceDefinition }>> = {
  orders_pg: {
    env: POSTGRES_ORDERS_ENV,
    build: (env) => postgresOrdersSource({ name: 'orders_pg', connectionString: env[POSTGRES_ORDERS_ENV] ?? '' }),
  },
};

/** The default sources plus every configurable one whose environment variable is set. */
export function configuredSources(env: NodeJS.ProcessEnv = process.env): SourceDefinition[] {
  return [
    ...SOURCES,
    ...Object.values(CONFIGURABLE_SOURCES).filter((s) => (env[s.env] ?? '').trim() !== '').map((s) => s.build(env)),
  ];
}

export function findSource(name: string, env: NodeJS.ProcessEnv = process.env): SourceDefinition {
  const source = SOURCES.find((s) => s.name === name);
  if (source) return source;
  const configurable = CONFIGURABLE_SOURCES[name];
  if (configurable) {
    if ((env[configurable.env] ?? '').trim() === '') {
      throw new SourceUnavailableError(name, `not configured: set ${configurable.env}`);
    }
    return configurable.build(env);
  }
  const known = [...SOURCES.map((s) => s.name), ...Object.keys(CONFIGURABLE_SOURCES)];
  throw new Error(`unknown source "${name}" (known: ${known.join(', ')})`);
}

import fs from 'node:fs';
import path from 'node:path';
import type { DefinedRecord } from './record-schema.ts';
import type { SourceRecord } from './readers/source-record.ts';
import { readCsvRecords } from './readers/csv-records.ts';
import { readNdjsonRecords } from './readers/ndjson-records.ts';
import { orderItemRecord, orderRecord } from './orders/order-records.ts';
import { customerRecord } from './profiles/customer-records.ts';
import { ticketRecord } from './service/ticket-records.ts';
import { postRecord } from './opinion/post-records.ts';
import { LANDING_FILES } from '../sources/sample-data/landing-layout.ts';

export type SourceFamily = 'orders' | 'service' | 'opinion' | 'profiles';

export interface SourceFile {
  record: DefinedRecord;
  relativePath: string;
  read: (filePath: string, landingDir: string) => AsyncIterable<SourceRecord>;
}

/** A source is loaded as one batch: all of its files commit together or not at all. */
export interface SourceDefinition {
  name: string;
  family: SourceFamily;
  description: string;
  files: SourceFile[];
}

export const SOURCES: readonly SourceDefinition[] = [
  {
    name: 'profiles',
    family: 'profiles',
    description: 'Customer profiles (NDJSON export of the shop CRM)',
    files: [{ record: customerRecord, relativePath: LANDING_FILES.customers, read: readNdjsonRecords }],
  },
  {
    name: 'orders',
    family: 'orders',
    description: 'Orders and order items (CSV exports of the shop back office)',
    files: [
      { record: orderRecord, relativePath: LANDING_FILES.orders, read: readCsvRecords },
      { record: orderItemRecord, relativePath: LANDING_FILES.orderItems, read: readCsvRecords },
    ],
  },
  {
    name: 'service_tickets',
    family: 'service',
    description: 'Customer-service tickets across channels (NDJSON)',
    files: [{ record: ticketRecord, relativePath: LANDING_FILES.tickets, read: readNdjsonRecords }],
  },
  {
    name: 'opinion_posts',
    family: 'opinion',
    description: 'Public-opinion posts and reviews (NDJSON feed)',
    files: [{ record: postRecord, relativePath: LANDING_FILES.posts, read: readNdjsonRecords }],
  },
];

export function findSource(name: string): SourceDefinition {
  const source = SOURCES.find((s) => s.name === name);
  if (!source) throw new Error(`unknown source "${name}" (known: ${SOURCES.map((s) => s.name).join(', ')})`);
  return source;
}

/** Fails before any write when a landing file is missing, naming the source and the path. */
export function resolveSourceFiles(source: SourceDefinition, landingDir: string): string[] {
  return source.files.map((f) => {
    const filePath = path.join(landingDir, f.relativePath);
    if (!fs.existsSync(filePath)) {
      throw new SourceUnavailableError(source.name, `landing file not found: ${filePath}`);
    }
    return filePath;
  });
}

export class SourceUnavailableError extends Error {
  constructor(readonly source: string, reason: string) {
    super(`${source}: ${reason}`);
    this.name = 'SourceUnavailableError';
  }
}

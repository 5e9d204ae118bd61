import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { extractSource } from '../../pipelines/extract/run-extract.ts';
import { orderRecord } from '../../pipelines/extract/orders/order-records.ts';
import type { SourceRecord } from '../../pipelines/extract/readers/source-record.ts';
import type { SourceDefinition } from '../../pipelines/extract/source-contract.ts';
import { openWarehouse } from '../../pipelines/raw/warehouse-connection.ts';

/**
 * The source contract with a source that pages through an in-memory list the way an HTTP API
 * source would: its cursor commits with each batch, it can ask for another batch (hasMore), and a
 * failure resumes from the last committed cursor without duplicates.
 */
let dir: string;
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-contract-'))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const ROWS = Array.from({ length: 25 }, (_, i) => ({
  order_id: `O${i + 1}`,
  customer_id: 'C1',
  ordered_at: '2025-01-01T00:00:00Z',
  status: 'paid',
  currency: 'CNY',
  discount_amount: '0.00',
  updated_at: '2025-01-01T00:00:00Z',
}));

/** Pages of 4 records, 2 pages per batch; throws when it reaches `failAtPage` (once). */
function pagedSource(failAtPage: { page: number | null }): SourceDefinition {
  return {
    name: 'paged_api',
    family: 'orders',
    kind: 'http',
    description: 'test source',
    records: [orderRecord],
    async open(context) {
      const start = (context.state.cursor as { page: number } | null)?.page ?? 0;
      let page = start;
      let done = false;
      async function* records(): AsyncGenerator<SourceRecord> {
        for (let n = 0; n < 2; n++) {
          if (failAtPage.page === page) {
            failAtPage.page = null;
            throw new Error(`page ${page}: HTTP 500`);
          }
          const slice = ROWS.slice(page * 4, page * 4 + 4);
          for (const [i, row] of slice.entries())
            yield {
              location: `GET /orders?page=${page}#${i}`,
              file: `GET /orders?page=${page}`,
              line: i + 1,
              fields: row,
              rawText: JSON.stringify(row),
            };
          page += 1;
          if (slice.length < 4) {
            done = true;
            return;
          }
        }
      }
      return {
        parts: [{ record: orderRecord, records: records() }],
        finish: () => ({ cursor: { page } }),
        close: async () => undefined,
        hasMore: () => !done,
      };
    },
  };
}

async function rows(warehousePath: string, sql: string) {
  const wh = await openWarehouse(warehousePath);
  try {
    return (await wh.connection.runAndReadAll(sql)).getRows();
  } finally {
    wh.close();
  }
}

describe('source contract', () => {
  it('commits a cursor per batch; after a failure the next run resumes from the last committed batch, without duplicates', async () => {
    const warehousePath = path.join(dir, 'wh.duckdb');
    const failure = { page: 4 as number | null };
    await expect(extractSource(pagedSource(failure), { warehousePath, landingDir: dir, batchId: 'r1' })).rejects.toThrow(
      'page 4: HTTP 500',
    );
    // Batches r1 (pages 0-1) and r1#2 (pages 2-3) committed; r1#3 rolled back.
    expect(await rows(warehousePath, `SELECT count(*)::INT FROM raw.orders`)).toEqual([[16]]);
    expect(await rows(warehousePath, `SELECT state, batch_id FROM raw._source_state`)).toEqual([['{"page":4}', 'r1#2']]);

    const resumed = await extractSource(pagedSource(failure), { warehousePath, landingDir: dir, batchId: 'r2' });
    expect(resumed.tables[0]).toMatchObject({ read: 9, inserted: 9 });
    expect(resumed.notes[0]).toBe('2 batches committed');
    expect(await rows(warehousePath, `SELECT count(*)::INT, count(DISTINCT order_id)::INT FROM raw.orders`)).toEqual([[25, 25]]);
    expect(await rows(warehousePath, `SELECT batch_id FROM raw._load_batches ORDER BY started_at`)).toEqual([
      ['r1'],
      ['r1#2'],
      ['r2'],
      ['r2#2'],
    ]);
    expect(await rows(warehousePath, `SELECT location FROM raw._quarantine`)).toEqual([]);
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadBatch } from '../../pipelines/raw/load-batch.ts';
import { openWarehouse, type WarehouseHandle } from '../../pipelines/raw/warehouse-connection.ts';
import { orderRecord } from '../../pipelines/extract/orders/order-records.ts';
import type { SourceRecord } from '../../pipelines/extract/readers/source-record.ts';

let dir: string;
let warehouse: WarehouseHandle;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-load-'));
  warehouse = await openWarehouse(path.join(dir, 'wh.duckdb'));
});
afterEach(() => {
  warehouse.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const order = (id: string, status: string, updatedAt: string, extra: Record<string, unknown> = {}) => ({
  order_id: id,
  customer_id: 'C1',
  ordered_at: '2025-01-31T20:00:00+08:00',
  status,
  currency: 'CNY',
  discount_amount: '0.00',
  updated_at: updatedAt,
  ship_name: 'A',
  ship_phone: '1',
  ship_city: 'X',
  ...extra,
});

async function* records(rows: (Record<string, unknown> | null)[], failAfter?: number): AsyncGenerator<SourceRecord> {
  let line = 1;
  for (const fields of rows) {
    line += 1;
    if (failAfter !== undefined && line - 1 > failAfter) throw new Error('source connection lost');
    yield {
      location: `orders.csv:${line}`,
      file: 'orders.csv',
      line,
      fields,
      rawText: JSON.stringify(fields),
      parseError: fields ? undefined : 'bad line',
    };
  }
}

const query = async (sql: string) => (await warehouse.connection.runAndReadAll(sql)).getRows();

describe('loadBatch', () => {
  it('keeps the newest version per key whatever the order of arrival, and quarantines invalid records with reason and payload', async () => {
    const summary = await loadBatch(warehouse.connection, 'orders', 'b1', [
      {
        record: orderRecord,
        records: records([
          order('O1', 'refunded', '2025-02-10T00:00:00Z'), // newer version first (out of order)
          order('O1', 'completed', '2025-02-01T00:00:00Z'),
          order('O2', 'completed', '2025-02-01T00:00:00Z', { discount_amount: '-3.00' }),
          order('O3', 'teleported', '2025-02-01T00:00:00Z', { surprise: 1 }),
          null,
        ]),
      },
    ]);
    const table = summary.tables[0]!;
    expect(table).toMatchObject({ read: 5, inserted: 1, superseded: 1, rejected: 3, unknownFields: { surprise: 1 } });
    expect(await query(`SELECT order_id, status, ordered_at::VARCHAR FROM raw.orders`)).toEqual([
      ['O1', 'refunded', '2025-01-31 12:00:00+00'],
    ]);
    const quarantine = await query(`SELECT location, record_key, reason, payload FROM raw._quarantine ORDER BY location`);
    expect(quarantine.map((r) => r.slice(0, 3))).toEqual([
      ['orders.csv:4', 'O2', 'discount_amount: must not be negative (got "-3.00")'],
      ['orders.csv:5', 'O3', expect.stringContaining('status: ')],
      ['orders.csv:6', null, 'bad line'],
    ]);
    expect(String(quarantine[0]![3])).toContain('"discount_amount":"-3.00"');
  });

  it('is idempotent and lets a later batch update only with a newer version', async () => {
    const load = (batch: string, rows: Record<string, unknown>[]) =>
      loadBatch(warehouse.connection, 'orders', batch, [{ record: orderRecord, records: records(rows) }]);
    await load('b1', [
      order('O1', 'completed', '2025-02-01T00:00:00Z'),
      order('O2', 'completed', '2025-02-01T00:00:00Z', { discount_amount: 'x' }),
    ]);
    const again = await load('b2', [
      order('O1', 'completed', '2025-02-01T00:00:00Z'),
      order('O2', 'completed', '2025-02-01T00:00:00Z', { discount_amount: 'x' }),
    ]);
    expect(again.tables[0]).toMatchObject({ inserted: 0, updated: 0, unchanged: 1, rejected: 1 });
    expect(await query(`SELECT count(*)::INT FROM raw._quarantine`)).toEqual([[1]]);
    const stale = await load('b3', [order('O1', 'cancelled', '2025-01-15T00:00:00Z')]);
    expect(stale.tables[0]).toMatchObject({ updated: 0, unchanged: 1 });
    const newer = await load('b4', [order('O1', 'refunded', '2025-03-01T00:00:00Z')]);
    expect(newer.tables[0]).toMatchObject({ updated: 1 });
    expect(await query(`SELECT status, _batch_id FROM raw.orders`)).toEqual([['refunded', 'b4']]);
    expect(await query(`SELECT count(*)::INT FROM raw._load_batches`)).toEqual([[4]]);
  });

  it('commits nothing when the source fails mid-batch', async () => {
    await loadBatch(warehouse.connection, 'orders', 'b1', [
      { record: orderRecord, records: records([order('O1', 'completed', '2025-02-01T00:00:00Z')]) },
    ]);
    await expect(
      loadBatch(warehouse.connection, 'orders', 'b2', [
        {
          record: orderRecord,
          records: records(
            [
              order('O2', 'completed', '2025-02-01T00:00:00Z'),
              order('O3', 'x', '2025-02-01T00:00:00Z'),
              order('O4', 'paid', '2025-02-01T00:00:00Z'),
            ],
            2,
          ),
        },
      ]),
    ).rejects.toThrow('source connection lost');
    expect(await query(`SELECT order_id FROM raw.orders`)).toEqual([['O1']]);
    expect(await query(`SELECT count(*)::INT FROM raw._quarantine`)).toEqual([[0]]);
    expect(await query(`SELECT batch_id FROM raw._load_batches`)).toEqual([['b1']]);
  });
});

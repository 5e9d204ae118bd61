import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { extractSource } from '../../pipelines/extract/run-extract.ts';
import { mappedSource } from '../../pipelines/extract/sources.ts';
import { ensureRawSchema } from '../../pipelines/raw/raw-schema.ts';
import { resetSourceState } from '../../pipelines/raw/source-state.ts';
import { openWarehouse } from '../../pipelines/raw/warehouse-connection.ts';
import { queryWarehouse } from '../support/warehouse-query.ts';

/**
 * raw._quarantine is keyed (source, raw_table, location, payload_md5): one line rejected for two
 * tables keeps both reasons, re-loading the same lines still never adds a row, and a warehouse with
 * the older key (source, location, payload_md5) is migrated with its rows.
 */

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-quarantine-key-'));
});
afterEach(() => {
  delete process.env.CRM_BULK_LOAD;
  fs.rmSync(dir, { recursive: true, force: true });
});

// One order-lines file: each line is an order and its item.
const MAPPING = `
name: lines
match: ["*.csv"]
records:
  orders:
    fields:
      order_id: order_id
      customer_id: customer_id
      ordered_at: ordered_at
      updated_at: ordered_at
      status: { const: paid }
      currency: currency
      discount_amount: { const: "0" }
  order_items:
    fields:
      order_id: order_id
      line_no: { const: "1" }
      sku: sku
      quantity: qty
      unit_price: price
`;
const FILE = [
  'order_id,customer_id,ordered_at,currency,sku,qty,price',
  'A1,c1,2025-03-01T10:00:00Z,EUR,S1,1,5',
  // Rejected for both tables, for different reasons, with the same raw text.
  'A2,c2,2025-03-01T10:00:00Z,eur,S2,1,-5',
  '',
].join('\n');

async function extract(landing: string, warehousePath: string, batchId: string) {
  return extractSource(mappedSource('shop', path.join(dir, 'lines.yml')), { warehousePath, landingDir: landing, batchId });
}

describe('the quarantine key', () => {
  for (const mode of ['sql', 'zod'] as const) {
    it(`keeps both reasons when one line is rejected for two tables, and re-loading adds no row (${mode})`, async () => {
      if (mode === 'zod') process.env.CRM_BULK_LOAD = '0';
      const landing = path.join(dir, 'landing');
      fs.mkdirSync(path.join(landing, 'shop'), { recursive: true });
      fs.writeFileSync(path.join(landing, 'shop', 'lines.csv'), FILE);
      fs.writeFileSync(path.join(dir, 'lines.yml'), MAPPING);
      const warehousePath = path.join(dir, 'wh.duckdb');
      await extract(landing, warehousePath, 'b1');
      const quarantine = () =>
        queryWarehouse(
          warehousePath,
          `SELECT raw_table, location, reason, payload, first_batch_id, last_batch_id FROM raw._quarantine ORDER BY ALL`,
        );
      const payload = 'A2,c2,2025-03-01T10:00:00Z,eur,S2,1,-5';
      const first = await quarantine();
      expect(first.map((r) => r.slice(0, 2))).toEqual([
        ['order_items', 'shop/lines.csv:3'],
        ['orders', 'shop/lines.csv:3'],
      ]);
      expect(String(first[0]![2])).toContain('unit_price: must not be negative (got "-5")');
      expect(String(first[1]![2])).toContain('currency: not an ISO 4217 currency code');
      expect(first.every((r) => r[3] === payload)).toBe(true);
      // The same lines read again (state reset): the rows are updated, never added.
      const wh = await openWarehouse(warehousePath);
      try {
        await resetSourceState(wh.connection, 'shop');
      } finally {
        wh.close();
      }
      await extract(landing, warehousePath, 'b2');
      const second = await quarantine();
      expect(second.map((r) => [...r.slice(0, 4), r[4], r[5]])).toEqual(first.map((r) => [...r.slice(0, 4), 'b1', 'b2']));
    });
  }

  it('migrates a warehouse whose quarantine has the older key, keeping its rows', async () => {
    const warehousePath = path.join(dir, 'old.duckdb');
    const wh = await openWarehouse(warehousePath);
    try {
      await wh.connection.run(`
        CREATE SCHEMA raw;
        CREATE TABLE raw._quarantine (
          source VARCHAR NOT NULL, raw_table VARCHAR NOT NULL, location VARCHAR NOT NULL, record_key VARCHAR,
          reason VARCHAR NOT NULL, payload VARCHAR NOT NULL, payload_md5 VARCHAR NOT NULL,
          first_batch_id VARCHAR NOT NULL, last_batch_id VARCHAR NOT NULL, rejected_at TIMESTAMPTZ NOT NULL,
          PRIMARY KEY (source, location, payload_md5));
        INSERT INTO raw._quarantine VALUES ('orders', 'orders', 'orders/orders.csv:2', 'A1', 'bad', 'A1,x', md5('A1,x'), 'b0', 'b0', now());`);
      await ensureRawSchema(wh.connection);
      await ensureRawSchema(wh.connection); // a second time: nothing left to migrate
      const key = await wh.connection.runAndReadAll(
        `SELECT constraint_column_names FROM duckdb_constraints() WHERE table_name = '_quarantine' AND constraint_type = 'PRIMARY KEY'`,
      );
      expect((key.getRows()[0]![0] as { items: unknown[] }).items).toEqual(['source', 'raw_table', 'location', 'payload_md5']);
      const rows = await wh.connection.runAndReadAll('SELECT source, raw_table, location, reason, first_batch_id FROM raw._quarantine');
      expect(rows.getRows()).toEqual([['orders', 'orders', 'orders/orders.csv:2', 'bad', 'b0']]);
      // The same line and payload for another table is now a row of its own.
      await wh.connection.run(
        `INSERT INTO raw._quarantine VALUES ('orders', 'order_items', 'orders/orders.csv:2', 'A1|1', 'worse', 'A1,x', md5('A1,x'), 'b1', 'b1', now())`,
      );
      expect(Number((await wh.connection.runAndReadAll('SELECT count(*) FROM raw._quarantine')).getRows()[0]![0])).toBe(2);
    } finally {
      wh.close();
    }
  });
});

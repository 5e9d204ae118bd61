import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { extractSource } from '../../pipelines/extract/run-extract.ts';
import { mappedSource } from '../../pipelines/extract/sources.ts';
import type { SourceDefinition } from '../../pipelines/extract/source-contract.ts';
import type { SourceRecord } from '../../pipelines/extract/readers/source-record.ts';
import { queryWarehouse } from '../support/warehouse-query.ts';

/**
 * Mapped sources are validated in SQL (sql-checks.ts, the bulk path's rules) inside the mapping's
 * DuckDB; CRM_BULK_LOAD=0 sends the same rows through zod. Both must store the same rows and the same
 * quarantine (location, key, reason, raw text) for values that probe every rule's edges.
 */

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-mapped-sql-'));
});
afterEach(() => {
  delete process.env.CRM_BULK_LOAD;
  fs.rmSync(dir, { recursive: true, force: true });
});

const MAPPING = `
name: edges
match: ["*.csv"]
records:
  orders:
    fields:
      order_id: order_id
      customer_id: customer_id
      ordered_at: ordered_at
      updated_at: ordered_at
      status: status
      currency: currency
      discount_amount: discount
  order_items:
    where: "sku IS NOT NULL"
    fields:
      order_id: order_id
      line_no: line_no
      sku: sku
      quantity: qty
      unit_price: price
      line_type: line_type
`;

const ROWS = [
  'order_id,customer_id,ordered_at,status,currency,discount,line_no,sku,qty,price,line_type',
  'A1,c1,2025-03-01T10:00:00Z,paid,EUR,0,1,S1,2,4.50,',
  'A2,,2025-03-01T10:00:00.123456+08:00,shipped,cny,1.5,1,S2,1,10,product',
  ' A3 ,c3,2025-02-31T10:00:00Z,completed,USD,-1,0,S3,1.5,-2,fee',
  'A4,c4,2025-03-01T24:00:00+0800,done,XXX,abc,10001, ,x,1.23456,gift',
  ',c5,not a date,cancelled,GBP,2,1e2,S5,100000,1,shipping',
  'A6,c6,2025-03-01,refunded,JPY, 3 ,2,S6,0,0,',
  'A7,c7,2025-03-01 08:00:00+01:00,paid,EUR,0,2.0,S7,100001,0.0001,discount',
];

async function load(mode: 'sql' | 'zod', tapped: SourceRecord[], handedOver: string[] = []) {
  const landing = path.join(dir, mode, 'landing');
  fs.mkdirSync(path.join(landing, 'shop'), { recursive: true });
  fs.writeFileSync(path.join(landing, 'shop', 'orders.csv'), ROWS.join('\n') + '\n');
  const mappingFile = path.join(dir, 'edges.yml');
  fs.writeFileSync(mappingFile, MAPPING);
  if (mode === 'zod') process.env.CRM_BULK_LOAD = '0';
  else delete process.env.CRM_BULK_LOAD;
  const source = mappedSource('shop', mappingFile);
  const tapping: SourceDefinition = {
    ...source,
    async open(context) {
      const batch = await source.open(context);
      for (const part of batch.parts) if (part.checked !== undefined) handedOver.push(part.record.table);
      return {
        ...batch,
        parts: batch.parts.map((part) => ({
          ...part,
          records: (async function* () {
            for await (const r of part.records) {
              tapped.push(r);
              yield r;
            }
          })(),
        })),
      };
    },
  };
  const warehousePath = path.join(dir, mode, 'wh.duckdb');
  const summary = await extractSource(tapping, { warehousePath, landingDir: landing, batchId: 'b1' });
  const query = (sql: string) => queryWarehouse(warehousePath, sql);
  return {
    summary: summary.tables.map((t) => [t.table, t.read, t.rejected, t.missingFields]),
    orders: await query(`SELECT * EXCLUDE (_batch_id, _loaded_at) FROM raw.orders ORDER BY order_id`),
    items: await query(`SELECT * EXCLUDE (_batch_id, _loaded_at) FROM raw.order_items ORDER BY order_id, line_no`),
    quarantine: await query(`SELECT raw_table, location, record_key, reason, payload FROM raw._quarantine ORDER BY raw_table, location`),
  };
}

describe('mapped sources validated in SQL', () => {
  it('store the same rows and quarantine as zod per row, for values at every rule edge, and carry SQL results to the loader', async () => {
    const sqlRecords: SourceRecord[] = [];
    const zodRecords: SourceRecord[] = [];
    const sqlHandedOver: string[] = [];
    const zodHandedOver: string[] = [];
    const sql = await load('sql', sqlRecords, sqlHandedOver);
    const zod = await load('zod', zodRecords, zodHandedOver);
    expect(sql).toEqual(zod);
    // Something was accepted and something rejected, with the rules' own wording.
    expect(sql.orders.map((r) => r[0])).toEqual(['A1', 'A7']);
    // A2's line is valid, but its order (currency cny) is not: quarantined with it.
    expect(sql.items.map((r) => r[0])).toEqual(['A1']);
    expect(sql.summary.map((t) => t.slice(0, 3))).toEqual([
      ['orders', 7, 5],
      ['order_items', 7, 6],
    ]);
    const reasons = sql.quarantine.map((r) => String(r[3])).join('\n');
    expect(reasons).toContain('currency: not an ISO 4217 currency code');
    expect(reasons).toContain('quantity: Too big: expected number to be <=100000 (got "100001")');
    expect(reasons).toContain('unit_price: must not be negative (got "-2")');
    expect(reasons).toContain('order_id: required (got "")');
    expect(reasons).toContain('order A2 quarantined');
    // The SQL path decided every row and handed them to the loader as a checked table (no row
    // through JavaScript, no zod); the row path yielded each row for zod to decide.
    expect(sqlHandedOver).toEqual(['orders', 'order_items']);
    expect(sqlRecords).toEqual([]);
    expect(zodHandedOver).toEqual([]);
    expect(zodRecords).toHaveLength(14);
    expect(zodRecords.every((r) => r.checked === undefined && r.rejected === undefined)).toBe(true);
  });
});

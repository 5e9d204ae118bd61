import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { extractSource } from '../../pipelines/extract/run-extract.ts';
import { findSource } from '../../pipelines/extract/sources.ts';
import { fileDropSource, matchesRule } from '../../pipelines/extract/files/file-drop-source.ts';
import { orderRecord } from '../../pipelines/extract/orders/order-records.ts';
import { SourceUnavailableError } from '../../pipelines/extract/source-contract.ts';
import { openWarehouse } from '../../pipelines/raw/warehouse-connection.ts';
import { listSourceStates, resetSourceState } from '../../pipelines/raw/source-state.ts';

let dir: string;
let landing: string;
let warehousePath: string;
let batch = 0;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-drop-'));
  landing = path.join(dir, 'landing');
  warehousePath = path.join(dir, 'wh.duckdb');
  fs.mkdirSync(path.join(landing, 'orders'), { recursive: true });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const HEADER = 'order_id,customer_id,ordered_at,status,currency,discount_amount,updated_at,ship_name,ship_phone,ship_city,ship_address';
const csvRow = (id: string, status: string, discount: string, updated: string) =>
  `${id},C1,2025-02-01T10:00:00+08:00,${status},CNY,${discount},${updated},Li Lei,13800000000,Shanghai,1 Road`;
const write = (name: string, lines: string[]) => fs.writeFileSync(path.join(landing, 'orders', name), lines.join('\n') + '\n');
const extract = () => extractSource(findSource('orders'), { warehousePath, landingDir: landing, batchId: `b${++batch}` });
const ordersTable = (summary: Awaited<ReturnType<typeof extract>>) => summary.tables.find((t) => t.table === 'orders')!;

async function query(sql: string) {
  const wh = await openWarehouse(warehousePath);
  try {
    return (await wh.connection.runAndReadAll(sql)).getRows();
  } finally {
    wh.close();
  }
}

describe('file-drop source', () => {
  it('matches files by prefix and extension, not by a longer name sharing the prefix', () => {
    const rule = { prefix: 'orders', records: [orderRecord] };
    expect(['orders.csv', 'orders_2025-06.ndjson', 'orders-part1.jsonl', 'ORDERS.csv'].map((n) => matchesRule(n, rule))).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(['order_items.csv', 'ordersx.csv', 'orders.txt', 'orders.csv.partial'].map((n) => matchesRule(n, rule))).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });

  it('picks up new CSV and NDJSON files once, then skips them while their checksum is unchanged', async () => {
    write('orders.csv', [
      HEADER,
      csvRow('O1', 'paid', '1.00', '2025-02-01T10:00:00+08:00'),
      csvRow('O2', 'paid', '0.00', '2025-02-01T10:00:00+08:00'),
    ]);
    write('orders_2025-02.ndjson', [
      JSON.stringify({
        order_id: 'O3',
        customer_id: 'C2',
        ordered_at: '2025-02-02T10:00:00Z',
        status: 'shipped',
        currency: 'CNY',
        discount_amount: 0,
        updated_at: '2025-02-02T10:00:00Z',
      }),
    ]);
    const first = await extract();
    expect(ordersTable(first)).toMatchObject({ read: 3, inserted: 3, rejected: 0 });
    expect(first.state?.files.sort()).toEqual(['orders/orders.csv', 'orders/orders_2025-02.ndjson']);
    expect(first.notes[0]).toBe('2 file(s) loaded');

    const second = await extract();
    expect(ordersTable(second)).toMatchObject({ read: 0, inserted: 0, updated: 0 });
    expect(second.notes[0]).toBe('0 file(s) loaded, 2 unchanged file(s) skipped');

    write('orders_2025-03.csv', [HEADER, csvRow('O4', 'paid', '0.00', '2025-03-01T10:00:00+08:00')]);
    const third = await extract();
    expect(ordersTable(third)).toMatchObject({ read: 1, inserted: 1 });
    expect(await query(`SELECT count(*)::INT FROM raw.orders`)).toEqual([[4]]);
    expect(await query(`SELECT path, records::INT FROM raw._file_manifest ORDER BY path`)).toEqual([
      ['orders/orders.csv', 2],
      ['orders/orders_2025-02.ndjson', 1],
      ['orders/orders_2025-03.csv', 1],
    ]);
  });

  it('reloads a file whose content changed (even at the same size) without double counting', async () => {
    write('orders.csv', [
      HEADER,
      csvRow('O1', 'paid', '1.00', '2025-02-01T10:00:00+08:00'),
      csvRow('O2', 'paid', '0.00', '2025-02-01T10:00:00+08:00'),
    ]);
    await extract();
    const before = fs.statSync(path.join(landing, 'orders', 'orders.csv')).size;
    // Same byte count, different content: a corrected discount with a newer updated_at.
    write('orders.csv', [
      HEADER,
      csvRow('O1', 'paid', '2.00', '2025-02-09T10:00:00+08:00'),
      csvRow('O2', 'paid', '0.00', '2025-02-01T10:00:00+08:00'),
    ]);
    expect(fs.statSync(path.join(landing, 'orders', 'orders.csv')).size).toBe(before);
    const reload = await extract();
    expect(ordersTable(reload)).toMatchObject({ read: 2, inserted: 0, updated: 1, unchanged: 1 });
    expect(await query(`SELECT order_id, discount_amount::VARCHAR FROM raw.orders ORDER BY 1`)).toEqual([
      ['O1', '2.00'],
      ['O2', '0.00'],
    ]);
    const manifest = await query(`SELECT count(*)::INT, min(batch_id) FROM raw._file_manifest`);
    expect(manifest).toEqual([[1, `b${batch}`]]);
  });

  it('reports schema drift and quarantines bad rows with file:line, reason and payload', async () => {
    write('orders.csv', [
      `${HEADER},loyalty_code`,
      `${csvRow('O1', 'paid', '1.00', '2025-02-01T10:00:00+08:00')},X1`,
      `${csvRow('O2', 'teleported', '0.00', '2025-02-01T10:00:00+08:00')},X2`,
    ]);
    const summary = ordersTable(await extract());
    expect(summary).toMatchObject({ inserted: 1, rejected: 1, unknownFields: { loyalty_code: 2 } });
    expect(await query(`SELECT source, raw_table, location, record_key, payload FROM raw._quarantine`)).toEqual([
      ['orders', 'orders', 'orders/orders.csv:3', 'O2', `${csvRow('O2', 'teleported', '0.00', '2025-02-01T10:00:00+08:00')},X2`],
    ]);
  });

  it('fails a missing folder with one line naming the source and path, creating no warehouse', async () => {
    const source = fileDropSource({
      name: 'shop_drops',
      family: 'orders',
      description: '',
      folder: 'nowhere',
      rules: [{ prefix: 'orders', records: [orderRecord] }],
    });
    const attempt = extractSource(source, { warehousePath, landingDir: landing, batchId: 'x' });
    await expect(attempt).rejects.toThrow(SourceUnavailableError);
    await expect(attempt).rejects.toThrow(`shop_drops: landing folder not found: ${path.join(landing, 'nowhere')}`);
    expect(fs.existsSync(warehousePath)).toBe(false);
  });

  it('state can be listed and reset per source; after a reset every file is read again without duplicates', async () => {
    write('orders.csv', [HEADER, csvRow('O1', 'paid', '1.00', '2025-02-01T10:00:00+08:00')]);
    await extract();
    const wh = await openWarehouse(warehousePath);
    try {
      const states = await listSourceStates(wh.connection);
      expect(states).toHaveLength(1);
      expect(states[0]).toMatchObject({
        source: 'orders',
        kind: 'files',
        batchId: 'b' + batch,
        files: [{ path: 'orders/orders.csv', records: 1 }],
      });
      expect(await resetSourceState(wh.connection, 'orders')).toEqual({ stateRows: 1, files: 1 });
      expect(await listSourceStates(wh.connection, 'orders')).toEqual([]);
    } finally {
      wh.close();
    }
    const again = await extract();
    expect(ordersTable(again)).toMatchObject({ read: 1, inserted: 0, unchanged: 1 });
    expect(await query(`SELECT count(*)::INT FROM raw.orders`)).toEqual([[1]]);
  });

  it('adds a column the record gained to a raw table created by an older version', async () => {
    const wh = await openWarehouse(warehousePath);
    try {
      await wh.connection
        .run(`CREATE SCHEMA raw; CREATE TABLE raw.orders (order_id VARCHAR PRIMARY KEY, customer_id VARCHAR, ordered_at TIMESTAMPTZ,
        status VARCHAR, currency VARCHAR, discount_amount DECIMAL(18,2), updated_at TIMESTAMPTZ, ship_name VARCHAR, ship_phone VARCHAR,
        ship_city VARCHAR, _source_file VARCHAR, _source_line BIGINT, _batch_id VARCHAR, _loaded_at TIMESTAMPTZ)`);
    } finally {
      wh.close();
    }
    write('orders.csv', [HEADER, csvRow('O1', 'paid', '1.00', '2025-02-01T10:00:00+08:00')]);
    await extract();
    expect(await query(`SELECT order_id, ship_address FROM raw.orders`)).toEqual([['O1', '1 Road']]);
    // Updates and inserts also work on the older table, which still has its primary key.
    write('orders.csv', [
      HEADER,
      csvRow('O1', 'shipped', '1.00', '2025-02-03T10:00:00+08:00'),
      csvRow('O2', 'paid', '0.00', '2025-02-03T10:00:00+08:00'),
    ]);
    expect(ordersTable(await extract())).toMatchObject({ inserted: 1, updated: 1 });
    expect(await query(`SELECT order_id, status FROM raw.orders ORDER BY 1`)).toEqual([
      ['O1', 'shipped'],
      ['O2', 'paid'],
    ]);
  });
});

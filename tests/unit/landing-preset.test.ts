import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractSource } from '../../pipelines/extract/run-extract.ts';
import { fileDropSources, mappedSource } from '../../pipelines/extract/sources.ts';
import { ROW_PATH_SOURCES } from '../../benchmarks/row-path-sources.ts';
import type { SourceDefinition } from '../../pipelines/extract/source-contract.ts';
import { DEFAULT_GENERATE_OPTIONS, generateSampleData } from '../../pipelines/sources/sample-data/generate.ts';
import { queryWarehouse } from '../support/warehouse-query.ts';

/**
 * The built-in orders source is the `landing` preset, run by the warehouse's bulk path
 * (mapped/landing-executor.ts). The same preset run in the mapping's sandbox (its own DuckDB, checks
 * in SQL there) and the file drop's row path (csv-parse or JSON.parse, then zod, files picked by
 * prefix) store the same raw rows, quarantine and counts, on the generated shop and on edge files.
 */

let dir: string;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-landing-preset-'));
  await generateSampleData({
    ...DEFAULT_GENERATE_OPTIONS,
    outDir: path.join(dir, 'landing'),
    customers: 150,
    orders: 1500,
    malformedRate: 0.03,
  });
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const TABLES = ['orders', 'order_items', 'order_payments', 'order_refunds', 'order_cancellations'];

async function load(name: string, source: SourceDefinition, landing = 'landing') {
  const warehousePath = path.join(dir, `${name}.duckdb`);
  const summary = await extractSource(source, { warehousePath, landingDir: path.join(dir, landing), batchId: 'b1' });
  const query = (sql: string) => queryWarehouse(warehousePath, sql);
  const tables: Record<string, unknown[][]> = {};
  for (const table of TABLES) tables[table] = await query(`SELECT * EXCLUDE (_batch_id, _loaded_at) FROM raw.${table} ORDER BY ALL`);
  return {
    counts: summary.tables.map((t) => [t.table, t.read, t.rejected, t.inserted]),
    /** Files the warehouse's bulk path read (the landing executor). */
    bulkFiles: summary.tables.reduce((n, t) => n + (t.bulk?.files ?? 0), 0),
    tables,
    quarantine: await query(`SELECT source, raw_table, location, record_key, reason FROM raw._quarantine ORDER BY ALL`),
  };
}

const builtInOrders = () => fileDropSources().find((s) => s.name === 'orders')!;

const sandboxed = () => mappedSource('orders', 'preset:landing', { executor: 'sandbox' });

/**
 * Writes a landing folder's orders/ files (name -> lines) and loads it three ways: the built-in
 * source, the preset in the sandbox, the row path; the three must agree.
 */
async function bothWays(landing: string, files: Record<string, string[]>) {
  const folder = path.join(dir, landing, 'orders');
  fs.mkdirSync(folder, { recursive: true });
  for (const [name, lines] of Object.entries(files)) fs.writeFileSync(path.join(folder, name), `${lines.join('\n')}\n`);
  const loads = {
    builtIn: await load(`${landing}-built-in`, builtInOrders(), landing),
    mapped: await load(`${landing}-mapped`, sandboxed(), landing),
  };
  expectSameLoad(await load(`${landing}-row-path`, ROW_PATH_SOURCES.orders(), landing), loads.builtIn);
  return loads;
}

const ORDER_HEADER =
  'order_id,customer_id,ordered_at,status,currency,discount_amount,updated_at,ship_name,ship_phone,ship_city,ship_address';
const order = (id: string, extra = '') =>
  `${id},C1,2025-01-0${id.slice(-1)}T10:00:00+08:00,paid,CNY,0.00,2025-01-05T10:00:00+08:00,王,1380000,上海,路1号${extra}`;

/** The preset stored what the built-in source stored: the raw rows, the quarantine and the counts. */
function expectSameLoad(mapped: Awaited<ReturnType<typeof load>>, builtIn: Awaited<ReturnType<typeof load>>): void {
  expect(mapped.tables).toEqual(builtIn.tables);
  expect(mapped.quarantine).toEqual(builtIn.quarantine);
  expect(mapped.counts).toEqual(builtIn.counts);
}

describe('the landing preset', () => {
  it("reads the landing format's optional columns as the file drop does: line_type, a refund's customer_id, line_no, sku, currency, refunded_at (present, empty, invalid or absent)", async () => {
    const { builtIn, mapped } = await bothWays('optional', {
      'orders.csv': [ORDER_HEADER, order('O1'), order('O2')],
      'order_items.csv': [
        'order_id,line_no,sku,product_name,category,brand,quantity,unit_price,line_type',
        'O1,1,SKU-1,Cardigan,knitwear,Aurora,2,10.00,product',
        'O1,2,SHIP,Postage,,,1,5.00,shipping',
        'O1,3,SKU-2,Scarf,knitwear,Aurora,1,3.00,',
        'O2,1,SKU-3,Hat,hats,Aurora,1,4.00,giveaway',
      ],
      // An older export without line_type: every line is a product line.
      'order_items_2024.csv': [
        'order_id,line_no,sku,product_name,category,brand,quantity,unit_price',
        'O2,2,SKU-4,Glove,gloves,Aurora,1,2.50',
      ],
      'refunds.csv': [
        'refund_id,order_id,customer_id,line_no,sku,amount,currency,reason,status,requested_at,refunded_at,updated_at',
        'R1,O1,C1,1,SKU-1,10.00,CNY,return,paid,2025-01-06T10:00:00+08:00,2025-01-07T10:00:00+08:00,2025-01-07T10:00:00+08:00',
        'R2,,C9,,,7.50,USD,other,paid,2025-01-06T10:00:00+08:00,,2025-01-07T10:00:00+08:00',
        'R3,O2,,0,,1.00,,return,paid,2025-01-06T10:00:00+08:00,,2025-01-07T10:00:00+08:00',
        'R4,O2,,,,1.00,XX,return,paid,2025-01-06T10:00:00+08:00,yesterday,2025-01-07T10:00:00+08:00',
      ],
      'refunds_2024.csv': [
        'refund_id,order_id,amount,reason,status,requested_at,updated_at',
        'R5,O1,2.00,return,paid,2025-01-06T10:00:00+08:00,2025-01-07T10:00:00+08:00',
      ],
    });
    expect(builtIn.tables.order_items!.length).toBe(4);
    expect(builtIn.tables.order_refunds!.length).toBe(3);
    expect(builtIn.quarantine.map((q) => q[2])).toEqual(['orders/order_items.csv:5', 'orders/refunds.csv:4', 'orders/refunds.csv:5']);
    expectSameLoad(mapped, builtIn);
  });

  it('reads an optional column a file lacks as missing also where the file has many blank lines (its staged rows are a table, not a view)', async () => {
    const lines = ['order_id,line_no,sku,product_name,category,brand,quantity,unit_price'];
    for (let i = 1; i <= 80; i++) lines.push(`O1,${i},SKU-${i},Item,cat,brand,${i % 7 === 0 ? 'x' : '1'},1.00`, '');
    const { builtIn, mapped } = await bothWays('blank-lines', { 'orders.csv': [ORDER_HEADER, order('O1')], 'order_items.csv': lines });
    expect(builtIn.tables.order_items!.length).toBe(69);
    expect(builtIn.quarantine.map((q) => q[2])).toContain('orders/order_items.csv:14');
    expectSameLoad(mapped, builtIn);
  });

  it('takes the file names the file drop takes (orders_2025.csv, orders-part1.csv, orders.06.csv, orders.jsonl) and ignores the ones it ignores', async () => {
    const { builtIn, mapped } = await bothWays('prefixes', {
      'orders_2025.csv': [ORDER_HEADER, order('O1')],
      'orders-part1.csv': [ORDER_HEADER, order('O2')],
      'orders.06.csv': [ORDER_HEADER, order('O3')],
      'ORDERS_x.txt': [ORDER_HEADER, order('O4')],
      'ordersx.csv': [ORDER_HEADER, order('O5')],
      'orders.jsonl': [
        JSON.stringify({
          order_id: 'O6',
          customer_id: 'C1',
          ordered_at: '2025-01-06T10:00:00+08:00',
          status: 'paid',
          currency: 'CNY',
          discount_amount: '0.00',
          updated_at: '2025-01-06T10:00:00+08:00',
        }),
      ],
      'payments_a.ndjson': [
        JSON.stringify({
          payment_id: 'P1',
          order_id: 'O1',
          method: 'card',
          amount: '1.00',
          status: 'succeeded',
          paid_at: '2025-01-06T10:00:00+08:00',
          updated_at: '2025-01-06T10:00:00+08:00',
        }),
      ],
    });
    expect(builtIn.tables.orders!.map((r) => r[0])).toEqual(['O1', 'O2', 'O3', 'O6']);
    expect(builtIn.tables.order_payments!.length).toBe(1);
    expectSameLoad(mapped, builtIn);
  });

  it("rejects a file whose header names none of the fields (another delimiter, another file) with the file drop's one reason; a header lacking some fields rejects its lines", async () => {
    const { builtIn, mapped } = await bothWays('header', {
      'orders.csv': [ORDER_HEADER, order('O1')],
      'orders_eu.csv': [ORDER_HEADER.replaceAll(',', ';'), order('O2').replaceAll(',', ';')],
      'orders_other.csv': ['a,b,c', '1,2,3'],
      'orders_short.csv': [
        'order_id,customer_id,ordered_at,currency,discount_amount,updated_at',
        'O3,C1,2025-01-03T10:00:00+08:00,CNY,0.00,2025-01-03T10:00:00+08:00',
      ],
    });
    const reasons = builtIn.quarantine.map((q) => String(q[4]));
    expect(reasons.find((r) => r.includes("looks ';'-delimited"))).toBeDefined();
    expect(reasons.find((r) => r.includes('names none of the expected fields'))).toBeDefined();
    expect(reasons.find((r) => r.startsWith('status:'))).toBeDefined();
    expectSameLoad(mapped, builtIn);
  });

  it('checks NDJSON values with their JSON types as the file drop does (expected string, received number; null; not an object; not JSON)', async () => {
    const base = {
      customer_id: 'C1',
      ordered_at: '2025-01-06T10:00:00+08:00',
      status: 'paid',
      currency: 'CNY',
      discount_amount: '0.00',
      updated_at: '2025-01-06T10:00:00+08:00',
    };
    const { builtIn, mapped } = await bothWays('typed', {
      'orders_2025.jsonl': [
        JSON.stringify({ ...base, order_id: 'O1', discount_amount: 1.5 }),
        JSON.stringify({ ...base, order_id: 2, discount_amount: '0.00' }),
        JSON.stringify({ ...base, order_id: 'O3', customer_id: 17850, discount_amount: 0 }),
        JSON.stringify({ ...base, order_id: 'O4', customer_id: null }),
        JSON.stringify({ ...base, order_id: 'O8', ship_city: true }),
        JSON.stringify({ ...base, order_id: 'O5', status: null }),
        '',
        '[1, 2]',
        '{"order_id": "O6",',
        JSON.stringify({ ...base, order_id: 'O7', ship_address: { street: 'a' }, extra_key: 1 }),
      ],
      'order_items.ndjson': [
        JSON.stringify({ order_id: 'O1', line_no: 1, sku: 'S', quantity: 2, unit_price: 3.25 }),
        JSON.stringify({ order_id: 'O1', line_no: '2', sku: 'S', quantity: '2', unit_price: '3.25', line_type: 'fee' }),
        JSON.stringify({ order_id: 'O1', line_no: 3.5, sku: 7, quantity: true, unit_price: [1] }),
      ],
    });
    const reasons = builtIn.quarantine.map((q) => String(q[4]));
    expect(reasons.some((r) => r.includes('expected string, received number'))).toBe(true);
    expect(reasons).toContain('line is not a JSON object');
    expect(reasons.some((r) => r.startsWith('invalid JSON: '))).toBe(true);
    expect(builtIn.tables.orders!.map((r) => r[0])).toEqual(['O1', 'O4']);
    expect(builtIn.tables.order_items!.length).toBe(2);
    expectSameLoad(mapped, builtIn);
  });

  it('loads the generated orders folder into the same raw rows and quarantine as the built-in orders source', async () => {
    const builtIn = await load('built-in', builtInOrders());
    const mapped = await load('mapped', sandboxed());
    expectSameLoad(await load('row-path', ROW_PATH_SOURCES.orders()), builtIn);
    expect(builtIn.bulkFiles).toBeGreaterThan(0);
    expect(mapped.bulkFiles).toBe(0);
    expect(builtIn.tables.orders!.length).toBeGreaterThan(1000);
    expect(builtIn.quarantine.length).toBeGreaterThan(10);
    expectSameLoad(mapped, builtIn);
  });
});

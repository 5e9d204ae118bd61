import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { extractSource } from '../../pipelines/extract/run-extract.ts';
import { fileDropSources } from '../../pipelines/extract/sources.ts';
import { fileSourceSettingsSchema } from '../../shared/source-settings.ts';
import { queryWarehouse } from '../support/warehouse-query.ts';

/**
 * Lines (items, payments, refunds, cancellations) whose order was quarantined in the same load are
 * quarantined with it, reason `order <id> quarantined`, on the bulk path and on the row path alike;
 * an order with a valid version in raw (from an earlier load) keeps its lines.
 */

const ORDERS = fileDropSources({ orders: fileSourceSettingsSchema.parse({}) }).find((s) => s.name === 'orders')!;
const ORDER_HEADER =
  'order_id,customer_id,ordered_at,status,currency,discount_amount,updated_at,ship_name,ship_phone,ship_city,ship_address';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-orphans-'));
});
afterEach(() => {
  delete process.env.CRM_BULK_LOAD;
  fs.rmSync(dir, { recursive: true, force: true });
});

function write(landing: string, name: string, lines: string[]) {
  fs.mkdirSync(path.join(landing, 'orders'), { recursive: true });
  fs.writeFileSync(path.join(landing, 'orders', name), lines.join('\n') + '\n');
}

describe.each(['bulk', 'row'] as const)('lines of a quarantined order (%s path)', (mode) => {
  it('are quarantined with it, naming the order, and the raw tables hold no line without its order', async () => {
    if (mode === 'row') process.env.CRM_BULK_LOAD = '0';
    const landing = path.join(dir, 'landing');
    const warehousePath = path.join(dir, 'wh.duckdb');
    write(landing, 'orders.csv', [
      ORDER_HEADER,
      'O1,c1,2025-03-01T10:00:00Z,paid,CNY,0,2025-03-01T10:00:00Z,,,,',
      'O2,c2,2025-03-01T10:00:00Z,pending,CNY,0,2025-03-01T10:00:00Z,,,,',
    ]);
    write(landing, 'order_items.csv', [
      'order_id,line_no,sku,product_name,category,brand,quantity,unit_price',
      'O1,1,S1,"Mug,',
      'blue",home,B,1,3.50',
      'O2,1,S1,Mug,home,B,2,3.50',
      '',
      'O2,2,S2,Cap,home,B,1,9.00',
      'O9,1,S1,Mug,home,B,1,3.50',
    ]);
    write(landing, 'payments.csv', [
      'payment_id,order_id,method,amount,status,paid_at,updated_at',
      'P1,O1,alipay,3.50,succeeded,2025-03-01T10:00:00Z,2025-03-01T10:00:00Z',
      'P2,O2,alipay,16.00,succeeded,2025-03-01T10:00:00Z,2025-03-01T10:00:00Z',
    ]);
    const summary = await extractSource(ORDERS, { warehousePath, landingDir: landing, batchId: 'b1' });
    const query = (sql: string) => queryWarehouse(warehousePath, sql);
    expect(await query(`SELECT order_id FROM raw.orders`)).toEqual([['O1']]);
    // O9 names an order nobody quarantined (it may come in a later load): it is kept.
    expect(await query(`SELECT order_id, line_no::INT FROM raw.order_items ORDER BY 1, 2`)).toEqual([
      ['O1', 1],
      ['O9', 1],
    ]);
    expect(await query(`SELECT payment_id FROM raw.order_payments`)).toEqual([['P1']]);
    expect(
      await query(`SELECT raw_table, location, record_key, reason FROM raw._quarantine WHERE reason LIKE 'order %' ORDER BY 1, 2`),
    ).toEqual([
      ['order_items', 'orders/order_items.csv:4', 'O2|1', 'order O2 quarantined'],
      ['order_items', 'orders/order_items.csv:6', 'O2|2', 'order O2 quarantined'],
      ['order_payments', 'orders/payments.csv:3', 'P2', 'order O2 quarantined'],
    ]);
    const [[payload]] = (await query(`SELECT payload FROM raw._quarantine WHERE location = 'orders/order_items.csv:6'`)) as [[string]];
    expect(JSON.parse(payload)).toMatchObject({ order_id: 'O2', sku: 'S2', quantity: 1 });
    expect(summary.tables.find((t) => t.table === 'order_items')).toMatchObject({ read: 4, rejected: 2, inserted: 2 });
    expect(summary.tables.find((t) => t.table === 'order_payments')).toMatchObject({ read: 2, rejected: 1, inserted: 1 });

    // A later load: O1 arrives in a bad version, but a valid O1 is in raw, so its new line is kept.
    write(landing, 'orders_2.csv', [ORDER_HEADER, 'O1,c1,2025-03-01T10:00:00Z,paid,cny,0,2025-03-02T10:00:00Z,,,,']);
    write(landing, 'order_items_2.csv', [
      'order_id,line_no,sku,product_name,category,brand,quantity,unit_price',
      'O1,2,S2,Cap,home,B,1,9.00',
    ]);
    await extractSource(ORDERS, { warehousePath, landingDir: landing, batchId: 'b2' });
    expect(await query(`SELECT order_id, line_no::INT FROM raw.order_items WHERE order_id = 'O1' ORDER BY 2`)).toEqual([
      ['O1', 1],
      ['O1', 2],
    ]);
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { orderItemRecord } from '../../pipelines/extract/orders/order-records.ts';
import { ensureRawSchema, ensureRawTable } from '../../pipelines/raw/raw-schema.ts';
import { openWarehouse } from '../../pipelines/raw/warehouse-connection.ts';

/**
 * A warehouse created before unit prices had 4 decimals holds raw.order_items.unit_price as
 * DECIMAL(18,2): the next load widens it in place (no value changes), so a 0.001 price is not
 * rounded to 0.00 on the way in.
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-price-widen-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('raw order_items.unit_price', () => {
  it('is widened from DECIMAL(18,2) to DECIMAL(18,4) keeping existing values', async () => {
    const wh = await openWarehouse(path.join(dir, 'wh.duckdb'));
    try {
      await ensureRawSchema(wh.connection);
      await wh.connection.run(`CREATE TABLE raw.order_items (order_id VARCHAR, line_no INTEGER, sku VARCHAR, product_name VARCHAR,
        category VARCHAR, brand VARCHAR, quantity INTEGER, unit_price DECIMAL(18,2), _source_file VARCHAR, _source_line BIGINT,
        _batch_id VARCHAR, _loaded_at TIMESTAMPTZ, PRIMARY KEY (order_id, line_no))`);
      await wh.connection.run(`INSERT INTO raw.order_items VALUES ('o1', 1, 's', NULL, NULL, NULL, 2, 12.34, 'f', 2, 'b', now())`);
      await ensureRawTable(wh.connection, orderItemRecord);
      await ensureRawTable(wh.connection, orderItemRecord);
      const type = await wh.connection.runAndReadAll(
        `SELECT data_type FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = 'order_items' AND column_name = 'unit_price'`,
      );
      expect(type.getRows()).toEqual([['DECIMAL(18,4)']]);
      // Columns named: the load also added the fields the record gained since (line_type).
      await wh.connection.run(
        `INSERT INTO raw.order_items (order_id, line_no, sku, quantity, unit_price, _source_file, _source_line, _batch_id, _loaded_at)
         VALUES ('o1', 2, 's', 1000, '0.001', 'f', 3, 'b', now())`,
      );
      const prices = await wh.connection.runAndReadAll('SELECT unit_price::VARCHAR FROM raw.order_items ORDER BY line_no');
      expect(prices.getRows()).toEqual([['12.3400'], ['0.0010']]);
    } finally {
      wh.close();
    }
  });
});

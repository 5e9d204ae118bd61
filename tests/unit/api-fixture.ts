import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

/**
 * A tiny warehouse with the two marts the Cube model reads, with rows chosen so that the expected
 * figures can be worked out by hand (see the tests). Timestamps are naive UTC, like dbt's marts.
 * Several orders sit just before a month boundary in UTC but after it in Asia/Shanghai (UTC+8):
 *   o2 2025-01-31 17:00 UTC = 2025-02-01 01:00 Shanghai
 *   o7 2025-02-28 16:00 UTC = 2025-03-01 00:00 Shanghai
 *   o6 2025-02-28 16:30 UTC = 2025-03-01 00:30 Shanghai (refunded: counts as an order, not a sale)
 */
/** order_id, customer_id, ordered_at (UTC), status, valid sale, items, gross, discount, net revenue. */
export type FixtureOrder = [string, string, string, string, boolean, number, string, string, string];

export const FIXTURE_ORDERS: readonly FixtureOrder[] = [
  ['o1', 'c1', '2025-01-10 08:00:00', 'completed', true, 2, '100.00', '10.00', '90.00'],
  ['o2', 'c2', '2025-01-31 17:00:00', 'paid', true, 1, '50.00', '0.00', '50.00'],
  ['o3', 'c1', '2025-01-31 15:30:00', 'shipped', true, 1, '30.00', '0.00', '30.00'],
  ['o4', 'c3', '2025-02-14 12:00:00', 'cancelled', false, 3, '80.00', '0.00', '0.00'],
  ['o5', 'c3', '2025-02-20 03:00:00', 'completed', true, 4, '120.50', '0.50', '120.00'],
  ['o6', 'c2', '2025-02-28 16:30:00', 'refunded', false, 1, '40.00', '0.00', '0.00'],
  ['o7', 'c1', '2025-02-28 16:00:00', 'completed', true, 1, '25.25', '0.00', '25.25'],
  ['o8', 'c2', '2025-03-05 09:00:00', 'completed', true, 2, '60.00', '0.00', '60.00'],
];

export const FIXTURE_CUSTOMERS = [
  // id, name, city, signup, first, last, orders, revenue, aov, recency, r, f, m, rfm, total
  [
    'c1',
    'Alice',
    'Shanghai',
    '2024-12-01 00:00:00',
    '2025-01-10 08:00:00',
    '2025-02-28 16:00:00',
    3,
    '145.25',
    '48.42',
    5,
    5,
    5,
    5,
    '555',
    15,
  ],
  [
    'c2',
    'Bob',
    'Beijing',
    '2024-11-15 00:00:00',
    '2025-01-31 17:00:00',
    '2025-03-05 09:00:00',
    2,
    '110.00',
    '55.00',
    0,
    5,
    3,
    3,
    '533',
    11,
  ],
  [
    'c3',
    'Carol',
    'Shanghai',
    '2025-01-20 00:00:00',
    '2025-02-20 03:00:00',
    '2025-02-20 03:00:00',
    1,
    '120.00',
    '120.00',
    13,
    3,
    1,
    4,
    '314',
    8,
  ],
  ['c4', 'Dan', 'Hangzhou', '2025-03-01 00:00:00', null, null, 0, '0.00', null, null, null, null, null, null, null],
] as const;

const sqlValue = (value: string | number | boolean | null) =>
  value === null ? 'NULL' : typeof value === 'string' ? `'${value.replace(/'/g, "''")}'` : String(value);

/** Writes the fixture warehouse to `filePath` (replacing it) and closes it, as the pipeline would. */
export async function createFixtureWarehouse(filePath: string, options: { extraOrders?: FixtureOrder[] } = {}): Promise<string> {
  fs.mkdirSync(path.dirname(filePath), { recursive: true });
  fs.rmSync(filePath, { force: true });
  const instance = await DuckDBInstance.create(filePath);
  const connection = await instance.connect();
  try {
    const orders = [...FIXTURE_ORDERS, ...(options.extraOrders ?? [])];
    await connection.run(`
      CREATE SCHEMA marts;
      CREATE TABLE marts.fct_orders (
        order_id VARCHAR NOT NULL, customer_id VARCHAR NOT NULL, ordered_at TIMESTAMP NOT NULL,
        order_status VARCHAR, is_valid_sale BOOLEAN, item_count INTEGER, gross_amount DECIMAL(18,2),
        discount_amount DECIMAL(18,2), net_revenue DECIMAL(18,2), currency VARCHAR);
      INSERT INTO marts.fct_orders VALUES ${orders.map((row) => `(${[...row, 'CNY'].map(sqlValue).join(', ')})`).join(',\n')};
      CREATE TABLE marts.customer_value (
        customer_id VARCHAR NOT NULL, customer_name VARCHAR, city VARCHAR, signup_at TIMESTAMP,
        first_order_at TIMESTAMP, last_order_at TIMESTAMP, order_count INTEGER, revenue DECIMAL(18,2),
        avg_order_value DECIMAL(18,2), recency_days INTEGER, r_score INTEGER, f_score INTEGER, m_score INTEGER,
        rfm_score VARCHAR, rfm_total INTEGER);
      INSERT INTO marts.customer_value VALUES ${FIXTURE_CUSTOMERS.map((row) => `(${row.map(sqlValue).join(', ')})`).join(',\n')};
      -- The marts key people by customer_key (one account per person in this fixture).
      ALTER TABLE marts.fct_orders ADD COLUMN customer_key VARCHAR;
      UPDATE marts.fct_orders SET customer_key = customer_id;
      -- Every order is in the reporting currency (CNY) here: its reporting amounts are its own.
      ALTER TABLE marts.fct_orders ADD COLUMN net_revenue_reporting DECIMAL(18,2);
      ALTER TABLE marts.fct_orders ADD COLUMN gross_amount_reporting DECIMAL(18,2);
      UPDATE marts.fct_orders SET net_revenue_reporting = net_revenue, gross_amount_reporting = gross_amount;
      -- One brand (the rollup orders.sales_daily is by primary brand, as the mart has it).
      ALTER TABLE marts.fct_orders ADD COLUMN primary_brand VARCHAR DEFAULT 'Li-Ning';
      ALTER TABLE marts.customer_value RENAME COLUMN customer_id TO customer_key;
      -- dbt's named RFM segment for these scores (seeds/rfm_segment_rules.csv); none without a sale.
      ALTER TABLE marts.customer_value ADD COLUMN rfm_segment VARCHAR;
      UPDATE marts.customer_value SET rfm_segment = CASE rfm_score WHEN '555' THEN 'Champions' WHEN '533' THEN 'Potential loyalist' WHEN '314' THEN 'About to sleep' END;
      -- The CLV prediction's value, its band (var predicted_value_band_floors) and the churn risk band.
      ALTER TABLE marts.customer_value ADD COLUMN predicted_value_365d DECIMAL(18,2);
      ALTER TABLE marts.customer_value ADD COLUMN predicted_value_365d_band DECIMAL(18,2);
      ALTER TABLE marts.customer_value ADD COLUMN churn_risk_band VARCHAR;
      UPDATE marts.customer_value SET
        predicted_value_365d = CASE rfm_score WHEN '555' THEN 812.40 WHEN '533' THEN 230.00 WHEN '314' THEN 12.50 END,
        predicted_value_365d_band = CASE rfm_score WHEN '555' THEN 500 WHEN '533' THEN 200 WHEN '314' THEN 0 END,
        churn_risk_band = CASE rfm_score WHEN '555' THEN 'low' WHEN '533' THEN 'medium' WHEN '314' THEN 'high' END;
    `);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return filePath;
}

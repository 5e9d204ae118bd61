import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWarehouse, type WarehouseHandle } from '../../pipelines/raw/warehouse-connection.ts';
import { clvModelName, fitClv } from '../../pipelines/transform/clv/fit.ts';
import { predictCustomer } from '../../pipelines/transform/clv/predict.ts';
import { scoreCustomers, summaryFromWarehouse } from '../../pipelines/transform/clv/score-customers.ts';
import { seededRandom, simulateTransactions } from '../../pipelines/transform/clv/simulate.ts';
import { DAY_MS, utcOffsetMinutes, summarize, type Transaction } from '../../pipelines/transform/clv/summary-data.ts';

/** The sample shop's zone, Asia/Shanghai (UTC+8, no summer time): config shop.timezone's default. */
const SHANGHAI = utcOffsetMinutes('Asia/Shanghai', Date.UTC(2025, 0, 1));

/**
 * The scorer on a small warehouse whose marts.fct_orders holds simulated BG/NBD customers (orders at
 * random hours, so shop-day boundaries matter), plus cancelled and accidental orders that must not
 * count. The reference for the summary is summary-data.ts's summarize(); for predictions, predict.ts.
 */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-clv-score-'));
const START = Date.UTC(2024, 0, 1);
const END = START + 540 * DAY_MS;
let transactions: Transaction[];

async function makeWarehouse(file: string, sales: Transaction[], extra: string[] = []): Promise<WarehouseHandle> {
  const warehouse = await openWarehouse(file);
  const c = warehouse.connection;
  await c.run('create schema marts');
  await c.run(
    'create table marts.fct_orders (order_id varchar, credited_customer_key varchar, ordered_at timestamp, is_valid_sale boolean, net_revenue_reporting decimal(18,2))',
  );
  await appendSales(c, sales, 'o');
  for (const sql of extra) await c.run(sql);
  return warehouse;
}

/** Appends valid sales to marts.fct_orders, order ids `${prefix}${i}`. */
async function appendSales(c: DuckDBConnection, sales: Transaction[], prefix: string): Promise<void> {
  const appender = await c.createAppender('fct_orders', 'marts');
  sales.forEach((t, i) => {
    appender.appendVarchar(`${prefix}${i}`);
    appender.appendVarchar(t.customerKey);
    appender.appendVarchar(new Date(t.at).toISOString().replace('T', ' ').replace('Z', ''));
    appender.appendBoolean(true);
    appender.appendDouble(t.value);
    appender.endRow();
  });
  appender.closeSync();
}

async function rows(c: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  return (await c.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
}

beforeAll(() => {
  const rand = seededRandom(9);
  transactions = simulateTransactions({
    seed: 4,
    customers: 400,
    bgnbd: { r: 0.8, alpha: 20, a: 0.6, b: 3 },
    spend: { p: 6, q: 4, gamma: 200 },
    startMs: START,
    acquisitionDays: 360,
    totalDays: 540,
  })
    .map((t) => ({ ...t, at: Math.floor(t.at + rand() * DAY_MS) }))
    .filter((t) => t.at <= END);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('CLV scoring into ml.clv_predictions', () => {
  it('summarises fct_orders in DuckDB exactly as summarize() does (shop days, repeats, tenure, mean repeat value)', async () => {
    const warehouse = await makeWarehouse(path.join(tmp, 'summary.duckdb'), transactions, [
      // Neither a cancelled order nor an accidental one (credited to nobody) is a sale.
      "insert into marts.fct_orders values ('x1', 'S000001', '2024-06-01 10:00:00', false, 999), ('x2', null, '2024-06-01 10:00:00', true, 999)",
    ]);
    try {
      const end = END - 30 * DAY_MS; // a calibration end before the last orders: later ones are left out
      const sql = await summaryFromWarehouse(warehouse.connection, end, SHANGHAI);
      const reference = summarize(transactions, end, SHANGHAI);
      expect(sql.length).toBe(reference.length);
      expect(sql.length).toBeGreaterThan(300);
      for (let i = 0; i < reference.length; i++) {
        const [a, b] = [sql[i]!, reference[i]!];
        expect({ key: a.customerKey, x: a.frequency, tx: a.recencyDays, T: a.tenureDays, first: a.firstPurchaseAt }).toEqual({
          key: b.customerKey,
          x: b.frequency,
          tx: b.recencyDays,
          T: b.tenureDays,
          first: b.firstPurchaseAt,
        });
        expect(a.monetary).toBeCloseTo(b.monetary, 6);
        expect(a.averageValue).toBeCloseTo(b.averageValue, 6);
      }
    } finally {
      warehouse.close();
    }
  });

  it('writes one row per customer with predictCustomer() values and a fit row; re-running replaces, never duplicates', async () => {
    const warehouse = await makeWarehouse(path.join(tmp, 'score.duckdb'), transactions);
    const c = warehouse.connection;
    try {
      const first = await scoreCustomers(c, { runId: 'run-1', now: () => new Date('2026-01-01T00:00:00Z') });
      expect(first.status).toBe('fitted');
      expect(first.columnDrift).toBeNull();
      const calibrationEnd = Date.parse(first.calibrationEnd!);
      expect(calibrationEnd).toBe(Math.max(...transactions.map((t) => t.at)));
      const summary = summarize(transactions, calibrationEnd, SHANGHAI);
      // The model the backtest chose, fitted on summarize()'s summary, equals the fit on the DuckDB summary.
      const fit = fitClv(summary, first.fit!.model);
      for (const [k, v] of Object.entries(fit.purchases.params)) expect(first.fit!.purchases.params[k as 'r']).toBeCloseTo(v, 4);

      const written = await rows(c, 'select * from ml.clv_predictions order by customer_key');
      expect(written.length).toBe(summary.length);
      for (const i of [0, 7, 123, summary.length - 1]) {
        const expected = predictCustomer(first.fit!, summary[i]!, calibrationEnd);
        const row = written[i]!;
        expect(row.customer_key).toBe(expected.customerKey);
        expect(row.frequency).toBe(expected.frequency);
        expect(row.probability_alive as number).toBeCloseTo(expected.probabilityAlive, 9);
        expect(row.predicted_orders_365d as number).toBeCloseTo(expected.predictedOrders365d, 9);
        expect(row.predicted_value_90d as number).toBeCloseTo(expected.predictedValue90d, 6);
        expect(row.model_name).toBe(clvModelName(first.fit!.model));
        const next = row.expected_next_order_at as Date | null;
        expect(next === null ? null : next.getTime()).toBe(expected.expectedNextOrderAt?.getTime() ?? null);
      }
      const bounds = await rows(
        c,
        'select min(probability_alive) as lo, max(probability_alive) as hi, count(*) filter (where predicted_orders_90d > predicted_orders_365d) as bad from ml.clv_predictions',
      );
      expect(bounds[0]).toMatchObject({ bad: 0n });
      expect(bounds[0]!.lo as number).toBeGreaterThanOrEqual(0);
      expect(bounds[0]!.hi as number).toBeLessThanOrEqual(1);

      await scoreCustomers(c, { runId: 'run-2' });
      expect(await rows(c, 'select count(*) as n, count(distinct customer_key) as k from ml.clv_predictions')).toEqual([
        { n: BigInt(summary.length), k: BigInt(summary.length) },
      ]);
      const fits = await rows(c, 'select run_id, status, bgnbd_r, fit_json from ml.clv_model_fits order by fitted_at');
      expect(fits.map((f) => [f.run_id, f.status])).toEqual([
        ['run-1', 'fitted'],
        ['run-2', 'fitted'],
      ]);
      expect(JSON.parse(String(fits[0]!.fit_json)).bgnbd.params.r).toBe(fits[0]!.bgnbd_r);
      // The backtest that chose the model is kept with the fit (dim_clv_model shows its holdout MAEs).
      const stored = JSON.parse(String(fits[0]!.fit_json)) as {
        model: string;
        backtest: {
          chosen: string;
          holdoutDays: number;
          candidates: { model: string }[];
          model: { purchases: { mae: number } };
          churnBands: unknown[];
        };
      };
      expect(stored.backtest.chosen).toBe(stored.model);
      expect(stored.backtest.candidates.map((m) => m.model)).toEqual(['bgnbd', 'mbgnbd', 'paretonbd']);
      expect(stored.backtest.holdoutDays).toBeGreaterThanOrEqual(28);
      expect(stored.backtest.model.purchases.mae).toBeGreaterThan(0);
      expect(stored.backtest.churnBands).toHaveLength(3);
    } finally {
      warehouse.close();
    }
  });

  it('fits on an evenly spread sample when there are more customers than maxFitCustomers, and still scores everyone', async () => {
    const warehouse = await makeWarehouse(path.join(tmp, 'sample.duckdb'), transactions);
    try {
      const result = await scoreCustomers(warehouse.connection, { maxFitCustomers: 150 });
      expect(result).toMatchObject({ status: 'fitted', fitCustomers: 150 });
      expect(result.fit!.purchases.customers).toBe(150);
      const [row] = await rows(
        warehouse.connection,
        'select (select count(probability_alive) from ml.clv_predictions) as scored, (select fit_customers from ml.clv_model_fits) as fitted',
      );
      expect(row).toEqual({ scored: BigInt(result.customers), fitted: 150 });
      expect(result.customers).toBeGreaterThan(300);
    } finally {
      warehouse.close();
    }
  });

  it("reuses the last fit within reuseFitWithinDays of new history (scoring today's summary), and fits again past it", async () => {
    // Data up to 40 days before the end: the first fit. Then 5 more days of orders: reused. Then
    // the rest (40 days after the first fit's calibration end): fitted again.
    const cut = (days: number) => transactions.filter((t) => t.at <= END - days * DAY_MS);
    const warehouse = await makeWarehouse(path.join(tmp, 'reuse.duckdb'), cut(40));
    const c = warehouse.connection;
    const addOrders = async (from: number, to: number) => {
      const batch = transactions.filter((t) => t.at > END - from * DAY_MS && t.at <= END - to * DAY_MS);
      expect(batch.length).toBeGreaterThan(0);
      await appendSales(c, batch, `n${from}-`);
    };
    try {
      const first = await scoreCustomers(c, { runId: 'fit-1', reuseFitWithinDays: 7, now: () => new Date('2026-01-01T00:00:00Z') });
      expect(first).toMatchObject({ status: 'fitted', reusedFit: null });

      await addOrders(40, 35);
      const second = await scoreCustomers(c, { runId: 'reuse-1', reuseFitWithinDays: 7, now: () => new Date('2026-01-02T00:00:00Z') });
      expect(second.status).toBe('fitted');
      expect(second.reusedFit).toMatchObject({ runId: 'fit-1', calibrationEnd: first.calibrationEnd });
      expect(second.reusedFit!.ageDays).toBeGreaterThan(0);
      expect(second.reusedFit!.ageDays).toBeLessThanOrEqual(7);
      expect(second.fit!.purchases.params).toEqual(first.fit!.purchases.params);
      // Today's customers and summary, yesterday's parameters.
      const calibrationEnd = Date.parse(second.calibrationEnd!);
      expect(calibrationEnd).toBeGreaterThan(Date.parse(first.calibrationEnd!));
      const summary = summarize(cut(35), calibrationEnd, SHANGHAI);
      const written = await rows(
        c,
        'select customer_key, frequency, tenure_days, probability_alive from ml.clv_predictions order by customer_key',
      );
      expect(written.length).toBe(summary.length);
      for (const i of [0, 50, summary.length - 1]) {
        const expected = predictCustomer(first.fit!, summary[i]!, calibrationEnd);
        expect(written[i]).toMatchObject({
          customer_key: expected.customerKey,
          frequency: summary[i]!.frequency,
          tenure_days: summary[i]!.tenureDays,
        });
        expect(written[i]!.probability_alive as number).toBeCloseTo(expected.probabilityAlive, 9);
      }

      // 40 days after the first fit's calibration end (and a reuse row is never a fit to reuse): fitted again.
      await addOrders(35, 0);
      const third = await scoreCustomers(c, { runId: 'fit-2', reuseFitWithinDays: 7, now: () => new Date('2026-01-03T00:00:00Z') });
      expect(third).toMatchObject({ status: 'fitted', reusedFit: null });
      expect(third.fit!.purchases.params).not.toEqual(first.fit!.purchases.params);
      // Without reuse (the default, and --full-refresh), every run fits.
      const fourth = await scoreCustomers(c, { runId: 'fit-3', now: () => new Date('2026-01-04T00:00:00Z') });
      expect(fourth.reusedFit).toBeNull();

      const fits = await rows(c, 'select run_id, status, reason, fit_customers from ml.clv_model_fits order by fitted_at');
      expect(fits.map((f) => [f.run_id, f.status, f.reason === null ? null : String(f.reason).replace(/\(.*\)/, '(…)')])).toEqual([
        ['fit-1', 'fitted', null],
        ['reuse-1', 'fitted', 'reused the fit of run fit-1 (…)'],
        ['fit-2', 'fitted', null],
        ['fit-3', 'fitted', null],
      ]);
      expect(fits[1]!.fit_customers).toBe(fits[0]!.fit_customers);
    } finally {
      warehouse.close();
    }
  });

  it('scores as of a given date: later orders are not seen and tenure ends there', async () => {
    const warehouse = await makeWarehouse(path.join(tmp, 'asof.duckdb'), transactions);
    try {
      const result = await scoreCustomers(warehouse.connection, { asOf: '2024-12-31' });
      expect(result.calibrationEnd).toBe('2024-12-31T00:00:00.000Z');
      const expected = summarize(transactions, Date.UTC(2024, 11, 31), SHANGHAI);
      const [row] = await rows(warehouse.connection, 'select count(*) as n, max(tenure_days) as t from ml.clv_predictions');
      expect(row).toEqual({ n: BigInt(expected.length), t: Math.max(...expected.map((e) => e.tenureDays)) });
      await expect(scoreCustomers(warehouse.connection, { asOf: 'yesterday-ish' })).rejects.toThrow(
        /as_of_date "yesterday-ish" is not a date/,
      );
    } finally {
      warehouse.close();
    }
  });

  it('too few repeat buyers: customers are written with null predictions and the fit row says why', async () => {
    const few = transactions.filter((t) => t.customerKey <= 'S000015');
    const warehouse = await makeWarehouse(path.join(tmp, 'few.duckdb'), few);
    try {
      const result = await scoreCustomers(warehouse.connection);
      expect(result.status).toBe('not_fitted');
      expect(result.reason).toMatch(/repeat purchase day \(at least 20 needed to fit BG\/NBD\)/);
      const [row] = await rows(
        warehouse.connection,
        'select count(*) as n, count(probability_alive) as scored, count(frequency) as summarised from ml.clv_predictions',
      );
      expect(row).toEqual({ n: BigInt(result.customers), scored: 0n, summarised: BigInt(result.customers) });
      const [fitRow] = await rows(warehouse.connection, 'select status, reason, bgnbd_r from ml.clv_model_fits');
      expect(fitRow).toEqual({ status: 'not_fitted', reason: result.reason, bgnbd_r: null });
    } finally {
      warehouse.close();
    }
  });

  it("replaces an ml.clv_predictions whose columns differ from the scorer's and says so; no sales writes an empty table", async () => {
    const warehouse = await makeWarehouse(
      path.join(tmp, 'drift.duckdb'),
      [],
      ['create schema ml', 'create table ml.clv_predictions (customer_key varchar, old_column integer)'],
    );
    try {
      const result = await scoreCustomers(warehouse.connection);
      expect(result.status).toBe('no_sales');
      expect(result.columnDrift).toMatch(/ml\.clv_predictions had \(customer_key VARCHAR, old_column INTEGER\)/);
      const columns = await rows(
        warehouse.connection,
        "select column_name from information_schema.columns where table_schema = 'ml' and table_name = 'clv_predictions'",
      );
      expect(columns.map((r) => r.column_name)).toContain('probability_alive');
      expect(await rows(warehouse.connection, 'select count(*) as n from ml.clv_predictions')).toEqual([{ n: 0n }]);
    } finally {
      warehouse.close();
    }
  });
});

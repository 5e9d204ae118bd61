import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipeline } from '../../cli/pipeline.ts';
import { runSteps, transformSteps, type PipelineSummary } from '../../pipelines/run/run-pipeline.ts';
import { openWarehouse } from '../../pipelines/raw/warehouse-connection.ts';
import { DEFAULT_GENERATE_OPTIONS, generateSampleData } from '../../pipelines/sources/sample-data/generate.ts';
import { fitClv, type ClvFit } from '../../pipelines/transform/clv/fit.ts';
import type { RepeatModelKind } from '../../pipelines/transform/clv/repeat-models.ts';
import { predictCustomer } from '../../pipelines/transform/clv/predict.ts';
import { CLV_PREDICTION_COLUMNS, type ScoreResult } from '../../pipelines/transform/clv/score-customers.ts';
import { utcOffsetMinutes, summarize, type CustomerSummary } from '../../pipelines/transform/clv/summary-data.ts';
import { readWarehouseTransactions } from '../../pipelines/transform/clv/transactions.ts';

/** The sample shop's zone, Asia/Shanghai (UTC+8, no summer time): config shop.timezone's default. */
const SHANGHAI = utcOffsetMinutes('Asia/Shanghai', Date.UTC(2025, 0, 1));

/**
 * The real pipeline (extract -> dbt build -> clv:score -> dbt build source:ml+) on a generated shop:
 * ml.clv_predictions holds one row per credited buyer, customer_value carries the predictions that an
 * independent predictCustomer() call gives, bands follow the dbt vars, and a second run replaces the
 * predictions without duplicating them.
 */
type Row = Record<string, unknown>;
let workDir: string;
let warehousePath: string;
let landingDir: string;
let first: PipelineSummary;

async function query(sql: string): Promise<Row[]> {
  const warehouse = await openWarehouse(warehousePath, { readOnly: true });
  try {
    return (await warehouse.connection.runAndReadAll(sql)).getRowObjectsJS() as Row[];
  } finally {
    warehouse.close();
  }
}

beforeAll(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-clv-pred-'));
  landingDir = path.join(workDir, 'landing');
  warehousePath = path.join(workDir, 'warehouse', 'crm.duckdb');
  await generateSampleData({ ...DEFAULT_GENERATE_OPTIONS, outDir: landingDir, seed: 13, customers: 300, orders: 3_000, malformedRate: 0 });
  first = await runPipeline({ warehousePath, landingDir, interactive: false });
}, 300_000);

afterAll(() => {
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

describe('CLV predictions in the warehouse', () => {
  it('runs dbt (all but source:ml+), then clv:score, then dbt source:ml+, and publishes', () => {
    expect(first.published).toBe(true);
    const ids = first.run.steps.map((s) => s.id);
    expect(ids.filter((id) => id.startsWith('dbt:') || id.startsWith('clv:'))).toEqual(['dbt:build', 'clv:score', 'dbt:build:ml']);
    const score = first.run.steps.find((s) => s.id === 'clv:score')!;
    expect(score.status).toBe('succeeded');
    const result = score.output as ScoreResult;
    expect(result.status).toBe('fitted');
    // The empty table dbt's on-run-start hook created has exactly the scorer's columns.
    expect(result.columnDrift).toBeNull();
    const results = (id: string) =>
      (first.run.steps.find((s) => s.id === id)!.output as { results: { uniqueId: string }[] }).results.map((r) => r.uniqueId);
    expect(results('dbt:build')).toEqual(expect.arrayContaining(['model.customer_value_warehouse.fct_orders']));
    expect(results('dbt:build')).not.toContain('model.customer_value_warehouse.customer_value');
    expect(results('dbt:build:ml')).toEqual(
      expect.arrayContaining(['model.customer_value_warehouse.stg_ml__clv_predictions', 'model.customer_value_warehouse.customer_value']),
    );
  });

  it("has one row per customer with a credited valid sale, with the scorer's columns", async () => {
    const buyers = await query(
      'select distinct credited_customer_key as k from marts.fct_orders where is_valid_sale and credited_customer_key is not null order by 1',
    );
    const predicted = await query('select customer_key as k from ml.clv_predictions order by 1');
    expect(predicted.map((r) => r.k)).toEqual(buyers.map((r) => r.k));
    expect(buyers.length).toBeGreaterThan(200);
    const columns = await query(
      "select column_name as c, data_type as t from information_schema.columns where table_schema = 'ml' and table_name = 'clv_predictions' order by ordinal_position",
    );
    expect(columns.map((r) => [r.c, r.t])).toEqual(CLV_PREDICTION_COLUMNS.map(([n, t]) => [n, t]));
  });

  it("customer_value's predictions equal an independent predictCustomer() with the recorded fit", async () => {
    const [fitRow] = await query('select * from ml.clv_model_fits');
    // The pipeline backtests the model family and records the model it chose in the fit's name.
    const model = String(fitRow!.model_name).replace(/_gamma_gamma$/, '') as RepeatModelKind;
    expect(['bgnbd', 'mbgnbd', 'paretonbd']).toContain(model);
    // The columns hold r and alpha of every model (a, b of the beta-geometric ones); fit_json the whole parameters.
    const stored = JSON.parse(String(fitRow!.fit_json)) as { bgnbd: ClvFit['purchases'] };
    expect(stored.bgnbd.params.r).toBe(fitRow!.bgnbd_r);
    expect(stored.bgnbd.params.alpha).toBe(fitRow!.bgnbd_alpha);
    const fit = {
      model,
      purchases: { params: stored.bgnbd.params },
      spend: { params: { p: fitRow!.gamma_gamma_p, q: fitRow!.gamma_gamma_q, gamma: fitRow!.gamma_gamma_gamma } },
    } as unknown as ClvFit;
    const calibrationEnd = (fitRow!.calibration_end as Date).getTime();
    const [latest] = await query('select max(ordered_at) as at from marts.fct_orders');
    expect(calibrationEnd).toBe((latest!.at as Date).getTime());

    // The summary straight from the reference code, on the transactions transactions.ts reads.
    const warehouse = await openWarehouse(warehousePath, { readOnly: true });
    const transactions = await readWarehouseTransactions(warehouse.connection).finally(() => warehouse.close());
    const summary = summarize(transactions, calibrationEnd, SHANGHAI);
    // Refitting on that summary gives the recorded parameters.
    const refit = fitClv(summary, model);
    for (const [name, value] of Object.entries(refit.purchases.params)) expect(fit.purchases.params[name as 'r'] / value).toBeCloseTo(1, 4);

    const byKey = new Map(summary.map((c) => [c.customerKey, c]));
    const values = new Map(
      (await query('select * from marts.customer_value where order_count > 0')).map((r) => [String(r.customer_key), r]),
    );
    const sorted = [...summary].sort((a, b) => b.frequency - a.frequency);
    const picks: CustomerSummary[] = [sorted[0]!, sorted[Math.floor(sorted.length / 2)]!, sorted[sorted.length - 1]!, summary[3]!];
    for (const c of picks) {
      const expected = predictCustomer(fit, byKey.get(c.customerKey)!, calibrationEnd);
      const row = values.get(c.customerKey)!;
      expect(row, c.customerKey).toBeDefined();
      expect(row.probability_alive as number).toBeCloseTo(expected.probabilityAlive, 9);
      expect(row.churn_risk as number).toBeCloseTo(1 - expected.probabilityPurchase90d, 9);
      expect(row.predicted_orders_90d as number).toBeCloseTo(expected.predictedOrders90d, 9);
      expect(row.predicted_orders_365d as number).toBeCloseTo(expected.predictedOrders365d, 9);
      expect(Number(row.predicted_value_90d)).toBeCloseTo(expected.predictedValue90d, 2);
      expect(Number(row.predicted_value_365d)).toBeCloseTo(expected.predictedValue365d, 2);
      const next = row.expected_next_order_at as Date | null;
      expect(next === null ? null : next.getTime()).toBe(expected.expectedNextOrderAt?.getTime() ?? null);
    }
  });

  it('keeps probability_alive in [0, 1], churn risk 1 - P(purchase in 90 days) banded by the thresholds (0.1 / 0.25), and nulls for customers without a valid sale', async () => {
    const [check] = await query(`select
        count(*) filter (where order_count > 0) as buyers,
        count(*) filter (where order_count > 0 and probability_alive is not null) as scored,
        count(*) filter (where order_count = 0) as non_buyers,
        count(*) filter (where order_count = 0 and (probability_alive is not null or churn_risk_band is not null or predicted_value_365d is not null or expected_next_order_at is not null)) as non_buyers_with_predictions,
        count(*) filter (where probability_alive < 0 or probability_alive > 1) as out_of_range,
        count(*) filter (where abs(churn_risk - (1 - probability_purchase_90d)) > 1e-12) as bad_risk,
        count(*) filter (where churn_risk_band is distinct from case when probability_purchase_90d is null then null when probability_purchase_90d < 0.1 then 'high' when probability_purchase_90d < 0.25 then 'medium' else 'low' end) as bad_band,
        count(distinct churn_risk_band) as bands
      from marts.customer_value`);
    expect(check).toMatchObject({ non_buyers_with_predictions: 0n, out_of_range: 0n, bad_risk: 0n, bad_band: 0n });
    expect(check!.scored).toBe(check!.buyers);
    expect(check!.non_buyers as bigint).toBeGreaterThan(0n);
    expect(check!.bands as bigint).toBeGreaterThanOrEqual(2n);
  });

  it('rates a long-lapsed customer below a frequent recent one', async () => {
    const rows = await query('select frequency, recency_days, tenure_days, probability_alive from ml.clv_predictions where frequency > 0');
    const recentFrequent = rows
      .filter((r) => (r.tenure_days as number) - (r.recency_days as number) <= 30)
      .sort((a, b) => (b.frequency as number) - (a.frequency as number))[0];
    const lapsed = rows
      .filter((r) => (r.tenure_days as number) - (r.recency_days as number) >= 365)
      .sort((a, b) => (b.tenure_days as number) - (b.recency_days as number) - ((a.tenure_days as number) - (a.recency_days as number)))[0];
    expect(recentFrequent && lapsed).toBeTruthy();
    expect(lapsed!.probability_alive as number).toBeLessThan(recentFrequent!.probability_alive as number);
    expect(lapsed!.probability_alive as number).toBeLessThan(0.3);
  });

  it('a second run replaces the predictions (no duplicates) and appends one fit row', async () => {
    const before = await query(
      'select customer_key, probability_alive, predicted_value_365d from ml.clv_predictions order by customer_key',
    );
    const second = await runPipeline({ warehousePath, landingDir, interactive: false });
    expect(second.published).toBe(true);
    // A scheduled run leaves dbt's unit tests out (config transform.unitTests, default false).
    expect(second.dbt?.unitTests).toBe(0);
    expect(second.dbt?.tests).toBeGreaterThan(0);
    const after = await query('select customer_key, probability_alive, predicted_value_365d from ml.clv_predictions order by customer_key');
    expect(after).toEqual(before);
    const [counts] = await query(
      'select (select count(*) from ml.clv_predictions) as n, (select count(distinct customer_key) from ml.clv_predictions) as k, (select count(*) from marts.customer_value) as cv, (select count(distinct customer_key) from marts.customer_value) as cvk',
    );
    expect(counts!.n).toBe(counts!.k);
    expect(counts!.cv).toBe(counts!.cvk);
    const fits = await query('select run_id, status, reason from ml.clv_model_fits order by fitted_at');
    expect(fits.map((f) => f.run_id)).toEqual([first.runId, second.runId]);
    // No new history since the first fit (config clv.refitEveryDays, default 7): its fit is reused.
    expect(fits[1]).toMatchObject({
      status: 'fitted',
      reason: expect.stringMatching(new RegExp(`^reused the fit of run ${first.runId} `)),
    });
  }, 300_000);

  it('leaves views that work in the published file, so a partial transform (--select customer_value) builds on them', async () => {
    // DuckDB names a catalog after its file and dbt writes that name into views: builds carry the
    // published file's name (layout.buildPath), or these views would point at a catalog that is gone.
    expect(Number((await query('select count(*) as n from staging.stg_shop__orders'))[0]!.n)).toBeGreaterThan(0);
    const partial = await runSteps(
      { warehousePath, landingDir, command: 'transform', interactive: false },
      transformSteps({ select: ['customer_value'], fullRefresh: true, refitEveryDays: 7 }),
    );
    expect(partial.error).toBeNull();
    expect(partial.status).toBe('succeeded');
    // --full-refresh fits again even within refitEveryDays.
    const [latest] = await query('select run_id, reason from ml.clv_model_fits order by fitted_at desc limit 1');
    expect(latest).toMatchObject({ run_id: partial.runId, reason: null });
    expect(
      Number((await query('select count(*) as n from marts.customer_value where predicted_value_365d is not null'))[0]!.n),
    ).toBeGreaterThan(0);
  });
});

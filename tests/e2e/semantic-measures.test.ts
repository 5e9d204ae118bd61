import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../api/auth.ts';
import { startApiServer, type RunningApiServer } from '../../api/server.ts';
import type { MetaResponse } from '../../api/semantic/meta.ts';
import { WarehouseReader } from '../../api/warehouse/warehouse-reader.ts';
import { runPipeline } from '../../pipelines/run/run-pipeline.ts';
import { DEFAULT_GENERATE_OPTIONS, generateSampleData } from '../../pipelines/sources/sample-data/generate.ts';

/**
 * The semantic layer on a real pipeline warehouse: every measure of every cube and view answers,
 * and the key measures equal figures computed here straight from the marts (the metric is defined
 * once in dbt; Cube only aggregates the columns dbt defines).
 */
const SECRET = 'semantic-measures-secret-0123456789abcdef';
let workDir: string;
let api: RunningApiServer;
let reader: WarehouseReader;
let token: string;
let meta: MetaResponse;

async function load(query: Record<string, unknown>) {
  const response = await fetch(`${api.url}/cubejs-api/v1/load`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as { data: Record<string, unknown>[]; error?: string };
  expect(response.status, `${JSON.stringify(query)}: ${body.error}`).toBe(200);
  return body.data;
}

/** A measure's expected value over the whole warehouse, as SQL on the marts (one value). */
const KEY_MEASURES: Record<string, string> = {
  'orders.count': 'SELECT count(*) FROM marts.fct_orders',
  'orders.valid_order_count': 'SELECT count(*) FROM marts.fct_orders WHERE is_valid_sale',
  'orders.revenue': 'SELECT sum(net_revenue) FROM marts.fct_orders',
  'orders.gross_amount': 'SELECT sum(gross_amount) FROM marts.fct_orders',
  'orders.discount_amount': 'SELECT sum(discount_amount) FROM marts.fct_orders',
  'orders.units': 'SELECT sum(item_count) FROM marts.fct_orders',
  'orders.buyer_count': 'SELECT count(DISTINCT customer_id) FROM marts.fct_orders WHERE is_valid_sale',
  'orders.avg_order_value': 'SELECT round(sum(net_revenue) / count(*) FILTER (WHERE is_valid_sale), 2) FROM marts.fct_orders',
  'customers.count': 'SELECT count(*) FROM marts.customer_value',
  'customers.buyer_count': 'SELECT count(*) FROM marts.customer_value WHERE order_count > 0',
  'customers.total_revenue': 'SELECT sum(revenue) FROM marts.customer_value',
  'customers.total_orders': 'SELECT sum(order_count) FROM marts.customer_value',
  'customers.avg_recency_days': 'SELECT avg(recency_days) FROM marts.customer_value',
  'customers.avg_rfm_total': 'SELECT avg(rfm_total) FROM marts.customer_value',
  'order_items.net_revenue': 'SELECT sum(net_line_revenue) FROM marts.fct_order_items',
  'order_items.units': 'SELECT sum(quantity) FROM marts.fct_order_items',
  'order_items.line_count': 'SELECT count(*) FROM marts.fct_order_items',
  'service_tickets.count': 'SELECT count(*) FROM marts.fct_service_tickets',
  'service_tickets.complaint_count': "SELECT count(*) FROM marts.fct_service_tickets WHERE category IN ('complaint', 'dispute')",
  'service_tickets.avg_first_reply_minutes': 'SELECT avg(first_reply_minutes) FROM marts.fct_service_tickets',
  'service_tickets.avg_resolution_minutes': 'SELECT avg(resolution_minutes) FROM marts.fct_service_tickets',
  'service_tickets.avg_satisfaction': 'SELECT avg(satisfaction) FROM marts.fct_service_tickets',
  'opinion_mentions.count': 'SELECT count(*) FROM marts.fct_opinion_mentions',
  'opinion_mentions.negative_count': 'SELECT count(*) FROM marts.fct_opinion_mentions WHERE is_negative',
  'opinion_mentions.sentiment_index': 'SELECT avg(sentiment_score) FROM marts.fct_opinion_mentions',
  'customer_profiles.count': 'SELECT count(*) FROM marts.dim_customers',
  'customer_profiles.contactable_count': 'SELECT count(*) FROM marts.dim_customers WHERE is_contactable',
  'customer_profiles.total_revenue': 'SELECT sum(revenue) FROM marts.dim_customers',
  // Views expose the cubes' measures unchanged: the same number everywhere.
  'service_quality.avg_satisfaction': 'SELECT avg(satisfaction) FROM marts.fct_service_tickets',
  'public_opinion.negative_share': 'SELECT avg(CASE WHEN is_negative THEN 1.0 ELSE 0 END) FROM marts.fct_opinion_mentions',
  'executive_kpis.revenue': 'SELECT sum(net_revenue) FROM marts.fct_orders',
  'executive_kpis.buyer_count': 'SELECT count(DISTINCT customer_id) FROM marts.fct_orders WHERE is_valid_sale',
  'customer_value.avg_revenue_per_buyer': 'SELECT round(sum(revenue) / count(*) FILTER (WHERE order_count > 0), 2) FROM marts.customer_value',
  'sales_overview.revenue': 'SELECT sum(net_revenue) FROM marts.fct_orders',
};

beforeAll(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-measures-'));
  const landingDir = path.join(workDir, 'landing');
  const warehousePath = path.join(workDir, 'warehouse', 'crm.duckdb');
  await generateSampleData({ ...DEFAULT_GENERATE_OPTIONS, outDir: landingDir, seed: 3, customers: 200, orders: 1_500, malformedRate: 0.01 });
  const run = await runPipeline({ warehousePath, landingDir, interactive: false });
  if (!run.published) throw new Error(`the pipeline did not publish (${run.status}): ${JSON.stringify(run.run?.error ?? null)}`);
  api = await startApiServer({ warehousePath, jwtSecret: SECRET, port: 0 });
  reader = new WarehouseReader(warehousePath, { idleCloseMs: 0 });
  // Marketing sees every member (contact points included); no brand or region scope.
  token = await signDevToken(SECRET, { sub: 'measures', roles: ['marketing', 'engineer'] });
  const response = await fetch(`${api.url}/cubejs-api/v1/meta`, { headers: { authorization: token } });
  meta = (await response.json()) as MetaResponse;
}, 240_000);

afterAll(async () => {
  await api?.close();
  await reader?.close();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

describe('semantic measures', () => {
  it('every measure of every cube and view answers', async () => {
    const queried = new Set<string>();
    for (const cube of meta.cubes) {
      const measures = cube.measures.map((m) => m.name);
      if (measures.length === 0) continue;
      const [row] = await load({ measures });
      for (const measure of measures) {
        expect(row, `${cube.name}: no row`).toBeDefined();
        expect(Object.keys(row!)).toContain(measure);
        queried.add(measure);
      }
    }
    const all = meta.cubes.flatMap((c) => c.measures.map((m) => m.name));
    expect([...queried].sort()).toEqual([...all].sort());
    expect(all.length).toBeGreaterThan(20);
  });

  it('every measure and dimension is described, and every measure formatted', () => {
    for (const cube of meta.cubes) {
      for (const member of [...cube.measures, ...cube.dimensions]) {
        expect(member.description, `${member.name} has no description`).toBeTruthy();
      }
      for (const measure of cube.measures) expect(measure.format, `${measure.name} has no format`).toBeTruthy();
    }
  });

  it('key measures equal the figures computed from the marts', async () => {
    for (const [measure, sql] of Object.entries(KEY_MEASURES)) {
      const [expected] = await reader.query(sql);
      const expectedValue = Number(Object.values(expected!)[0]);
      const [row] = await load({ measures: [measure] });
      const actual = Number(row![measure]);
      expect(Number.isFinite(expectedValue), `${measure}: expected figure`).toBe(true);
      expect(Math.abs(actual - expectedValue), `${measure}: API ${actual}, marts ${expectedValue}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(expectedValue)));
    }
  });

  it('agree by slice too: revenue by month and status, from the rollup, equals the marts', async () => {
    const rows = await load({ measures: ['orders.revenue'], dimensions: ['orders.order_status'], timeDimensions: [{ dimension: 'orders.ordered_at', granularity: 'month' }], timezone: 'UTC', limit: 50_000 });
    const expected = await reader.query(
      `SELECT order_status, strftime(date_trunc('month', ordered_at), '%Y-%m') AS month, sum(net_revenue) AS revenue FROM marts.fct_orders GROUP BY ALL`,
    );
    const key = (status: unknown, month: unknown) => `${String(status)}|${String(month).slice(0, 7)}`;
    const want = new Map(expected.map((r) => [key(r.order_status, r.month), Number(r.revenue)]));
    expect(rows.length).toBe(want.size);
    for (const row of rows) expect(Number(row['orders.revenue'])).toBeCloseTo(want.get(key(row['orders.order_status'], row['orders.ordered_at.month']))!, 6);
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../api/auth.ts';
import { startApiServer, type RunningApiServer } from '../../api/server.ts';
import type { MetaResponse } from '../../semantic/meta.ts';
import { WarehouseReader } from '../../semantic/warehouse-reader.ts';
import { runPipeline } from '../../cli/pipeline.ts';
import { DEFAULT_SHOP_TIMEZONE } from '../../shared/config.ts';
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
  'executive_kpis.count': 'SELECT count(*) FROM marts.fct_orders',
  'executive_kpis.valid_order_count': 'SELECT count(*) FROM marts.fct_orders WHERE is_valid_sale',
  'executive_kpis.revenue': 'SELECT sum(net_revenue_reporting) FROM marts.fct_orders',
  'executive_kpis.gross_amount': 'SELECT sum(gross_amount) FROM marts.fct_orders',
  'executive_kpis.discount_amount': 'SELECT sum(discount_amount) FROM marts.fct_orders',
  'executive_kpis.units': 'SELECT sum(item_count) FROM marts.fct_orders',
  'executive_kpis.buyer_count': 'SELECT count(DISTINCT customer_id) FROM marts.fct_orders WHERE is_valid_sale',
  'executive_kpis.avg_order_value':
    'SELECT round(sum(net_revenue_reporting) / count(*) FILTER (WHERE is_valid_sale), 2) FROM marts.fct_orders',
  'customer_value.count': 'SELECT count(*) FROM marts.customer_value',
  'customer_value.buyer_count': 'SELECT count(*) FROM marts.customer_value WHERE order_count > 0',
  'customer_value.total_revenue': 'SELECT sum(revenue) FROM marts.customer_value',
  'customer_value.total_orders': 'SELECT sum(order_count) FROM marts.customer_value',
  'customer_value.avg_recency_days': 'SELECT avg(recency_days) FROM marts.customer_value',
  'customer_value.avg_rfm_total': 'SELECT avg(rfm_total) FROM marts.customer_value',
  // The CLV model's columns (ml.clv_predictions via dbt): aggregated, never recomputed by Cube.
  'customer_value.total_predicted_value_365d': 'SELECT sum(predicted_value_365d) FROM marts.customer_value',
  'customer_value.avg_predicted_value_90d': 'SELECT avg(predicted_value_90d) FROM marts.customer_value',
  'customer_value.avg_probability_alive': 'SELECT avg(probability_alive) FROM marts.customer_value',
  'customer_value.at_risk_count': "SELECT count(*) FROM marts.customer_value WHERE order_count > 0 AND churn_risk_band = 'high'",
  'customer_value.total_predicted_value_90d': 'SELECT sum(predicted_value_90d) FROM marts.customer_value',
  'product_sales.net_revenue': 'SELECT sum(net_line_revenue) FROM marts.fct_order_items',
  'product_sales.units': 'SELECT sum(quantity) FROM marts.fct_order_items',
  'product_sales.line_count': 'SELECT count(*) FROM marts.fct_order_items',
  'service_quality.count': 'SELECT count(*) FROM marts.fct_service_tickets',
  'service_quality.complaint_count': "SELECT count(*) FROM marts.fct_service_tickets WHERE category IN ('complaint', 'dispute')",
  'service_quality.avg_first_reply_minutes': 'SELECT avg(first_reply_minutes) FROM marts.fct_service_tickets',
  'service_quality.avg_resolution_minutes': 'SELECT avg(resolution_minutes) FROM marts.fct_service_tickets',
  'service_quality.avg_satisfaction': 'SELECT avg(satisfaction) FROM marts.fct_service_tickets',
  'public_opinion.count': 'SELECT count(*) FROM marts.fct_opinion_mentions',
  'public_opinion.negative_count': 'SELECT count(*) FROM marts.fct_opinion_mentions WHERE is_negative',
  'public_opinion.sentiment_index': 'SELECT avg(sentiment_score) FROM marts.fct_opinion_mentions',
  'customer_contacts.count': 'SELECT count(*) FROM marts.dim_customers',
  'customer_contacts.contactable_count': 'SELECT count(*) FROM marts.dim_customers WHERE is_contactable',
  'customer_contacts.total_revenue': 'SELECT sum(revenue) FROM marts.dim_customers',
  // Views expose the cubes' measures unchanged: the same number everywhere.
  'public_opinion.negative_share': 'SELECT avg(CASE WHEN is_negative THEN 1.0 ELSE 0 END) FROM marts.fct_opinion_mentions',
  'customer_value.avg_revenue_per_buyer':
    'SELECT round(sum(revenue) / count(*) FILTER (WHERE order_count > 0), 2) FROM marts.customer_value',
  'sales_overview.revenue': 'SELECT sum(net_revenue_reporting) FROM marts.fct_orders',
  // Retention: counts add up; rates are ratios of sums over the mart's rows.
  'customer_value.cohort_customers': 'SELECT sum(cohort_size) FROM marts.fct_cohort_retention WHERE months_since_first = 0',
  'customer_value.retained_customers': 'SELECT sum(active_customers) FROM marts.fct_cohort_retention',
  'customer_value.month_1_retention_rate':
    'SELECT sum(active_customers) / sum(cohort_size) FROM marts.fct_cohort_retention WHERE months_since_first = 1',
  'customer_value.cohort_revenue': 'SELECT sum(revenue) FROM marts.fct_cohort_retention',
  'customer_value.monthly_active_customers': 'SELECT sum(active_customers) FROM marts.fct_customer_activity_monthly',
  'customer_value.returning_customers': 'SELECT sum(returning_customers) FROM marts.fct_customer_activity_monthly',
  'customer_value.repeat_purchase_rate': 'SELECT sum(repeat_customers) / sum(active_customers) FROM marts.fct_customer_activity_monthly',
  'customer_value.retention_rate': 'SELECT sum(active_customers) / sum(cohort_size) FROM marts.fct_cohort_retention',
  'customer_value.new_customers': 'SELECT sum(new_customers) FROM marts.fct_customer_activity_monthly',
  // Service and opinion: percentiles over tickets (Cube's PERCENTILE_CONT against DuckDB's own quantile_cont).
  'service_quality.median_first_reply_minutes': 'SELECT quantile_cont(first_reply_minutes, 0.5) FROM marts.fct_service_tickets',
  'service_quality.p90_first_reply_minutes': 'SELECT quantile_cont(first_reply_minutes, 0.9) FROM marts.fct_service_tickets',
  'service_quality.median_resolution_minutes': 'SELECT quantile_cont(resolution_minutes, 0.5) FROM marts.fct_service_tickets',
  'service_quality.p90_resolution_minutes': 'SELECT quantile_cont(resolution_minutes, 0.9) FROM marts.fct_service_tickets',
  // The daily marts re-aggregate to the ticket and mention facts they summarise.
  'service_quality_daily_trend.open_tickets': 'SELECT count(*) FROM marts.fct_service_tickets WHERE is_open',
  'service_quality_daily_trend.resolved_that_day': 'SELECT count(*) FROM marts.fct_service_tickets WHERE resolved_at IS NOT NULL',
  'service_quality_daily_trend.avg_first_reply_minutes': 'SELECT avg(first_reply_minutes) FROM marts.fct_service_tickets',
  'service_quality_daily_trend.avg_resolution_minutes': 'SELECT avg(resolution_minutes) FROM marts.fct_service_tickets',
  'service_quality_daily_trend.avg_satisfaction': 'SELECT avg(satisfaction) FROM marts.fct_service_tickets',
  'service_quality_daily_trend.reopen_rate': 'SELECT avg(CASE WHEN reopen_count > 0 THEN 1.0 ELSE 0 END) FROM marts.fct_service_tickets',
  'service_quality_daily_trend.valid_orders': 'SELECT count(*) FROM marts.fct_orders WHERE is_valid_sale',
  'service_quality_daily_trend.complaint_rate_per_1000_orders':
    "SELECT 1000.0 * (SELECT count(*) FROM marts.fct_service_tickets WHERE category = 'complaint') / (SELECT count(*) FROM marts.fct_orders WHERE is_valid_sale)",
  'service_quality_daily_trend.return_rate_per_1000_orders':
    "SELECT 1000.0 * (SELECT count(*) FROM marts.fct_service_tickets WHERE category = 'return') / (SELECT count(*) FROM marts.fct_orders WHERE is_valid_sale)",
  'public_opinion_daily.mentions': 'SELECT count(*) FROM marts.fct_opinion_mentions',
  'public_opinion_daily.negative_mentions': 'SELECT count(*) FROM marts.fct_opinion_mentions WHERE is_negative',
  'public_opinion_daily.sentiment_index': 'SELECT avg(sentiment_score) FROM marts.fct_opinion_mentions',
  'public_opinion_daily.spike_count': 'SELECT count(*) FROM marts.fct_opinion_daily WHERE is_negative_spike',
  'service_quality_daily_trend.tickets': 'SELECT count(*) FROM marts.fct_service_tickets',
  'service_quality_daily_trend.dispute_rate_per_1000_orders':
    "SELECT 1000.0 * (SELECT count(*) FROM marts.fct_service_tickets WHERE category = 'dispute') / (SELECT count(*) FROM marts.fct_orders WHERE is_valid_sale)",
  'public_opinion_daily.negative_share': 'SELECT avg(CASE WHEN is_negative THEN 1.0 ELSE 0 END) FROM marts.fct_opinion_mentions',
  // Triggers: dbt decides who is on a list and who may be contacted; the campaign_lists view shows contactable rows only.
  // (All triggers, contactable or not, are internal by design: no view exposes customer_triggers' own counts.)
  'campaign_lists.customer_count': 'SELECT count(DISTINCT customer_key) FROM marts.fct_customer_triggers WHERE is_contactable',
  'campaign_lists.count': 'SELECT count(*) FROM marts.fct_customer_triggers WHERE is_contactable',
};

beforeAll(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-measures-'));
  const landingDir = path.join(workDir, 'landing');
  const warehousePath = path.join(workDir, 'warehouse', 'crm.duckdb');
  await generateSampleData({
    ...DEFAULT_GENERATE_OPTIONS,
    outDir: landingDir,
    seed: 3,
    customers: 200,
    orders: 1_500,
    malformedRate: 0.01,
  });
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
      // A view may expose cubes that are not joined (customer_value: customers, cohorts, activity):
      // one query per cube behind the view's members.
      const byCube = new Map<string, string[]>();
      for (const m of cube.measures) {
        const source = String(m.aliasMember ?? m.name).split('.')[0]!;
        byCube.set(source, [...(byCube.get(source) ?? []), m.name]);
      }
      for (const measures of byCube.values()) {
        const [row] = await load({ measures });
        for (const measure of measures) {
          expect(row, `${cube.name}: no row`).toBeDefined();
          expect(Object.keys(row!)).toContain(measure);
          queried.add(measure);
        }
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
      expect(Math.abs(actual - expectedValue), `${measure}: API ${actual}, marts ${expectedValue}`).toBeLessThanOrEqual(
        1e-6 * Math.max(1, Math.abs(expectedValue)),
      );
    }
  });

  it('agree by slice: ticket medians by channel, daily-trend rates and volumes by month equal the marts', async () => {
    const medians = await load({
      measures: ['service_quality.median_first_reply_minutes', 'service_quality.p90_resolution_minutes'],
      dimensions: ['service_quality.channel'],
      timezone: 'UTC',
    });
    const expectedMedians = await reader.query(
      'SELECT channel, quantile_cont(first_reply_minutes, 0.5) AS median_reply, quantile_cont(resolution_minutes, 0.9) AS p90_resolution FROM marts.fct_service_tickets GROUP BY channel',
    );
    expect(medians.length).toBe(expectedMedians.length);
    for (const want of expectedMedians) {
      const row = medians.find((r) => r['service_quality.channel'] === want.channel)!;
      expect(Number(row['service_quality.median_first_reply_minutes'])).toBeCloseTo(Number(want.median_reply), 6);
      expect(Number(row['service_quality.p90_resolution_minutes'])).toBeCloseTo(Number(want.p90_resolution), 6);
    }
    // The trend view mixes the day-level rates cube with the channel x category cube: Cube must not fan out.
    const trend = await load({
      measures: [
        'service_quality_daily_trend.tickets',
        'service_quality_daily_trend.valid_orders',
        'service_quality_daily_trend.complaint_rate_per_1000_orders',
      ],
      timeDimensions: [{ dimension: 'service_quality_daily_trend.day', granularity: 'month' }],
      timezone: 'UTC',
      limit: 50_000,
    });
    const expectedTrend = await reader.query(
      `WITH t AS (SELECT strftime(date_trunc('month', opened_date), '%Y-%m') AS month, count(*) AS tickets, count(*) FILTER (WHERE category = 'complaint') AS complaints FROM marts.fct_service_tickets GROUP BY 1),
            o AS (SELECT strftime(date_trunc('month', order_date), '%Y-%m') AS month, count(*) AS valid_orders FROM marts.fct_orders WHERE is_valid_sale GROUP BY 1)
       SELECT o.month, coalesce(t.tickets, 0) AS tickets, o.valid_orders, 1000.0 * coalesce(t.complaints, 0) / o.valid_orders AS rate FROM o LEFT JOIN t ON t.month = o.month`,
    );
    expect(expectedTrend.length).toBeGreaterThan(3);
    for (const want of expectedTrend) {
      const row = trend.find((r) => String(r['service_quality_daily_trend.day.month']).slice(0, 7) === want.month)!;
      expect(row, String(want.month)).toBeDefined();
      expect(Number(row['service_quality_daily_trend.tickets'] ?? 0)).toBe(Number(want.tickets));
      expect(Number(row['service_quality_daily_trend.valid_orders'])).toBe(Number(want.valid_orders));
      expect(Number(row['service_quality_daily_trend.complaint_rate_per_1000_orders'])).toBeCloseTo(Number(want.rate), 6);
    }
  });

  it('agree by slice too: revenue by month and status, from the rollup, equals the marts', async () => {
    const rows = await load({
      measures: ['executive_kpis.revenue'],
      dimensions: ['executive_kpis.order_status'],
      timeDimensions: [{ dimension: 'executive_kpis.ordered_at', granularity: 'month' }],
      timezone: 'UTC',
      limit: 50_000,
    });
    const expected = await reader.query(
      `SELECT order_status, strftime(date_trunc('month', ordered_at), '%Y-%m') AS month, sum(net_revenue_reporting) AS revenue FROM marts.fct_orders GROUP BY ALL`,
    );
    const key = (status: unknown, month: unknown) => `${String(status)}|${String(month).slice(0, 7)}`;
    const want = new Map(expected.map((r) => [key(r.order_status, r.month), Number(r.revenue)]));
    expect(rows.length).toBe(want.size);
    for (const row of rows)
      expect(Number(row['executive_kpis.revenue'])).toBeCloseTo(
        want.get(key(row['executive_kpis.order_status'], row['executive_kpis.ordered_at.month']))!,
        6,
      );
  });

  it("month-1 retention of one cohort, and the heatmap from its rollup, equal the mart's figures", async () => {
    // The largest cohort whose month 1 is observed, and its month-1 rate as dbt computed it.
    const [cohort] = await reader.query(
      `SELECT strftime(cohort_month, '%Y-%m-%d') AS cohort_month, active_customers / cohort_size AS retention_rate, active_customers, cohort_size
       FROM marts.fct_cohort_retention WHERE months_since_first = 1 ORDER BY cohort_size DESC, cohort_month LIMIT 1`,
    );
    expect(cohort, 'a cohort with a month 1').toBeDefined();
    const day = String(cohort!.cohort_month);
    const [row] = await load({
      measures: ['customer_value.month_1_retention_rate', 'customer_value.cohort_customers'],
      timeDimensions: [{ dimension: 'customer_value.cohort_month', dateRange: [day, day] }],
      timezone: 'UTC',
    });
    expect(Number(row!['customer_value.month_1_retention_rate'])).toBeCloseTo(Number(cohort!.retention_rate), 9);
    expect(Number(row!['customer_value.cohort_customers'])).toBe(Number(cohort!.cohort_size));

    // The heatmap: every cohort and month, from the rollup, equals dbt's per-row rate.
    const response = await fetch(`${api.url}/cubejs-api/v1/load`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        query: {
          measures: ['customer_value.retention_rate', 'customer_value.retained_customers'],
          dimensions: ['customer_value.months_since_first'],
          timeDimensions: [{ dimension: 'customer_value.cohort_month', granularity: 'month' }],
          timezone: 'UTC',
          limit: 50_000,
        },
      }),
    });
    const heatmap = (await response.json()) as { data: Record<string, unknown>[]; usedPreAggregations: Record<string, unknown> };
    expect(Object.keys(heatmap.usedPreAggregations).join(' ')).toContain('cohort_retention_cohort_heatmap');
    const marts = await reader.query(
      `SELECT strftime(cohort_month, '%Y-%m') AS m, months_since_first AS k, active_customers / cohort_size AS r FROM marts.fct_cohort_retention`,
    );
    const want = new Map(marts.map((r) => [`${String(r.m)}|${Number(r.k)}`, Number(r.r)]));
    expect(heatmap.data.length).toBe(want.size);
    for (const r of heatmap.data) {
      const key = `${String(r['customer_value.cohort_month.month']).slice(0, 7)}|${Number(r['customer_value.months_since_first'])}`;
      expect(Number(r['customer_value.retention_rate']), key).toBeCloseTo(want.get(key)!, 9);
    }
  });

  it("RFM segments filter on dbt's rfm_segment: segment counts equal the mart", async () => {
    const [champions] = await reader.query(`SELECT count(*) AS n FROM marts.customer_value WHERE rfm_segment = 'Champions'`);
    const [row] = await load({ measures: ['customer_value.count'], segments: ['customer_value.champions'] });
    expect(Number(row!['customer_value.count'])).toBe(Number(champions!.n));
    expect(Number(champions!.n)).toBeGreaterThan(0);
    // Every named segment of the seed has a Cube segment, through the view too; together they cover every scored customer.
    const bySegment = await reader.query(
      `SELECT rfm_segment, count(*) AS n FROM marts.customer_value WHERE rfm_segment IS NOT NULL GROUP BY 1`,
    );
    const segments = meta.cubes
      .find((c) => c.name === 'customer_value')!
      .segments.map((seg) => seg.name)
      .filter((name) => name !== 'customer_value.buyers');
    expect(segments.length).toBe(11);
    let total = 0;
    for (const segment of segments) {
      const [answer] = await load({ measures: ['customer_value.count'], segments: [segment] });
      total += Number(answer!['customer_value.count']);
    }
    expect(total).toBe(bySegment.reduce((sum, r) => sum + Number(r.n), 0));
  });

  it("KPI periods: the monthly segment equals fct_kpi_periods row by row, and revenue equals the orders cube by the shop's month", async () => {
    const measures = [
      'revenue',
      'prev_revenue',
      'valid_orders',
      'new_customers',
      'retention_rate',
      'satisfaction',
      'complaint_rate_per_1000_orders',
      'sentiment_index',
      'customers_at_risk',
    ];
    const rows = await load({
      measures: measures.map((m) => `executive_kpis.kpi_periods_${m}`),
      segments: ['executive_kpis.kpi_periods_monthly'],
      timeDimensions: [{ dimension: 'executive_kpis.kpi_periods_period_start', granularity: 'month' }],
      timezone: 'UTC',
      limit: 50_000,
    });
    const marts =
      // The mart carries the parts; the expected ratio of each month is worked out here from them.
      await reader.query(`SELECT strftime(period_start, '%Y-%m') AS m, revenue, prev_revenue, orders AS valid_orders, new_customers,
      retained_customers / nullif(retention_base_customers, 0) AS retention_rate, satisfaction_sum / nullif(rated_tickets, 0) AS satisfaction,
      1000 * complaint_tickets / nullif(orders, 0) AS complaint_rate_per_1000_orders, sentiment_score_sum / nullif(scored_mentions, 0) AS sentiment_index,
      customers_at_risk FROM marts.fct_kpi_periods WHERE period_grain = 'month'`);
    expect(rows.length).toBe(marts.length);
    expect(marts.length).toBeGreaterThan(6);
    const byMonth = new Map(marts.map((r) => [String(r.m), r]));
    for (const row of rows) {
      const month = String(row['executive_kpis.kpi_periods_period_start.month']).slice(0, 7);
      const want = byMonth.get(month)!;
      for (const m of measures) {
        const expected = want[m] === null || want[m] === undefined ? null : Number(want[m]);
        const actual = row[`executive_kpis.kpi_periods_${m}`] === null ? null : Number(row[`executive_kpis.kpi_periods_${m}`]);
        if (expected === null) expect(actual, `${month} ${m}`).toBeNull();
        else expect(actual, `${month} ${m}`).toBeCloseTo(expected, 6);
      }
    }
    // The marts' months are the shop's (dbt var shop_timezone): the orders cube groups its timestamps
    // in the same zone; the KPI rows above keep their months even when read in UTC.
    const fromOrders = await load({
      measures: ['executive_kpis.revenue'],
      timeDimensions: [{ dimension: 'executive_kpis.ordered_at', granularity: 'month' }],
      timezone: DEFAULT_SHOP_TIMEZONE,
      limit: 50_000,
    });
    expect(fromOrders.length).toBeGreaterThan(6);
    for (const row of fromOrders) {
      const month = String(row['executive_kpis.ordered_at.month']).slice(0, 7);
      expect(Number(byMonth.get(month)?.revenue ?? 0), month).toBeCloseTo(Number(row['executive_kpis.revenue']), 2);
    }
    // The executive view exposes the same measure unchanged.
    const [one] = await load({ measures: ['executive_kpis.kpi_periods_revenue'], segments: ['executive_kpis.kpi_periods_monthly'] });
    expect(Number(one!['executive_kpis.kpi_periods_revenue'])).toBeCloseTo(
      marts.reduce((sum, r) => sum + Number(r.revenue), 0),
      2,
    );
  });
});

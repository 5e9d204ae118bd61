import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../api/auth.ts';
import { startApiServer, type RunningApiServer } from '../../api/server.ts';
import { normalizeQuery } from '../../semantic/normalize-query.ts';
import { DEFAULT_PRE_AGGREGATION_TIMEZONES, rollupsOf } from '../../semantic/rollup-descriptions.ts';
import { manifestLookup, planPreAggregations, resolveSql } from '../../semantic/rollup-routing.ts';
import { loadSemanticModel, type SemanticModel } from '../../semantic/semantic-model.ts';
import {
  LATEST_DAY_KEY,
  dashboardQueries,
  defaultSelection,
  latestDayQuery,
  membersOfMeta,
  weekRange,
} from '../../dashboard/src/queries.ts';
import { WarehouseReader } from '../../semantic/warehouse-reader.ts';
import { runPipeline } from '../../cli/pipeline.ts';
import type { PipelineSummary } from '../../pipelines/run/run-pipeline.ts';
import { cubeModelDir } from '../../shared/paths.ts';
import { DEFAULT_GENERATE_OPTIONS, generateSampleData } from '../../pipelines/sources/sample-data/generate.ts';
import { buildSecuredSql } from '../../semantic/secured-sql.ts';

/**
 * Pre-aggregations end to end: the pipeline builds the rollups of cube/model into its warehouse
 * copy; the API answers the queries the rollups are declared for from them (Cube's own rollup
 * matching picks the table) and the answers equal the same queries answered from the marts. The
 * dashboard's own queries (dashboard/src/queries.ts, the module its panels build them with) are
 * sent as the page sends them, and each is answered from the rollups or the marts as
 * DASHBOARD_FROM_ROLLUPS says: a panel change that moves a query off (or onto) a rollup fails here.
 */
const SECRET = 'pre-aggregations-secret-0123456789abcdef';
let workDir: string;
let warehousePath: string;
let run: PipelineSummary;
let api: RunningApiServer;
let reader: WarehouseReader;
let model: SemanticModel;
let token: string;

/**
 * The dashboard's queries answered from a rollup for the page's default selection (the 90 days
 * ending on the newest order, all brands): the newest-day lookup, the brand list and the sales
 * cards' comparison and trend (sales_daily), active customers by whole week (buyers_weekly), the
 * repeat-rate card's whole-month comparison and 12-month trend (activity_monthly), the at-risk card
 * and the predicted-value bands (predicted_value_bands), the cohort grid of whole months
 * (cohort_heatmap) and the RFM segments (segment_distribution). The others read the marts: distinct
 * buyers over the 90 days, medians (satisfaction and reply minutes), the daily opinion and service
 * marts, the CLV model's one row and mention rows.
 */
const DASHBOARD_FROM_ROLLUPS = new Set([
  'latest_day',
  'brands',
  'kpi_period_compare',
  'kpi_period_trend',
  'kpi_period_active_customers_trend',
  'kpi_monthly_compare',
  'kpi_monthly_trend',
  'kpi_snapshot_compare',
  'cohorts',
  'rfm',
  'predicted',
]);

/** Query shapes the rollups are declared for (sales by day/week/month, by status, buyers by month, views), in both zones. */
function rollupShapedQueries(range: [string, string], brand: string): Record<string, unknown>[] {
  const queries: Record<string, unknown>[] = [];
  for (const timezone of DEFAULT_PRE_AGGREGATION_TIMEZONES) {
    for (const granularity of ['day', 'week', 'month', 'quarter']) {
      queries.push({
        measures: [
          'executive_kpis.revenue',
          'executive_kpis.valid_order_count',
          'executive_kpis.count',
          'executive_kpis.avg_order_value',
          'executive_kpis.invalid_order_share',
        ],
        timeDimensions: [{ dimension: 'executive_kpis.ordered_at', granularity, dateRange: range }],
        timezone,
      });
    }
    queries.push(
      {
        measures: ['executive_kpis.revenue', 'executive_kpis.units'],
        dimensions: ['executive_kpis.order_status'],
        timeDimensions: [{ dimension: 'executive_kpis.ordered_at', granularity: 'month' }],
        timezone,
      },
      {
        measures: ['executive_kpis.gross_amount', 'executive_kpis.discount_amount', 'executive_kpis.revenue'],
        timeDimensions: [{ dimension: 'executive_kpis.ordered_at', dateRange: range }],
        timezone,
      },
      {
        measures: ['executive_kpis.revenue', 'executive_kpis.buyer_count', 'executive_kpis.valid_order_count'],
        timeDimensions: [{ dimension: 'executive_kpis.ordered_at', granularity: 'month' }],
        order: { 'executive_kpis.ordered_at': 'asc' },
        timezone,
      },
      {
        measures: ['executive_kpis.revenue'],
        filters: [{ member: 'executive_kpis.order_status', operator: 'equals', values: ['completed'] }],
        timeDimensions: [{ dimension: 'executive_kpis.ordered_at', granularity: 'week', dateRange: range }],
        timezone,
      },
      // Through the executives' view: the view's members map back to the orders rollup.
      {
        measures: ['executive_kpis.revenue', 'executive_kpis.avg_order_value'],
        timeDimensions: [{ dimension: 'executive_kpis.ordered_at', granularity: 'month', dateRange: range }],
        timezone,
      },
      // Through the analysts' view (the orders cube is private): the same rollups answer.
      {
        measures: ['sales_overview.revenue', 'sales_overview.count', 'sales_overview.units', 'sales_overview.discount_amount'],
        dimensions: ['sales_overview.order_status'],
        timeDimensions: [{ dimension: 'sales_overview.ordered_at', granularity: 'week', dateRange: range }],
        timezone,
      },
      {
        measures: ['sales_overview.buyer_count', 'sales_overview.revenue'],
        timeDimensions: [{ dimension: 'sales_overview.ordered_at', granularity: 'month' }],
        timezone,
      },
      // Revenue by brand and category, service quality by channel, opinion by platform and brand.
      {
        measures: ['product_sales.net_revenue', 'product_sales.units'],
        dimensions: ['product_sales.brand', 'product_sales.category'],
        timeDimensions: [{ dimension: 'product_sales.ordered_at', granularity: 'week', dateRange: range }],
        timezone,
      },
      {
        measures: ['service_quality.count', 'service_quality.complaint_share', 'service_quality.avg_satisfaction'],
        dimensions: ['service_quality.channel'],
        timeDimensions: [{ dimension: 'service_quality.opened_at', granularity: 'month' }],
        timezone,
      },
      {
        measures: ['public_opinion.count', 'public_opinion.negative_share', 'public_opinion.sentiment_index'],
        dimensions: ['public_opinion.platform', 'public_opinion.brand'],
        timeDimensions: [{ dimension: 'public_opinion.published_at', granularity: 'month' }],
        timezone,
      },
      // Buyers by whole week (buyers_weekly), and of one brand (buyers_weekly_by_brand).
      {
        measures: ['executive_kpis.buyer_count'],
        timeDimensions: [
          {
            dimension: 'executive_kpis.ordered_at',
            granularity: 'week',
            dateRange: weekRange({ from: range[0], to: range[1], brand: null }),
          },
        ],
        timezone,
      },
      {
        measures: ['executive_kpis.buyer_count'],
        timeDimensions: [
          {
            dimension: 'executive_kpis.ordered_at',
            granularity: 'week',
            dateRange: weekRange({ from: range[0], to: range[1], brand: null }),
          },
        ],
        filters: [{ member: 'executive_kpis.primary_brand', operator: 'equals', values: [brand] }],
        timezone,
      },
      // Customers by predicted-value band, and at high churn risk (predicted_value_bands).
      { measures: ['customer_value.count'], dimensions: ['customer_value.predicted_value_365d_band'], timezone },
      {
        measures: ['customer_value.count'],
        filters: [{ member: 'customer_value.churn_risk_band', operator: 'equals', values: ['high'] }],
        timezone,
      },
      // Segment distribution (customer value by RFM code).
      {
        measures: ['customer_value.count', 'customer_value.buyer_count', 'customer_value.total_revenue'],
        dimensions: ['customer_value.rfm_score'],
        timezone,
      },
      { measures: ['customer_value.count', 'customer_value.total_revenue'], dimensions: ['customer_value.r_score'], timezone },
    );
  }
  return queries;
}

async function load(query: Record<string, unknown>) {
  const response = await fetch(`${api.url}/cubejs-api/v1/load`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as { data: Record<string, unknown>[]; usedPreAggregations: Record<string, unknown>; error?: string };
  expect(response.status, body.error).toBe(200);
  // The Server-Timing header names what answered: the rollups, or the marts.
  const timing = response.headers.get('server-timing') ?? '';
  expect(timing).toMatch(/^plan;dur=[\d.]+, warehouse;dur=[\d.]+;desc="[^"]+"$/);
  const source = /desc="([^"]+)"/.exec(timing)![1]!;
  expect(source).toBe(
    Object.keys(body.usedPreAggregations).length
      ? Object.values(body.usedPreAggregations)
          .map((u) => (u as { preAggregationId: string }).preAggregationId)
          .join(' ')
      : 'marts',
  );
  return body;
}

/** The same query answered from the marts (pre-aggregations off), rows keyed like /load's. */
async function raw(query: Record<string, unknown>) {
  const built = buildSecuredSql(model, normalizeQuery(query), { disablePreAggregations: true });
  expect(built.sql).not.toMatch(/pre_aggregations\./);
  const rows = await reader.query(built.sql, built.params);
  return rows.map((row) =>
    Object.fromEntries(Object.entries(row).map(([alias, value]) => [built.aliasNameToMember[alias] ?? alias, value])),
  );
}

/**
 * A query on a private cube (views are the REST surface; /load refuses its members) through the
 * runtime's internal path: resolveSql picks the rollup as /load would, rows keyed like /load's.
 */
async function internal(query: Record<string, unknown>) {
  const resolved = await resolveSql(
    model,
    normalizeQuery(query),
    {},
    manifestLookup((sql, params) => reader.query(sql, params)),
  );
  const rows = await reader.query(resolved.sql, resolved.params);
  const data = rows.map((row) =>
    Object.fromEntries(Object.entries(row).map(([alias, value]) => [resolved.aliasNameToMember[alias] ?? alias, value])),
  );
  return { data, usedPreAggregations: resolved.usedPreAggregations as Record<string, unknown> };
}

/** Whether /meta lists the cube (a private cube has no visible member and is left out). */
const isPublic = (cube: string) => model.meta.cubes.some((c) => c.name === cube);

/**
 * A rollup's own query through the first view that exposes all its dimensions and every measure any
 * view exposes (hidden helper measures behind an average are in no view): view members for the cube
 * members, so a private cube's rollup is checked over REST as its callers reach it. Undefined when no
 * view covers it.
 */
function throughView(references: {
  measures: string[];
  dimensions: string[];
  timeDimensions: { dimension: string; granularity?: string }[];
}) {
  const byView = model.meta.cubes.map((view) => {
    const members = new Map<string, string>();
    for (const m of [...view.measures, ...view.dimensions]) if (typeof m.aliasMember === 'string') members.set(m.aliasMember, m.name);
    return { view: view.name, members };
  });
  const inSomeView = (member: string) => byView.some((v) => v.members.has(member));
  const measures = references.measures.filter(inSomeView);
  const cover = byView.find(
    ({ members }) =>
      measures.length > 0 &&
      [...measures, ...references.dimensions, ...references.timeDimensions.map((td) => td.dimension)].every((m) => members.has(m)),
  );
  if (!cover) return undefined;
  return {
    view: cover.view,
    measures: measures.map((m) => cover.members.get(m)!),
    dimensions: references.dimensions.map((d) => cover.members.get(d)!),
    timeDimensions: references.timeDimensions.map((td) => ({ dimension: cover.members.get(td.dimension)!, granularity: td.granularity })),
  };
}

/** Rows as comparable strings: numbers to 6 decimals (sums of decimals are exact either way), sorted. */
function canonical(rows: Record<string, unknown>[]): string[] {
  return rows
    .map((row) =>
      JSON.stringify(
        Object.keys(row)
          .filter((key, _i, keys) => !keys.some((other) => other.startsWith(`${key}.`))) // the deprecated bare time-dimension key /load adds
          .sort()
          .map((key) => {
            const value = row[key];
            const text = value === null || value === undefined ? null : String(value);
            return [
              key.replace(/\.(day|week|month|quarter|year)$/, ''),
              text !== null && /^-?\d+(\.\d+)?$/.test(text) ? Number(text).toFixed(6) : text?.replace(/Z$/, ''),
            ];
          }),
      ),
    )
    .sort();
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

beforeAll(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-preagg-'));
  const landingDir = path.join(workDir, 'landing');
  warehousePath = path.join(workDir, 'warehouse', 'crm.duckdb');
  await generateSampleData({ ...DEFAULT_GENERATE_OPTIONS, outDir: landingDir, seed: 11, customers: 300, orders: 3_000, malformedRate: 0 });
  run = await runPipeline({ warehousePath, landingDir, interactive: false });
  if (!run.published) throw new Error(`the pipeline did not publish (${run.status}): ${JSON.stringify(run.run?.error ?? null)}`);
  api = await startApiServer({ warehousePath, jwtSecret: SECRET, port: 0 });
  reader = new WarehouseReader(warehousePath, { idleCloseMs: 0 });
  model = await loadSemanticModel(cubeModelDir);
  token = await signDevToken(SECRET, { sub: 'preagg', roles: ['executive'] });
}, 240_000);

afterAll(async () => {
  await api?.close();
  await reader?.close();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

describe('pre-aggregations', () => {
  it('are built by the pipeline for every rollup, time zone and partition', async () => {
    const step = (run as unknown as { steps?: { id: string; status: string }[] }).steps?.find((s) => s.id === 'preaggregations');
    if (step) expect(step.status).toBe('succeeded');
    const manifest = await reader.query(
      'SELECT pre_aggregation_id, timezone, count(*) AS partitions, sum(row_count) AS rows FROM pre_aggregations._manifest GROUP BY ALL ORDER BY ALL',
    );
    const expected = rollupsOf(model)
      .flatMap((r) => DEFAULT_PRE_AGGREGATION_TIMEZONES.map((tz) => `${r.id}@${tz}`))
      .sort();
    expect(manifest.map((m) => `${m.pre_aggregation_id}@${m.timezone}`).sort()).toEqual(expected);
    for (const m of manifest) expect(Number(m.rows)).toBeGreaterThan(0);
  });

  it("answer every rollup's own query, in each zone, equal to the marts", async () => {
    const viaViews: string[] = [];
    for (const rollup of rollupsOf(model)) {
      // A private cube's rollup is queried over REST through a view that exposes its members, else on
      // the internal path (its views' queries are checked below and in the dashboard's).
      const open = isPublic(rollup.id.split('.')[0]!);
      const view = open ? undefined : throughView(rollup.references);
      if (view) viaViews.push(`${rollup.id} via ${view.view}`);
      for (const timezone of DEFAULT_PRE_AGGREGATION_TIMEZONES) {
        const query = view
          ? { measures: view.measures, dimensions: view.dimensions, timeDimensions: view.timeDimensions, timezone, limit: 50_000 }
          : {
              // Hidden helper measures (sums behind an average) are in the rollup but not queryable over REST.
              measures: rollup.references.measures.filter((m) => !open || model.members.get(m)?.config.isVisible),
              dimensions: rollup.references.dimensions,
              timeDimensions: rollup.references.timeDimensions.map((td) => ({ dimension: td.dimension, granularity: td.granularity })),
              timezone,
              limit: 50_000,
            };
        const answer = open || view ? await load(query) : await internal(query);
        expect(
          Object.values(answer.usedPreAggregations).map((u) => (u as { preAggregationId: string }).preAggregationId),
          `${rollup.id} ${timezone}`,
        ).toEqual([rollup.id]);
        expect(canonical(answer.data)).toEqual(canonical(await raw(query)));
      }
    }
    // The orders and customers cubes are private: their rollups are reached through the views.
    expect(viaViews).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^orders\.sales_daily via /),
        expect.stringMatching(/^orders\.buyers_monthly via /),
        expect.stringMatching(/^customers\.segment_distribution via customer_value$/),
      ]),
    );
    console.info(`pre-aggregations: rollups checked over REST through a view: ${viaViews.join(', ')}`);
  });

  it('answer the query shapes they are declared for from rollups, equal to the marts (warehouse timings logged)', async () => {
    const bounds = await reader.query(
      `SELECT strftime(min(ordered_at) + INTERVAL 40 DAY, '%Y-%m-%d') AS lo, strftime(max(ordered_at) - INTERVAL 40 DAY, '%Y-%m-%d') AS hi FROM marts.fct_orders`,
    );
    const range: [string, string] = [String(bounds[0]!.lo), String(bounds[0]!.hi)];
    const timings: { pre: number; raw: number }[] = [];
    const [brand] = (await reader.query('SELECT primary_brand FROM marts.fct_orders GROUP BY 1 ORDER BY count(*) DESC LIMIT 1')).map((r) =>
      String(r.primary_brand),
    );
    for (const query of rollupShapedQueries(range, brand!)) {
      const answer = await load(query);
      expect(Object.keys(answer.usedPreAggregations).length, JSON.stringify(query)).toBeGreaterThan(0);
      const expected = await raw(query);
      expect(expected.length).toBeGreaterThan(0);
      expect(canonical(answer.data), JSON.stringify(query)).toEqual(canonical(expected));

      // Warehouse time only (same reader, SQL as the API runs it), median of 5: a figure for the report, not an assertion.
      const normalized = normalizeQuery(query);
      const pre = await resolveSql(
        model,
        normalized,
        {},
        manifestLookup((sql, params) => reader.query(sql, params)),
      );
      const rawSql = buildSecuredSql(model, normalized, { disablePreAggregations: true });
      const time = async (sql: string, params: unknown[]) => {
        const runs: number[] = [];
        for (let i = 0; i < 5; i++) {
          const started = performance.now();
          await reader.query(sql, params);
          runs.push(performance.now() - started);
        }
        return median(runs);
      };
      timings.push({ pre: await time(pre.sql, pre.params), raw: await time(rawSql.sql, rawSql.params) });
    }
    const total = timings.reduce((sum, t) => ({ pre: sum.pre + t.pre, raw: sum.raw + t.raw }), { pre: 0, raw: 0 });
    console.info(
      `pre-aggregations: ${timings.length} rollup-shaped queries, median warehouse time summed: rollups ${total.pre.toFixed(1)} ms, marts ${total.raw.toFixed(1)} ms`,
    );
  });

  it("answer the dashboard's own queries (dashboard/src/queries.ts) equal to the marts, from the rollups DASHBOARD_FROM_ROLLUPS names", async () => {
    // As the page does: the newest day with orders anchors the default selection; members from /meta.
    const latest = await load(latestDayQuery() as Record<string, unknown>);
    const asOf = String(latest.data[0]![LATEST_DAY_KEY]).slice(0, 10);
    const queries = dashboardQueries(defaultSelection(asOf), membersOfMeta(model.meta));
    expect(queries.length).toBeGreaterThan(15);
    const sources: string[] = [];
    for (const { id, query } of queries) {
      // A compareDateRange query is one query per range, as the API runs it.
      const [td, ...otherTds] = (query.timeDimensions ?? []) as unknown as Record<string, unknown>[];
      const { compareDateRange, ...single } = td ?? {};
      const ranges = compareDateRange as [string, string][] | undefined;
      const parts = ranges ? ranges.map((dateRange) => ({ ...query, timeDimensions: [{ ...single, dateRange }, ...otherTds] })) : [query];
      for (const part of parts as Record<string, unknown>[]) {
        const answer = await load(part);
        const fromRollup = Object.keys(answer.usedPreAggregations).length > 0;
        sources.push(`${id}:${fromRollup ? 'rollup' : 'marts'}`);
        expect(fromRollup, `${id} ${fromRollup ? 'reads a rollup' : 'reads the marts'}: ${JSON.stringify(part)}`).toBe(
          DASHBOARD_FROM_ROLLUPS.has(id),
        );
        const expected = await raw(part);
        if (id !== 'mentions') expect(expected.length, id).toBeGreaterThan(0);
        expect(canonical(answer.data), id).toEqual(canonical(expected));
      }
    }
    console.info(`pre-aggregations: the dashboard's ${queries.length} queries (as of ${asOf}): ${sources.join(' ')}`);
  });

  it("scope a view on a private cube by the cube's policy: a brand-scoped token sees only its brand, rollup or not", async () => {
    const byBrand = {
      measures: ['public_opinion.count'],
      dimensions: ['public_opinion.brand'],
      timeDimensions: [{ dimension: 'public_opinion.published_at', granularity: 'month' }],
      timezone: 'UTC',
    };
    const all = await load(byBrand);
    const brands = [...new Set(all.data.map((r) => String(r['public_opinion.brand'])))].sort();
    expect(brands.length).toBeGreaterThan(1);
    const scoped = await signDevToken(SECRET, { sub: 'preagg-brand', roles: ['executive'], brands: [brands[0]!] });
    const response = await fetch(`${api.url}/cubejs-api/v1/load`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${scoped}` },
      body: JSON.stringify({ query: byBrand }),
    });
    const body = (await response.json()) as { data: Record<string, unknown>[]; error?: string };
    expect(response.status, body.error).toBe(200);
    expect(body.data.length).toBeGreaterThan(0);
    expect(new Set(body.data.map((r) => r['public_opinion.brand']))).toEqual(new Set([brands[0]]));
    expect(canonical(body.data)).toEqual(canonical(all.data.filter((r) => r['public_opinion.brand'] === brands[0])));
    // The private cube itself is not on the REST surface.
    const direct = await fetch(`${api.url}/cubejs-api/v1/load`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: { measures: ['opinion_mentions.count'] } }),
    });
    expect(direct.status).toBe(400);
    expect(((await direct.json()) as { error: string }).error).toMatch(/hidden member: 'opinion_mentions.count'/);
  });

  it("answer a brand-scoped token's sales queries from sales_daily, filtered on its brand, equal to the scoped marts; a region scope reads the marts", async () => {
    const bounds = await reader.query(
      `SELECT strftime(min(ordered_at) + INTERVAL 40 DAY, '%Y-%m-%d') AS lo, strftime(max(ordered_at) - INTERVAL 40 DAY, '%Y-%m-%d') AS hi FROM marts.fct_orders`,
    );
    const range: [string, string] = [String(bounds[0]!.lo), String(bounds[0]!.hi)];
    const [brand] = (await reader.query('SELECT primary_brand FROM marts.fct_orders GROUP BY 1 ORDER BY count(*) DESC LIMIT 1')).map((r) =>
      String(r.primary_brand),
    );
    const [city] = (await reader.query('SELECT ship_city FROM marts.fct_orders GROUP BY 1 ORDER BY count(*) DESC LIMIT 1')).map((r) =>
      String(r.ship_city),
    );
    // Each query with the rollup a one-brand token's queries read (its row filter on primary_brand).
    const queries: [Record<string, unknown>, string][] = [
      [
        {
          measures: ['executive_kpis.revenue', 'executive_kpis.valid_order_count', 'executive_kpis.avg_order_value'],
          timeDimensions: [{ dimension: 'executive_kpis.ordered_at', granularity: 'week', dateRange: range }],
          timezone: 'Asia/Shanghai',
        },
        'orders.sales_daily',
      ],
      [{ measures: ['executive_kpis.count'], dimensions: ['executive_kpis.primary_brand'], timezone: 'UTC' }, 'orders.sales_daily'],
      [
        {
          measures: ['executive_kpis.buyer_count'],
          timeDimensions: [
            {
              dimension: 'executive_kpis.ordered_at',
              granularity: 'week',
              dateRange: weekRange({ from: range[0], to: range[1], brand: null }),
            },
          ],
          timezone: 'Asia/Shanghai',
        },
        'orders.buyers_weekly_by_brand',
      ],
    ];
    for (const [claims, fromRollup] of [
      [{ brands: [brand!] }, true],
      [{ regions: [city!] }, false],
    ] as const) {
      const scoped = await signDevToken(SECRET, { sub: 'preagg-scoped', roles: ['executive'], ...claims });
      for (const [query, rollup] of queries) {
        const response = await fetch(`${api.url}/cubejs-api/v1/load`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${scoped}` },
          body: JSON.stringify({ query }),
        });
        const body = (await response.json()) as {
          data: Record<string, unknown>[];
          usedPreAggregations: Record<string, unknown>;
          error?: string;
        };
        expect(response.status, body.error).toBe(200);
        expect(
          Object.values(body.usedPreAggregations).map((u) => (u as { preAggregationId: string }).preAggregationId),
          JSON.stringify(claims),
        ).toEqual(fromRollup ? [rollup] : []);
        // The same query on the marts under the same scope (the caller's row filter), and the unscoped
        // rows differ: the scope is applied, not ignored.
        const built = buildSecuredSql(model, normalizeQuery(query), {
          securityContext: { roles: ['executive'], ...claims },
          disablePreAggregations: true,
        });
        const expected = (await reader.query(built.sql, built.params)).map((row) =>
          Object.fromEntries(Object.entries(row).map(([alias, value]) => [built.aliasNameToMember[alias] ?? alias, value])),
        );
        expect(expected.length).toBeGreaterThan(0);
        expect(canonical(body.data), JSON.stringify(claims)).toEqual(canonical(expected));
        expect(canonical(body.data)).not.toEqual(canonical(await raw(query)));
        if ('dimensions' in query && 'brands' in claims) expect(body.data.map((r) => r['executive_kpis.primary_brand'])).toEqual([brand]);
      }
    }
  });

  it('read only the partitions the date range needs', async () => {
    const query = {
      measures: ['executive_kpis.revenue'],
      timeDimensions: [{ dimension: 'executive_kpis.ordered_at', granularity: 'day', dateRange: ['2025-03-01', '2025-03-31'] }],
      timezone: 'Asia/Shanghai',
    };
    const resolved = await resolveSql(
      model,
      normalizeQuery(query),
      {},
      manifestLookup((sql, params) => reader.query(sql, params)),
    );
    const used = Object.values(resolved.usedPreAggregations)[0]!;
    expect(used.partitions.length).toBeLessThanOrEqual(1);
    expect(canonical((await load(query)).data)).toEqual(canonical(await raw(query)));
  });

  it('never answer from missing or stale tables: the marts answer instead', async () => {
    const query = normalizeQuery({
      measures: ['executive_kpis.revenue'],
      timeDimensions: [{ dimension: 'executive_kpis.ordered_at', granularity: 'month' }],
      timezone: 'Asia/Shanghai',
    });
    const built = buildSecuredSql(model, query);
    expect(built.preAggregations.length).toBe(1);
    const stale = await planPreAggregations(built.sql, built.preAggregations, async () => [
      { partition_table: 'x', range_start: null, range_end: null, structure_hash: 'other' },
    ]);
    expect(stale.sql).toBeUndefined();
    expect(stale.skipped).toMatch(/built from a different model version/);
    const resolved = await resolveSql(model, query, {}, async () => []);
    expect(resolved.sql).toMatch(/FROM\s+marts\.fct_orders/);
    expect(resolved.preAggregationSkipped).toMatch(/is not built for time zone Asia\/Shanghai/);
    // A range that does not cover whole days cannot come from a daily rollup: the marts answer, exactly.
    const partial = {
      measures: ['executive_kpis.revenue'],
      timeDimensions: [
        { dimension: 'executive_kpis.ordered_at', granularity: 'month', dateRange: ['2025-01-01T10:30:00', '2025-03-15T12:00:00'] },
      ],
      timezone: 'UTC',
    };
    const partialAnswer = await load(partial);
    expect(partialAnswer.usedPreAggregations).toEqual({});
    expect(canonical(partialAnswer.data)).toEqual(canonical(await raw(partial)));
    // A zone nobody built rollups for is answered from the marts.
    const tokyo = await load({
      measures: ['executive_kpis.revenue'],
      timeDimensions: [{ dimension: 'executive_kpis.ordered_at', granularity: 'month' }],
      timezone: 'Asia/Tokyo',
    });
    expect(tokyo.usedPreAggregations).toEqual({});
  });
});

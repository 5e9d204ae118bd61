import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { convertDuckDBParams } from '@cubejs-backend/duckdb-driver/dist/src/Transform.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadRequestError } from '../../shared/errors.ts';
import { normalizeQuery } from '../../semantic/normalize-query.ts';
import { compileSemanticModel, forgetSemanticModel, loadSemanticModel, type SemanticModel } from '../../semantic/semantic-model.ts';
import { cubeModelDir } from '../../shared/paths.ts';
import { buildSecuredSql } from '../../semantic/secured-sql.ts';

/** The project's real Cube model, compiled by Cube's own compiler in-process. */
let model: SemanticModel;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-semantic-'));

beforeAll(async () => {
  model = await loadSemanticModel(cubeModelDir);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function writeModel(name: string, files: Record<string, string>): string {
  const dir = path.join(tmp, name);
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

describe('the Cube model in cube/model', () => {
  it('compiles the orders and customers cubes as private, reached through the sales_overview, customer_value and executive_kpis views', () => {
    // Every cube is private: /meta lists views only, and the cubes' members are indexed but not visible.
    expect(model.meta.cubes.map((c) => c.type)).toEqual(model.meta.cubes.map(() => 'view'));
    expect(model.cubeNames).toEqual(expect.arrayContaining(['sales_overview', 'customer_value', 'executive_kpis']));
    expect(model.cubeNames).not.toContain('orders');
    expect(model.cubeNames).not.toContain('customers');
    for (const member of [
      'orders.count',
      'orders.revenue',
      'orders.ordered_at',
      'orders.valid_sales',
      'customers.count',
      'customers.city',
    ]) {
      expect({ member, visible: model.members.get(member)?.config.isVisible }).toEqual({ member, visible: false });
    }
    const view = model.meta.cubes.find((c) => c.name === 'sales_overview')!;
    expect(view.type).toBe('view');
    expect(view.measures.map((m) => m.name)).toEqual(
      expect.arrayContaining([
        'sales_overview.count',
        'sales_overview.valid_order_count',
        'sales_overview.revenue',
        'sales_overview.buyer_count',
        'sales_overview.avg_order_value',
      ]),
    );
    expect(view.dimensions.map((d) => d.name)).toEqual(
      expect.arrayContaining([
        'sales_overview.order_id',
        'sales_overview.customer_id',
        'sales_overview.order_status',
        'sales_overview.is_valid_sale',
        'sales_overview.ordered_at',
        'sales_overview.customers_city',
      ]),
    );
    expect(view.dimensions.find((d) => d.name === 'sales_overview.ordered_at')!.type).toBe('time');
    expect(view.segments.map((s) => s.name)).toEqual(['sales_overview.valid_sales']);
    // Drilling into an order measure lists the view's own members.
    expect(view.measures.find((m) => m.name === 'sales_overview.revenue')!.drillMembers).toEqual([
      'sales_overview.order_id',
      'sales_overview.customer_id',
      'sales_overview.ordered_at',
      'sales_overview.order_status',
      'sales_overview.net_revenue',
    ]);
  });

  it("reaches every orders and customers member through a view, but the customer's name (customer_contacts.full_name serves it)", () => {
    const evaluator = model.compilers.cubeEvaluator as unknown as {
      cubeNames(): string[];
      cubeFromPath(name: string): {
        isView?: boolean;
        includedMembers?: { memberPath: string }[];
        measures?: object;
        dimensions?: object;
        segments?: object;
      };
    };
    const exposed = new Set(
      evaluator
        .cubeNames()
        .map((name) => evaluator.cubeFromPath(name))
        .filter((cube) => cube.isView)
        .flatMap((cube) => (cube.includedMembers ?? []).map((m) => m.memberPath)),
    );
    const unreachable = ['orders', 'customers'].flatMap((name) => {
      const cube = evaluator.cubeFromPath(name);
      return [cube.measures, cube.dimensions, cube.segments].flatMap((members) =>
        Object.keys(members ?? {})
          .map((member) => `${name}.${member}`)
          .filter((member) => !exposed.has(member)),
      );
    });
    expect(unreachable).toEqual(['customers.customer_name']);
  });

  it('gives every member a description and every measure a currency, percent or number format', () => {
    // Every cube and view as compiled, the private cubes too (/meta lists only what is visible).
    const compiled = (model.compilers.metaTransformer.cubes as unknown as { config: (typeof model.meta.cubes)[number] }[]).map(
      (c) => c.config,
    );
    expect(compiled.map((c) => c.name)).toEqual(expect.arrayContaining(['orders', 'customers', 'sales_overview']));
    for (const cube of compiled) {
      for (const member of [...cube.measures, ...cube.dimensions, ...cube.segments]) {
        expect({ member: member.name, described: typeof member.description === 'string' && member.description.length > 10 }).toEqual({
          member: member.name,
          described: true,
        });
      }
      for (const measure of cube.measures) expect(['currency', 'percent', 'number']).toContain(measure.format);
    }
    const revenue = model.members.get('sales_overview.revenue')!.config;
    expect(revenue).toMatchObject({
      format: 'currency',
      type: 'number',
      aggType: 'sum',
      title: 'Sales overview Revenue',
      shortTitle: 'Revenue',
      description: model.members.get('orders.revenue')!.config.description,
    });
  });

  it('compiles a query once per deciding claims and options, as Cube caches compiled SQL', () => {
    const query = normalizeQuery({
      measures: ['sales_overview.revenue'],
      timeDimensions: [{ dimension: 'sales_overview.ordered_at', granularity: 'month' }],
    });
    const first = buildSecuredSql(model, query, { securityContext: { sub: 'a', role: 'executive', iat: 1 } });
    // Same query and claims (a refreshed token: only iat differs): the compiled SQL is reused.
    expect(
      buildSecuredSql(
        model,
        normalizeQuery({
          measures: ['sales_overview.revenue'],
          timeDimensions: [{ dimension: 'sales_overview.ordered_at', granularity: 'month' }],
        }),
        { securityContext: { sub: 'a', role: 'executive', iat: 2 } },
      ),
    ).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    // Another caller, another role, the total query or the marts-only SQL are compiled on their own.
    expect(buildSecuredSql(model, query, { securityContext: { sub: 'b', role: 'executive' } })).not.toBe(first);
    expect(buildSecuredSql(model, query, { securityContext: { sub: 'a', role: 'analyst' } })).not.toBe(first);
    expect(buildSecuredSql(model, query, { securityContext: { sub: 'a', role: 'executive' }, totalQuery: true }).sql).toMatch(
      /count\(\*\)/i,
    );
    const marts = buildSecuredSql(model, query, { securityContext: { sub: 'a', role: 'executive' }, disablePreAggregations: true });
    expect(marts.preAggregations).toEqual([]);
    expect(marts.sql).not.toBe(first.sql);
  });

  it('exposes the dbt columns without re-deriving them: SQL comes from Cube with the DuckDB dialect', () => {
    const query = normalizeQuery({
      measures: ['sales_overview.revenue', 'sales_overview.buyer_count'],
      timeDimensions: [{ dimension: 'sales_overview.ordered_at', granularity: 'month', dateRange: ['2025-01-01', '2025-03-31'] }],
      filters: [{ member: 'sales_overview.customers_city', operator: 'equals', values: ['Shanghai'] }],
      timezone: 'Asia/Shanghai',
    });
    const { sql, params, aliasNameToMember } = buildSecuredSql(model, query);
    // The zone's wall time from its offset spans (semantic/duckdb-dialect.ts), ICU outside them.
    expect(sql).toContain(`DATE_TRUNC('month', (CASE WHEN CAST("orders".ordered_at AS TIMESTAMP) >= TIMESTAMP '2040-01-01 00:00:00'`);
    expect(sql).toContain(
      `WHEN CAST("orders".ordered_at AS TIMESTAMP) >= TIMESTAMP '1991-09-14 17:00:00' THEN CAST("orders".ordered_at AS TIMESTAMP) + to_seconds(28800)`,
    );
    expect(sql).toContain(`ELSE timezone('Asia/Shanghai', "orders".ordered_at::timestamptz) END)`);
    expect(sql).toContain('sum("orders".net_revenue_reporting)');
    expect(sql).toContain('count(distinct CASE WHEN ("orders".is_valid_sale) THEN "orders".customer_id END)');
    expect(sql).toContain('LEFT JOIN marts.customer_value AS "customers" ON "orders".customer_key = "customers".customer_key');
    // The date range is local to Shanghai: its UTC bounds start eight hours earlier.
    expect(params).toEqual(['2024-12-31T16:00:00.000Z', '2025-03-31T15:59:59.999Z', 'Shanghai']);
    expect(Object.values(aliasNameToMember).sort()).toEqual([
      'sales_overview.buyer_count',
      'sales_overview.ordered_at.month',
      'sales_overview.revenue',
    ]);
  });

  it('compares a time column with TIMESTAMP bounds: DuckDB filters in the scan, with the rows of a TIMESTAMPTZ comparison', async () => {
    const query = normalizeQuery({
      measures: ['executive_kpis.count'],
      timeDimensions: [{ dimension: 'executive_kpis.ordered_at', dateRange: ['2025-03-01', '2025-03-31'] }],
      timezone: 'Asia/Shanghai',
    });
    const { sql, params } = buildSecuredSql(model, query, { disablePreAggregations: true });
    expect(sql).toContain(
      '"orders".ordered_at >= CAST(CAST(? AS TIMESTAMPTZ) AS TIMESTAMP) AND "orders".ordered_at <= CAST(CAST(? AS TIMESTAMPTZ) AS TIMESTAMP)',
    );
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      await connection.run("SET TimeZone = 'UTC'");
      await connection.run('CREATE SCHEMA marts');
      // Orders a minute apart around both UTC bounds of the Shanghai range (2025-02-28 16:00, 2025-03-31 15:59:59.999).
      await connection.run(`CREATE TABLE marts.fct_orders AS
        SELECT 'o' || i AS order_id, t AS ordered_at FROM (
          SELECT row_number() OVER () AS i, t FROM (
            SELECT unnest(generate_series(TIMESTAMP '2025-02-28 15:58:00', TIMESTAMP '2025-02-28 16:02:00', INTERVAL 1 MINUTE)) AS t
            UNION ALL SELECT unnest(generate_series(TIMESTAMP '2025-03-31 15:58:00', TIMESTAMP '2025-03-31 16:02:00', INTERVAL 1 MINUTE))
            UNION ALL SELECT TIMESTAMP '2025-03-31 15:59:59.999'))`);
      const values = convertDuckDBParams(params) as never;
      const count = async (text: string) => Number((await connection.runAndReadAll(text, values)).getRows()[0]![0]);
      // Cube's own DuckDB dialect wrote `?::timestamptz`: the same rows (bounds included) either way.
      const cubeDialect = sql.replaceAll('CAST(CAST(? AS TIMESTAMPTZ) AS TIMESTAMP)', '?::timestamptz');
      expect(await count(sql)).toBe(6);
      expect(await count(cubeDialect)).toBe(6);
      // The bound is a TIMESTAMP constant, so the filter is the scan's (zone maps prune row groups); the
      // TIMESTAMPTZ form casts the column on every row instead.
      const plan = async (text: string) =>
        (await connection.runAndReadAll(`EXPLAIN ${text}`, values))
          .getRows()
          .map((row) => String(row[1]))
          .join('\n');
      expect(await plan(sql)).toMatch(/Filters:[\s│]*ordered_at>=/);
      expect(await plan(cubeDialect)).not.toMatch(/Filters:[\s│]*ordered_at>=/);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });

  it("has one customers segment per named RFM segment of the seed, in customer_value, filtering on dbt's column only", () => {
    const seed = fs.readFileSync(path.join(cubeModelDir, '..', '..', 'seeds', 'rfm_segment_rules.csv'), 'utf8');
    const names = seed
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(',')[0]!);
    expect(names.length).toBeGreaterThan(5);
    const segments = model.meta.cubes.find((c) => c.name === 'customer_value')!.segments.map((s) => s.name);
    for (const name of names) {
      const segment = `customer_value.${name.toLowerCase().replace(/'/g, '').replace(/ /g, '_')}`;
      expect(segments).toContain(segment);
      const { sql } = buildSecuredSql(model, normalizeQuery({ measures: ['customer_value.count'], segments: [segment] }));
      expect(sql).toContain(`("customers".rfm_segment = '${name.replace(/'/g, "''")}')`);
    }
  });

  it('exposes retention rates as ratios of sums, answered from the cohort rollup', () => {
    const { sql } = buildSecuredSql(
      model,
      normalizeQuery({
        measures: ['cohort_retention.retention_rate'],
        dimensions: ['cohort_retention.months_since_first'],
        timeDimensions: [{ dimension: 'cohort_retention.cohort_month', granularity: 'month' }],
        timezone: 'UTC',
      }),
    );
    expect(sql).toContain('1.0 * sum("cohort_retention__active_customers") / NULLIF(sum("cohort_retention__cohort_base"), 0)');
    expect(sql).toContain('pre_aggregations.cohort_retention_cohort_heatmap');
    const raw = buildSecuredSql(model, normalizeQuery({ measures: ['customer_activity_monthly.repeat_purchase_rate'] }), {
      disablePreAggregations: true,
    });
    expect(raw.sql).not.toMatch(/avg\([^)]*repeat_purchase_rate/i);
  });

  it("exposes the CLV model's columns of customer_value as measures and dimensions, aggregated, never recomputed", () => {
    const formats = Object.fromEntries(
      [
        'total_predicted_value_90d',
        'total_predicted_value_365d',
        'avg_predicted_value_90d',
        'avg_predicted_value_365d',
        'total_predicted_orders_365d',
        'avg_probability_alive',
        'at_risk_count',
      ].map((name) => [name, model.members.get(`customer_value.${name}`)?.config.format]),
    );
    expect(formats).toEqual({
      total_predicted_value_90d: 'currency',
      total_predicted_value_365d: 'currency',
      avg_predicted_value_90d: 'currency',
      avg_predicted_value_365d: 'currency',
      total_predicted_orders_365d: 'number',
      avg_probability_alive: 'percent',
      at_risk_count: 'number',
    });
    const query = normalizeQuery({
      measures: ['customer_value.total_predicted_value_365d', 'customer_value.avg_probability_alive', 'customer_value.at_risk_count'],
      dimensions: ['customer_value.churn_risk_band'],
      timezone: 'UTC',
    });
    const { sql } = buildSecuredSql(model, query);
    expect(sql).toContain('sum("customers".predicted_value_365d)');
    expect(sql).toContain('avg("customers".probability_alive)');
    expect(sql).toContain(
      `count(CASE WHEN ("customers".order_count > 0) AND ("customers".churn_risk_band = 'high') THEN "customers".customer_key END)`,
    );
    expect(sql).toContain('"customers".churn_risk_band');
    const view = model.meta.cubes.find((c) => c.name === 'customer_value')!;
    expect(view.measures.map((m) => m.name)).toEqual(
      expect.arrayContaining([
        'customer_value.total_predicted_value_365d',
        'customer_value.avg_probability_alive',
        'customer_value.at_risk_count',
      ]),
    );
    expect(view.dimensions.map((d) => d.name)).toEqual(
      expect.arrayContaining([
        'customer_value.churn_risk_band',
        'customer_value.probability_alive',
        'customer_value.predicted_value_365d',
        'customer_value.expected_next_order_at',
      ]),
    );
  });

  it("turns Cube's own query errors into 400s naming the problem", () => {
    const query = normalizeQuery({
      measures: ['sales_overview.count'],
      timeDimensions: [{ dimension: 'sales_overview.ordered_at', granularity: 'fortnight' }],
    });
    expect(() => buildSecuredSql(model, query)).toThrow(BadRequestError);
    expect(() => buildSecuredSql(model, query)).toThrow(/Granularity "fortnight" does not exist/);
  });

  it('builds the count(*) query Cube uses for total: true', () => {
    const query = normalizeQuery({ dimensions: ['customer_value.city'], measures: ['customer_value.count'], limit: 1, total: true });
    const total = buildSecuredSql(model, query, { totalQuery: true });
    expect(total.sql).toMatch(/^select count\(\*\) "total_count" from/);
    expect(total.sql).not.toMatch(/LIMIT 1\b/);
  });

  it('compiles once per folder and shares the result', async () => {
    expect(await loadSemanticModel(cubeModelDir)).toBe(model);
    expect(await loadSemanticModel(`${cubeModelDir}/`)).toBe(model);
  });
});

describe('the embedded compiler', () => {
  const minimalCube = `cubes:\n  - name: things\n    sql_table: main.things\n    measures:\n      - name: count\n        type: count\n`;

  it('refuses Jinja-templated YAML, which needs the native binding, with a message that says so', async () => {
    const dir = writeModel('jinja', { 'cubes/things.yml': `{% set n = 1 %}\n${minimalCube}` });
    await expect(compileSemanticModel(dir)).rejects.toThrow(/Jinja template in cubes\/things\.yml needs Cube's native binding/);
  });

  it('refuses a Python globals.py the same way', async () => {
    const dir = writeModel('python', { 'cubes/things.yml': minimalCube, 'globals.py': 'x = 1\n' });
    await expect(compileSemanticModel(dir)).rejects.toThrow(/Python \(globals\.py\) in globals\.py needs Cube's native binding/);
  });

  it("reports Cube's validation errors for a broken model, and does not cache the failure", async () => {
    const dir = writeModel('broken', { 'cubes/things.yml': minimalCube.replace('type: count', 'type: countt') });
    await expect(loadSemanticModel(dir)).rejects.toThrow(/things/);
    fs.writeFileSync(path.join(dir, 'cubes/things.yml'), minimalCube);
    const fixed = await loadSemanticModel(dir);
    expect(fixed.cubeNames).toEqual(['things']);
    forgetSemanticModel(dir);
    expect(await loadSemanticModel(dir)).not.toBe(fixed);
  });

  it('fails clearly when the model folder is missing or empty', async () => {
    await expect(compileSemanticModel(path.join(tmp, 'nowhere'))).rejects.toThrow(/Cube model folder not readable/);
    const empty = writeModel('empty', { 'README.md': 'no model here' });
    await expect(compileSemanticModel(empty)).rejects.toThrow(/has no model files/);
  });
});

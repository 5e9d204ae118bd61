import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeQuery } from '../../semantic/normalize-query.ts';
import { buildPreAggregations, partitionRanges } from '../../semantic/pre-aggregations.ts';
import type { MatchedPreAggregation } from '../../semantic/rollup-descriptions.ts';
import {
  manifestLookup,
  planPreAggregations,
  resolveSql,
  versionedManifestLookup,
  type ManifestRow,
} from '../../semantic/rollup-routing.ts';
import { compileSemanticModel, type SemanticModel } from '../../semantic/semantic-model.ts';
import { WarehouseReader } from '../../semantic/warehouse-reader.ts';
import { cubeModelDir } from '../../shared/paths.ts';
import { createFixtureWarehouse } from './api-fixture.ts';
import { buildSecuredSql } from '../../semantic/secured-sql.ts';

describe('partition ranges', () => {
  it('cover min to max in whole partitions, as Cube names them by their start', () => {
    expect(partitionRanges('2024-12-30T10:00:00', '2025-02-01T00:00:00', 'month')).toEqual([
      ['2024-12-01T00:00:00.000', '2024-12-31T23:59:59.999'],
      ['2025-01-01T00:00:00.000', '2025-01-31T23:59:59.999'],
      ['2025-02-01T00:00:00.000', '2025-02-28T23:59:59.999'],
    ]);
    expect(partitionRanges('2024-06-01 00:00:00', '2025-01-01 00:00:00', 'year').map((r) => r[0])).toEqual([
      '2024-01-01T00:00:00.000',
      '2025-01-01T00:00:00.000',
    ]);
    expect(partitionRanges('2025-01-01T00:00:00', '2025-01-08T00:00:00', 'week')[0]).toEqual([
      '2024-12-30T00:00:00.000',
      '2025-01-05T23:59:59.999',
    ]);
  });
});

describe('planning a query on built partitions', () => {
  const matched: MatchedPreAggregation = {
    preAggregationId: 'orders.sales_daily',
    tableName: 'pre_aggregations.orders_sales_daily',
    timezone: 'UTC',
    matchedTimeDimensionDateRange: ['2025-02-01T00:00:00.000', '2025-02-28T23:59:59.999'],
    structureHash: 'h1',
  };
  const rows: ManifestRow[] = [
    {
      partition_table: 'pre_aggregations."p_2024"',
      range_start: '2024-01-01T00:00:00.000',
      range_end: '2024-12-31T23:59:59.999',
      structure_hash: 'h1',
    },
    {
      partition_table: 'pre_aggregations."p_2025"',
      range_start: '2025-01-01T00:00:00.000',
      range_end: '2025-12-31T23:59:59.999',
      structure_hash: 'h1',
    },
  ];
  const sql = 'SELECT sum(x) FROM pre_aggregations.orders_sales_daily AS "orders__sales_daily"';

  it('reads only the partitions that overlap the date range', async () => {
    const plan = await planPreAggregations(sql, [matched], async () => rows);
    expect(plan.sql).toBe('SELECT sum(x) FROM pre_aggregations."p_2025" AS "orders__sales_daily"');
    expect(plan.usedPreAggregations['pre_aggregations.orders_sales_daily']!.partitions).toEqual(['pre_aggregations."p_2025"']);
  });

  it('unions the partitions of a longer range, and reads all without a range', async () => {
    const plan = await planPreAggregations(sql, [{ ...matched, matchedTimeDimensionDateRange: undefined }], async () => rows);
    expect(plan.sql).toBe(
      'SELECT sum(x) FROM (SELECT * FROM pre_aggregations."p_2024" UNION ALL SELECT * FROM pre_aggregations."p_2025") AS "orders__sales_daily"',
    );
  });

  it('remembers the manifest per data version, and asks again for a new version or an empty answer', async () => {
    let version: string | undefined = 'v1';
    let calls = 0;
    let answer: ManifestRow[] = rows;
    const lookup = versionedManifestLookup(
      async () => {
        calls += 1;
        return answer;
      },
      () => version,
    );
    expect(await lookup('orders.sales_daily', 'UTC')).toEqual(rows);
    expect(await lookup('orders.sales_daily', 'UTC')).toEqual(rows);
    expect(calls).toBe(1);
    await lookup('orders.sales_daily', 'Asia/Shanghai');
    expect(calls).toBe(2);
    version = 'v2'; // a new version was published: its manifest is read afresh
    await lookup('orders.sales_daily', 'UTC');
    expect(calls).toBe(3);
    answer = [];
    await lookup('orders.buyers_monthly', 'UTC');
    await lookup('orders.buyers_monthly', 'UTC');
    expect(calls).toBe(5);
    version = undefined; // no published file: nothing is remembered
    answer = rows;
    await lookup('orders.sales_daily', 'UTC');
    await lookup('orders.sales_daily', 'UTC');
    expect(calls).toBe(7);
  });

  it('gives no plan for missing or stale tables, saying why', async () => {
    expect(await planPreAggregations(sql, [matched], async () => [])).toEqual({
      usedPreAggregations: {},
      skipped: 'orders.sales_daily is not built for time zone UTC',
    });
    const stale = await planPreAggregations(sql, [matched], async () => rows.map((r) => ({ ...r, structure_hash: 'old' })));
    expect(stale.sql).toBeUndefined();
    expect(stale.skipped).toMatch(/different model version/);
  });
});

describe('building and using rollups on the fixture warehouse', () => {
  let dir: string;
  let warehousePath: string;
  let model: SemanticModel;
  let modelDir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pre-aggregations-'));
    warehousePath = await createFixtureWarehouse(path.join(dir, 'crm.duckdb'));
    // The project's orders and customers cubes, the two marts the fixture warehouse holds, and the
    // sales_overview view over them (the cubes are private: queries name the view's members).
    modelDir = path.join(dir, 'model');
    fs.mkdirSync(modelDir);
    for (const cube of ['orders', 'customers'])
      fs.copyFileSync(path.join(cubeModelDir, 'cubes', `${cube}.yml`), path.join(modelDir, `${cube}.yml`));
    fs.copyFileSync(path.join(cubeModelDir, 'views', 'sales_overview.yml'), path.join(modelDir, 'sales_overview.yml'));
    model = await compileSemanticModel(modelDir);
  });

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('builds each rollup per zone and partition, records it, and answers from it like the marts', async () => {
    const { tables } = await buildPreAggregations({ warehousePath, cubeModelDir: modelDir, timezones: ['Asia/Shanghai'] });
    expect(tables.map((t) => t.preAggregationId).sort()).toEqual([
      'customers.predicted_value_bands',
      'customers.segment_distribution',
      'orders.buyers_monthly',
      'orders.buyers_weekly',
      'orders.buyers_weekly_by_brand',
      'orders.sales_daily',
    ]);
    // One row per predicted-value band and churn risk band: three customers with a prediction, one without.
    expect(tables.find((t) => t.preAggregationId === 'customers.predicted_value_bands')).toMatchObject({ rows: 4 });
    // Fixture orders span 2025 in Shanghai time: one yearly partition.
    expect(tables.find((t) => t.preAggregationId === 'orders.sales_daily')).toMatchObject({ partitions: 1, rows: 8 });
    {
      // Sums land as 64-bit columns (DuckDB types them 128-bit; those read back far slower).
      const instance = await DuckDBInstance.create(warehousePath, { access_mode: 'READ_ONLY' });
      const connection = await instance.connect();
      const types = (
        await connection.runAndReadAll(
          `SELECT DISTINCT data_type FROM duckdb_columns() WHERE schema_name = 'pre_aggregations' AND table_name <> '_manifest'`,
        )
      )
        .getRows()
        .map((r) => String(r[0]));
      connection.closeSync();
      instance.closeSync();
      expect(types).toContain('DECIMAL(18,2)');
      expect(types.filter((t) => t === 'HUGEINT' || /^DECIMAL\((19|[2-3]\d),/.test(t))).toEqual([]);
    }
    const reader = new WarehouseReader(warehousePath, { idleCloseMs: 0 });
    try {
      const query = normalizeQuery({
        measures: ['sales_overview.revenue', 'sales_overview.count'],
        timeDimensions: [{ dimension: 'sales_overview.ordered_at', granularity: 'month' }],
        timezone: 'Asia/Shanghai',
      });
      const lookup = manifestLookup((sql, params) => reader.query(sql, params));
      const fromRollup = await resolveSql(model, query, {}, lookup);
      expect(Object.values(fromRollup.usedPreAggregations).map((u) => u.preAggregationId)).toEqual(['orders.sales_daily']);
      const fromMarts = buildSecuredSql(model, query, { disablePreAggregations: true });
      const rows = async (built: { sql: string; params: unknown[] }) => JSON.stringify(await reader.query(built.sql, built.params));
      expect(await rows(fromRollup)).toBe(await rows(fromMarts));
      // Months in Shanghai time: 2025-01 90+30, 2025-02 50+120, 2025-03 25.25+0+60 (see api-fixture.ts).
      expect((await reader.query(fromRollup.sql, fromRollup.params)).map((r) => r.sales_overview__revenue)).toEqual([
        '120',
        '170',
        '85.25',
      ]);
      // UTC was not built: that query reads the marts.
      const utc = await resolveSql(model, { ...query, timezone: 'UTC' }, {}, lookup);
      expect(utc.usedPreAggregations).toEqual({});
      expect(utc.sql).toMatch(/marts\.fct_orders/);
    } finally {
      await reader.close();
    }
    // Rebuilding replaces the tables (no duplicates).
    await buildPreAggregations({ warehousePath, cubeModelDir: modelDir, timezones: ['Asia/Shanghai'] });
    const instance = await DuckDBInstance.create(warehousePath);
    const connection = await instance.connect();
    const manifest = (await connection.runAndReadAll('SELECT count(*) FROM pre_aggregations._manifest')).getRows()[0]![0];
    connection.closeSync();
    instance.closeSync();
    // One entry per rollup (one partition each here), as after the first build.
    expect(Number(manifest)).toBe(tables.length);
  });
});

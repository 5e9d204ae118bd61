import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import cube, { type CubeApi } from '@cubejs-client/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../api/auth.ts';
import { startApiServer, type RunningApiServer } from '../../api/server.ts';
import { createFixtureWarehouse } from '../unit/api-fixture.ts';

/**
 * Cube's own JavaScript client (@cubejs-client/core, the version of the Cube packages) against the
 * real API on 127.0.0.1: if the REST contract drifts from Cube's, this is where it shows.
 * The warehouse is the small hand-checked fixture (tests/unit/api-fixture.ts), built once.
 */

const SECRET = 'e2e-cube-client-secret-0123456789';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-cube-client-'));
let api: RunningApiServer;
let client: CubeApi;
let token: string;

beforeAll(async () => {
  const warehousePath = await createFixtureWarehouse(path.join(tmp, 'crm.duckdb'));
  api = await startApiServer({ warehousePath, jwtSecret: SECRET, port: 0, host: '127.0.0.1' });
  token = await signDevToken(SECRET, { sub: 'analyst@example.com', role: 'analyst' });
  client = cube(token, { apiUrl: `${api.url}/cubejs-api/v1` });
});

afterAll(async () => {
  await api?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const MONTHLY = {
  measures: ['sales_overview.count', 'sales_overview.revenue'],
  timeDimensions: [
    { dimension: 'sales_overview.ordered_at', granularity: 'month' as const, dateRange: ['2025-01-01', '2025-03-31'] as [string, string] },
  ],
  timezone: 'UTC',
};

describe('@cubejs-client/core against the embedded API', () => {
  it('loads a time series, and the ResultSet helpers pivot it', async () => {
    const resultSet = await client.load(MONTHLY);
    const rows = resultSet.tablePivot();
    expect(
      rows.map((row) => [
        String(row['sales_overview.ordered_at.month']).slice(0, 7),
        Number(row['sales_overview.count']),
        Number(row['sales_overview.revenue']),
      ]),
    ).toEqual([
      ['2025-01', 3, 170],
      ['2025-02', 4, 145.25],
      ['2025-03', 1, 60],
    ]);
    const chart = resultSet.chartPivot();
    expect(chart.map((point) => point.x.slice(0, 7))).toEqual(['2025-01', '2025-02', '2025-03']);
    expect(chart.map((point) => Number(point['sales_overview.count']))).toEqual([3, 4, 1]);
    expect(resultSet.seriesNames().map((s) => s.key)).toEqual(['sales_overview.count', 'sales_overview.revenue']);
    expect(resultSet.annotation().measures['sales_overview.revenue']).toMatchObject({ type: 'number', format: 'currency' });
  });

  it('computes totalRow and reads `total` from a total query', async () => {
    const resultSet = await client.load({
      measures: ['sales_overview.count'],
      dimensions: ['sales_overview.order_status'],
      total: true,
      order: { 'sales_overview.order_status': 'asc' },
      limit: 2,
    });
    expect(resultSet.rawData()).toHaveLength(2);
    expect(resultSet.totalRows()).toBe(5); // completed, paid, shipped, cancelled, refunded
    const byStatus = await client.load({ measures: ['sales_overview.count'], dimensions: ['sales_overview.order_status'] });
    expect(resultSet.totalRows()).toBe(byStatus.rawData().length);
    const all = await client.load({ measures: ['sales_overview.count', 'sales_overview.revenue'] });
    expect(all.totalRow()).toMatchObject({ 'sales_overview.count': 8, 'sales_overview.revenue': 375.25 });
  });

  it('compares two date ranges: both periods come back, pivoted side by side', async () => {
    const resultSet = await client.load({
      measures: ['sales_overview.count'],
      timeDimensions: [
        {
          dimension: 'sales_overview.ordered_at',
          granularity: 'day',
          compareDateRange: [
            ['2025-01-04', '2025-01-31'],
            ['2025-02-01', '2025-02-28'],
          ],
        },
      ],
      timezone: 'UTC',
    });
    expect(resultSet.pivotQuery()?.queryType).toBe('compareDateRangeQuery');
    const periods = resultSet.decompose();
    expect(periods).toHaveLength(2);
    const totals = periods.map((period) => period.rawData().reduce((sum, row) => sum + Number(row['sales_overview.count']), 0));
    expect(totals).toEqual([3, 4]);
    // chartPivot puts the two periods side by side, one series per period, day by day.
    const series = resultSet.seriesNames().map((s) => s.key);
    expect(series).toEqual([
      '2025-01-04T00:00:00.000 - 2025-01-31T23:59:59.999,sales_overview.count',
      '2025-02-01T00:00:00.000 - 2025-02-28T23:59:59.999,sales_overview.count',
    ]);
    const chart = resultSet.chartPivot();
    // The client lines the periods up day by day (28 days each here), so both sums are whole periods.
    expect(chart.length).toBe(28);
    expect(chart.reduce((sum, point) => sum + Number(point[series[0]!] ?? 0), 0)).toBe(3);
    expect(chart.reduce((sum, point) => sum + Number(point[series[1]!] ?? 0), 0)).toBe(4);
  });

  it('reads the model with meta()', async () => {
    const meta = await client.meta();
    const members = meta.membersForQuery(null, 'measures').map((m) => m.name);
    expect(members).toEqual(expect.arrayContaining(['sales_overview.count', 'sales_overview.revenue']));
    expect(meta.resolveMember('sales_overview.revenue', 'measures')).toMatchObject({ title: 'Sales overview Revenue' });
    // The cubes behind the views are private: not offered to the client.
    expect(members.filter((name) => name.startsWith('orders.') || name.startsWith('customers.'))).toEqual([]);
  });

  it("returns Cube's SQL with sql()", async () => {
    const sqlQuery = await client.sql(MONTHLY);
    const single = Array.isArray(sqlQuery) ? sqlQuery[0]! : sqlQuery;
    expect(single.sql()).toMatch(/FROM\s+marts\.fct_orders|pre_aggregations/i);
    expect(single.rawQuery().sql[1]).toEqual(expect.arrayContaining([expect.stringMatching(/^2025-01-01/)]));
    // A compareDateRange query has one SQL per range, as Cube answers.
    const compared = await client.sql({
      measures: ['sales_overview.count'],
      timeDimensions: [{ dimension: 'sales_overview.ordered_at', compareDateRange: ['2025-01-01', '2025-02-01'] as never }],
    });
    expect(Array.isArray(compared) ? compared.length : 1).toBe(2);
  });

  it('normalises without running with dryRun()', async () => {
    const dry = await client.dryRun({ ...MONTHLY, dimensions: ['sales_overview.order_status'] });
    expect(dry.queryType).toBe('regularQuery');
    expect(dry.normalizedQueries[0]).toMatchObject({ measures: ['sales_overview.count', 'sales_overview.revenue'], timezone: 'UTC' });
    expect(dry.queryOrder).toEqual([{ 'sales_overview.ordered_at': 'asc' }]);
    expect(dry.pivotQuery).toMatchObject({ queryType: 'regularQuery', dimensions: ['sales_overview.order_status'] });
  });

  it('surfaces API errors as the client expects: unknown or private member (400) and a bad token (403)', async () => {
    await expect(client.load({ measures: ['sales_overview.nope'] })).rejects.toThrow(/sales_overview\.nope/);
    await expect(client.load({ measures: ['orders.count'] })).rejects.toThrow(/hidden member: 'orders\.count'/);
    const stranger = cube('not-a-jwt', { apiUrl: `${api.url}/cubejs-api/v1` });
    await expect(stranger.load({ measures: ['sales_overview.count'] })).rejects.toMatchObject({ response: { error: expect.any(String) } });
  });
});

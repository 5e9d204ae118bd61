import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zoneWallTimeSql } from '../../semantic/duckdb-dialect.ts';
import { offsetSpans, SPAN_END, SPAN_START } from '../../semantic/zone-offsets.ts';
import { loadSemanticModel } from '../../semantic/semantic-model.ts';
import { normalizeQuery } from '../../semantic/normalize-query.ts';
import { buildSecuredSql } from '../../semantic/secured-sql.ts';
import { cubeModelDir } from '../../shared/paths.ts';

/**
 * The dialect's zone conversion (offset spans from Node's ICU data, semantic/zone-offsets.ts) against
 * DuckDB's own ICU conversion, the expression Cube writes, in a UTC session: equal on every instant
 * probed, across the spans' transitions and outside the spans (where the SQL falls back to ICU).
 */
const ZONES = [
  'Asia/Shanghai',
  'UTC',
  'Europe/Berlin',
  'America/New_York',
  'America/Sao_Paulo',
  'Australia/Lord_Howe',
  'Asia/Kolkata',
  'Pacific/Apia',
];

let instance: DuckDBInstance;
let connection: DuckDBConnection;
beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  connection = await instance.connect();
  await connection.run(`SET TimeZone = 'UTC'`);
});
afterAll(() => {
  connection.closeSync();
  instance.closeSync();
});

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 23).replace('T', ' ');

describe('zone wall time from offset spans', () => {
  it.each(ZONES)('%s: equal to timezone(zone, t::timestamptz) on a grid over 1965-2045 and at each transition ±1 s', async (zone) => {
    const edges = offsetSpans(zone).flatMap((s) => [s.from - 1000, s.from - 1, s.from, s.from + 1000]);
    const values = edges.map((ms) => `(TIMESTAMP '${iso(ms)}')`).join(', ');
    const rows = await connection.runAndReadAll(`
      WITH t AS (
        SELECT unnest(generate_series(TIMESTAMP '1965-01-01 00:00:00', TIMESTAMP '2045-12-31 00:00:00', INTERVAL '7 hours 13 minutes 17 seconds 250 milliseconds')) AS ts
        UNION ALL SELECT * FROM (VALUES ${values}) v(ts)
        UNION ALL SELECT NULL
      )
      SELECT count(*) AS n,
             count(*) FILTER (WHERE ${zoneWallTimeSql(zone, 'ts')} IS DISTINCT FROM timezone('${zone}', ts::timestamptz)) AS differ,
             min(ts) FILTER (WHERE ${zoneWallTimeSql(zone, 'ts')} IS DISTINCT FROM timezone('${zone}', ts::timestamptz)) AS first_differ
      FROM t`);
    const [n, differ, first] = rows.getRows()[0]!;
    expect(Number(n)).toBeGreaterThan(90_000);
    expect({ differ: Number(differ), first: first === null ? null : String(first) }).toEqual({ differ: 0, first: null });
  });

  it('a DATE converts as Cube converts it (midnight UTC of that day)', async () => {
    const rows = await connection.runAndReadAll(`
      SELECT count(*) FILTER (WHERE ${zoneWallTimeSql('America/New_York', 'd')} IS DISTINCT FROM timezone('America/New_York', d::timestamptz))
      FROM (SELECT unnest(generate_series(DATE '2019-01-01', DATE '2026-12-31', INTERVAL 1 DAY))::DATE AS d)`);
    expect(Number(rows.getRows()[0]![0])).toBe(0);
  });

  it('spans cover 1970 to 2040: one for a zone of one offset, the DST changes of another', () => {
    expect(offsetSpans('Asia/Kolkata')).toEqual([{ from: SPAN_START, offsetSeconds: 19_800 }]);
    const berlin = offsetSpans('Europe/Berlin');
    expect(berlin.at(-1)!.from).toBeLessThan(SPAN_END);
    expect(berlin.find((s) => s.from === Date.UTC(2025, 2, 30, 1))?.offsetSeconds).toBe(7200);
    expect(berlin.find((s) => s.from === Date.UTC(2025, 9, 26, 1))?.offsetSeconds).toBe(3600);
    expect(() => offsetSpans('Not/AZone')).toThrow();
  });

  it("Cube's SQL for a trend by week in Asia/Shanghai groups on the spans, not on an ICU call per row", async () => {
    const model = await loadSemanticModel(cubeModelDir);
    const query = normalizeQuery({
      measures: ['executive_kpis.revenue'],
      timeDimensions: [{ dimension: 'executive_kpis.ordered_at', granularity: 'week', dateRange: ['2025-01-01', '2025-03-31'] }],
      timezone: 'Asia/Shanghai',
    });
    const { sql } = buildSecuredSql(model, query, { securityContext: { role: 'executive' }, disablePreAggregations: true });
    expect(sql).toContain(`+ to_seconds(28800)`);
    expect(sql).toContain(`DATE_TRUNC('week', (CASE WHEN`);
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../api/auth.ts';
import { startApiServer, type RunningApiServer } from '../../api/server.ts';
import { FILTER_OPERATORS } from '../../semantic/query-types.ts';
import { loadSemanticModel } from '../../semantic/semantic-model.ts';
import { WarehouseReader } from '../../semantic/warehouse-reader.ts';
import { createFixtureWarehouse } from './api-fixture.ts';
import { hostileText, rowCounts } from '../support/hostile-input.ts';

/**
 * Property-based fuzzing of the semantic routes (GET and POST /cubejs-api/v1/load, /sql, /dry-run)
 * over real HTTP: fast-check builds hostile queries from the members the fixture warehouse can
 * serve, every operator (and some that are not), hostile values, nested groups, odd date ranges,
 * limits and zones, and sometimes raw hostile JSON. Whatever comes in: never a 5xx, never DuckDB's
 * or Cube's internal text, every answer within the time limit, /health still answers, and the
 * warehouse's row counts are unchanged. A failure prints fast-check's seed and the shrunk query.
 */
const SECRET = 'semantic-fuzz-secret-0123456789abcdef';
const ANSWER_WITHIN_MS = 5_000;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-semantic-fuzz-'));
let api: RunningApiServer;
let reader: WarehouseReader;
let token: string;
/** Members of the views over the orders and customers cubes that the fixture's tables can answer, by kind. */
let measures: string[];
let dimensions: string[];
let timeDimensions: string[];

beforeAll(async () => {
  const warehousePath = await createFixtureWarehouse(path.join(tmp, 'warehouse.duckdb'));
  api = await startApiServer({ warehousePath, jwtSecret: SECRET, port: 0, dashboardDir: false });
  reader = new WarehouseReader(warehousePath, { idleCloseMs: 0 });
  token = await signDevToken(SECRET, { sub: 'analyst@example.com', roles: ['analyst'] });
  // The fixture holds only some columns of the marts: keep the members a plain query answers.
  const model = await loadSemanticModel(path.join(import.meta.dirname, '../../cube/model'));
  const servable = async (kind: 'measures' | 'dimensions', name: string) =>
    (
      await fetch(`${api.url}/cubejs-api/v1/load`, {
        method: 'POST',
        headers: { authorization: token, 'content-type': 'application/json' },
        body: JSON.stringify({ query: { [kind]: [name], limit: 1 } }),
      })
    ).status === 200;
  measures = [];
  dimensions = [];
  timeDimensions = [];
  for (const cube of model.meta.cubes.filter((c) => c.name === 'sales_overview' || c.name === 'customer_value')) {
    for (const m of cube.measures) if (await servable('measures', m.name)) measures.push(m.name);
    for (const d of cube.dimensions) {
      if (!(await servable('dimensions', d.name))) continue;
      dimensions.push(d.name);
      if (d.type === 'time') timeDimensions.push(d.name);
    }
  }
});

afterAll(async () => {
  await api?.close();
  await reader?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const hostileValue = fc.oneof(
  hostileText(['true', 'FALSE', 'maybe', 'paid', 'c1', 'a'.repeat(1_001)], 30),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant({ nested: true }),
);

const dateRange = fc.oneof(
  fc.constantFrom(
    'today',
    'yesterday',
    'this month',
    'last 7 days',
    'next 1000000 years',
    'last 100000 years',
    'next 7999 years',
    'from 2025-01-01 to today',
    'from 2025-02-30 to today',
    'last 0 days',
    'last -1 days',
    'next 1e9 days',
    'since forever',
    '2025-01-01',
  ),
  fc.tuple(hostileValue, hostileValue),
  fc.array(fc.string({ maxLength: 12 }), { maxLength: 3 }),
);

describe('semantic API under fuzzed queries', () => {
  it('never answers 5xx nor hangs, keeps /health up and the warehouse unchanged', async () => {
    expect(measures.length).toBeGreaterThan(3);
    expect(dimensions.length).toBeGreaterThan(5);
    expect(timeDimensions.length).toBeGreaterThan(0);
    const member = fc.oneof(
      fc.constantFrom(...measures, ...dimensions),
      fc.constantFrom(
        'sales_overview.nope',
        'nope.count',
        'sales_overview',
        'sales_overview.ordered_at.month',
        'customer_value.city.day',
        // The private cubes behind the views: always a 400.
        'orders.count',
        'customers.city',
        'orders.ordered_at',
      ),
      fc.string({ maxLength: 20 }),
    );
    const leaf = fc.record(
      {
        member,
        operator: fc.oneof(fc.constantFrom(...FILTER_OPERATORS, 'measureFilter', 'like', '__proto__'), fc.string({ maxLength: 8 })),
        values: fc.option(fc.array(hostileValue, { maxLength: 4 }), { nil: undefined }),
      },
      { requiredKeys: ['member', 'operator'] },
    );
    const { filter } = fc.letrec((tie) => ({
      filter: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.record({ or: fc.array(tie('filter'), { maxLength: 3 }) }),
        fc.record({ and: fc.array(tie('filter'), { maxLength: 3 }) }),
      ),
    }));
    const query = fc.record(
      {
        measures: fc.array(member, { maxLength: 4 }),
        dimensions: fc.array(member, { maxLength: 3 }),
        filters: fc.array(filter, { maxLength: 3 }),
        timeDimensions: fc.array(
          fc.record(
            {
              dimension: fc.oneof(fc.constantFrom(...timeDimensions), member),
              granularity: fc.option(fc.constantFrom('day', 'week', 'month', 'quarter', 'year', 'fortnight', 'hour'), { nil: undefined }),
              dateRange: fc.option(dateRange, { nil: undefined }),
              compareDateRange: fc.option(fc.array(dateRange, { maxLength: 3 }), { freq: 8, nil: undefined }),
            },
            { requiredKeys: ['dimension'] },
          ),
          { maxLength: 2 },
        ),
        order: fc.option(fc.dictionary(member, fc.constantFrom('asc', 'desc', 'sideways'), { maxKeys: 2 }), { nil: undefined }),
        limit: fc.option(fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, 50_000, 50_001, '10')), { nil: undefined }),
        offset: fc.option(fc.oneof(fc.integer(), fc.constant(1e300)), { nil: undefined }),
        timezone: fc.option(fc.constantFrom('UTC', 'Asia/Shanghai', 'Mars/Olympus', '', '+08:00'), { nil: undefined }),
        total: fc.option(fc.boolean(), { nil: undefined }),
        ungrouped: fc.option(fc.boolean(), { nil: undefined }),
      },
      { requiredKeys: [] },
    );
    // Queries a client would send, with one hostile part at most, so answers are exercised too.
    const plausible = fc.record(
      {
        measures: fc.subarray(measures, { minLength: 1, maxLength: 3 }),
        dimensions: fc.subarray(
          dimensions.filter((d) => !timeDimensions.includes(d)),
          { maxLength: 2 },
        ),
        filters: fc.array(
          fc.record({
            member: fc.constantFrom(...dimensions),
            operator: fc.constantFrom('equals', 'notEquals', 'set', 'notSet', 'contains', 'gt'),
            values: fc.array(hostileValue, { minLength: 1, maxLength: 2 }),
          }),
          { maxLength: 2 },
        ),
        timeDimensions: fc.array(
          fc.record(
            { dimension: fc.constantFrom(...timeDimensions), granularity: fc.constantFrom('day', 'month', 'year'), dateRange: dateRange },
            { requiredKeys: ['dimension', 'granularity'] },
          ),
          { maxLength: 1 },
        ),
        limit: fc.option(fc.integer({ min: -1, max: 60_000 }), { nil: undefined }),
        timezone: fc.option(fc.constantFrom('UTC', 'Asia/Shanghai', 'Mars/Olympus'), { nil: undefined }),
      },
      { requiredKeys: ['measures'] },
    );
    // Raw text too: broken JSON, deep nesting, arrays, the empty query.
    const rawText = fc.oneof(
      { arbitrary: plausible.map((value) => JSON.stringify(value)), weight: 3 },
      { arbitrary: query.map((value) => JSON.stringify(value)), weight: 2 },
      {
        arbitrary: fc.constantFrom(
          '',
          'null',
          '[]',
          '[{"measures":["sales_overview.count"]}]',
          '{',
          '{"measures":',
          `{"measures":["sales_overview.count"],"x":${'['.repeat(5_000)}${']'.repeat(5_000)}}`,
          `{"measures":["sales_overview.count"],"filters":[${'{"or":['.repeat(40)}${']}'.repeat(40)}]}`,
          '{"__proto__":{"measures":["sales_overview.count"]}}',
          '"sales_overview.count"',
        ),
        weight: 1,
      },
    );
    const request = fc.record({
      route: fc.constantFrom('load', 'sql', 'dry-run'),
      method: fc.constantFrom('GET', 'POST'),
      text: rawText,
      multi: fc.boolean(),
    });

    const before = await rowCounts(reader);
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async ({ route, method, text, multi }) => {
        const started = Date.now();
        const init: RequestInit = {
          method,
          headers: { authorization: token, 'content-type': 'application/json' },
          signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
        };
        let target = `${api.url}/cubejs-api/v1/${route}`;
        if (method === 'GET') target += `?${new URLSearchParams({ query: text, ...(multi ? { queryType: 'multi' } : {}) })}`;
        else init.body = `{"query":${text || '""'}${multi ? ',"queryType":"multi"' : ''}}`;
        const response = await fetch(target, init);
        const body = await response.text();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        expect(response.status, `${method} ${route} ${text.slice(0, 400)}: ${body.slice(0, 300)}`).toBeLessThan(500);
        expect(Date.now() - started).toBeLessThan(ANSWER_WITHIN_MS);
        if (response.status >= 400) {
          expect(body).not.toMatch(
            /Binder Error|Catalog Error|Parser Error|Maximum call stack|Invalid time value|Path can't be undefined|at .*\.[jt]s:\d+/,
          );
        }
      }),
      { numRuns: 1_500, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31), verbose: 1 },
    );
    console.log(`semantic fuzz: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
    // Both answers and refusals were exercised.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(20);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(100);
    expect((await fetch(`${api.url}/health`)).status).toBe(200);
    expect(await rowCounts(reader)).toEqual(before);
  }, 240_000);
});

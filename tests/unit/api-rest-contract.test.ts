import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../api/auth.ts';
import { buildApiServer } from '../../api/server.ts';
import { QueryTimeoutError, WarehouseReader } from '../../semantic/warehouse-reader.ts';
import { createFixtureWarehouse } from './api-fixture.ts';

/**
 * The REST contract beyond a plain /load: GET ?query=, compareDateRange, /sql, /dry-run, the result
 * cache and its invalidation on publish, the query time limit and hostile input.
 */

const SECRET = 'unit-test-secret-rest-0123456789';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-api-rest-'));
let warehousePath: string;
let app: FastifyInstance;
let token: string;

beforeAll(async () => {
  warehousePath = await createFixtureWarehouse(path.join(tmp, 'crm.duckdb'));
  app = buildApiServer({ warehousePath, jwtSecret: SECRET, cacheEntries: 100, queryTimeoutMs: 10_000 });
  token = await signDevToken(SECRET, { sub: 'analyst@example.com', role: 'analyst' });
});

afterAll(async () => {
  await app?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

type Body = Record<string, any>;

async function call(options: InjectOptions) {
  const response = await app.inject({ ...options, headers: { authorization: `Bearer ${token}`, ...options.headers } });
  return { status: response.statusCode, body: response.json() as Body, headers: response.headers };
}
const post = (route: string, payload: unknown) =>
  call({ method: 'POST', url: `/cubejs-api/v1/${route}`, payload: payload as InjectOptions['payload'] });
const get = (route: string, query: unknown) =>
  call({ method: 'GET', url: `/cubejs-api/v1/${route}?query=${encodeURIComponent(JSON.stringify(query))}` });

const COUNT_BY_STATUS = {
  measures: ['sales_overview.count'],
  dimensions: ['sales_overview.order_status'],
  order: [['sales_overview.order_status', 'asc']],
};
const COMPARE = {
  measures: ['sales_overview.count'],
  timeDimensions: [
    {
      dimension: 'sales_overview.ordered_at',
      compareDateRange: [
        ['2025-01-01', '2025-01-31'],
        ['2025-02-01', '2025-02-28'],
      ],
    },
  ],
  timezone: 'UTC',
};

describe('/load', () => {
  it('answers GET ?query= like POST, in Cube’s shape', async () => {
    const viaGet = await get('load', COUNT_BY_STATUS);
    const viaPost = await post('load', { query: COUNT_BY_STATUS });
    expect(viaGet.status).toBe(200);
    expect(viaGet.body.data).toEqual(viaPost.body.data);
    expect(viaGet.body).toMatchObject({ dataSource: 'default', dbType: 'duckdb', external: false, slowQuery: false, total: null });
    expect(viaGet.body.query.order).toEqual([{ id: 'sales_overview.order_status', desc: false }]);
  });

  it('nests and/or filters and pages with limit, offset and total', async () => {
    const { status, body } = await post('load', {
      query: {
        ...COUNT_BY_STATUS,
        filters: [
          {
            or: [
              { member: 'sales_overview.order_status', operator: 'equals', values: ['completed'] },
              {
                and: [
                  { member: 'sales_overview.order_status', operator: 'startsWith', values: ['p'] },
                  { member: 'sales_overview.item_count', operator: 'gte', values: [1] },
                ],
              },
            ],
          },
        ],
        limit: 1,
        offset: 1,
        total: true,
      },
    });
    expect(status, body.error).toBe(200);
    expect(body.total).toBe(2); // completed, paid
    expect(body.data).toEqual([{ 'sales_overview.order_status': 'paid', 'sales_overview.count': '1' }]);
  });

  it('compareDateRange: one result per period for a multi client, a 400 for a single-result client', async () => {
    const multi = await post('load', { query: COMPARE, queryType: 'multi' });
    expect(multi.status, multi.body.error).toBe(200);
    expect(multi.body.queryType).toBe('compareDateRangeQuery');
    expect(multi.body.results).toHaveLength(2);
    expect(multi.body.results.map((r: Body) => r.data[0]['sales_overview.count'])).toEqual(['3', '4']);
    expect(multi.body.results[1].data[0].compareDateRange).toBe('2025-02-01T00:00:00.000 - 2025-02-28T23:59:59.999');
    expect(multi.body.pivotQuery).toMatchObject({ queryType: 'compareDateRangeQuery', dimensions: ['compareDateRange'] });
    const single = await post('load', { query: COMPARE });
    expect(single.status).toBe(400);
    expect(single.body.error).toMatch(/'compareDateRangeQuery' query type is not supported by the client/);
  });

  it('caches per query and security context, and drops the cache when a new warehouse is published', async () => {
    const query = { measures: ['sales_overview.count'], dimensions: ['sales_overview.currency'] };
    const first = await post('load', { query });
    expect(first.headers['x-crm-cache']).toBe('miss');
    const second = await post('load', { query });
    expect(second.headers['x-crm-cache']).toBe('hit');
    expect(second.body.data).toEqual(first.body.data);
    expect(second.body.lastRefreshTime).toBe(first.body.lastRefreshTime);
    const renewed = await post('load', { query: { ...query, renewQuery: true } });
    expect(renewed.headers['x-crm-cache']).toBe('off');

    // Another caller (other claims) never shares the entry.
    const other = await signDevToken(SECRET, { sub: 'someone-else@example.com', role: 'analyst' });
    const otherCall = await call({
      method: 'POST',
      url: '/cubejs-api/v1/load',
      payload: { query },
      headers: { authorization: `Bearer ${other}` },
    });
    expect(otherCall.headers['x-crm-cache']).toBe('miss');

    // Publish a new version by rename, as a pipeline run does: the next answer is fresh.
    const next = await createFixtureWarehouse(path.join(tmp, 'next.duckdb'), {
      extraOrders: [['o9', 'c4', '2025-03-20 10:00:00', 'completed', true, 1, '10.00', '0.00', '10.00']],
    });
    fs.renameSync(next, warehousePath);
    const after = await post('load', { query });
    expect(after.headers['x-crm-cache']).toBe('miss');
    expect(after.body.data).toEqual([{ 'sales_overview.currency': 'CNY', 'sales_overview.count': '9' }]);
  });
});

describe('/sql and /dry-run', () => {
  it("/sql gives Cube's { sql: { sql: [sql, params] } }, one per range when comparing", async () => {
    const { status, body } = await get('sql', {
      ...COUNT_BY_STATUS,
      filters: [{ member: 'sales_overview.order_status', operator: 'equals', values: ['paid'] }],
    });
    expect(status, body.error).toBe(200);
    const [sql, params] = body.sql.sql;
    expect(sql).toMatch(/marts\.fct_orders/);
    expect(params).toEqual(['paid']);
    expect(body.sql).toMatchObject({
      order: [{ id: 'sales_overview.order_status', desc: false }],
      dataSource: 'default',
      external: false,
      preAggregations: [],
    });
    const compared = await post('sql', { query: COMPARE });
    expect(compared.body).toHaveLength(2);
  });

  it('/dry-run normalises, orders and pivots without running', async () => {
    const { status, body } = await post('dry-run', { query: COMPARE });
    expect(status, body.error).toBe(200);
    expect(body.queryType).toBe('compareDateRangeQuery');
    expect(body.normalizedQueries.map((q: Body) => q.timeDimensions[0].dateRange)).toEqual([
      ['2025-01-01T00:00:00.000', '2025-01-31T23:59:59.999'],
      ['2025-02-01T00:00:00.000', '2025-02-28T23:59:59.999'],
    ]);
    expect(body.queryOrder).toEqual([{}, {}]); // Cube's default order: none without dimensions or a granularity
    expect(body.pivotQuery.dimensions).toEqual(['compareDateRange']);
    // Relative ranges are resolved in the query's zone, as Cube's dateParser does.
    const relative = await get('dry-run', {
      measures: ['sales_overview.count'],
      timeDimensions: [{ dimension: 'sales_overview.ordered_at', granularity: 'day', dateRange: 'last 7 days' }],
      timezone: 'Asia/Shanghai',
    });
    const [start, end] = relative.body.normalizedQueries[0].timeDimensions[0].dateRange;
    expect(start).toMatch(/T00:00:00\.000$/);
    expect(end).toMatch(/T23:59:59\.999$/);
    expect((Date.parse(`${end}Z`) + 1 - Date.parse(`${start}Z`)) / 86_400_000).toBe(7);
    expect(relative.body.queryOrder).toEqual([{ 'sales_overview.ordered_at': 'asc' }]);
    const ordered = await post('dry-run', { query: { measures: ['sales_overview.count'], dimensions: ['sales_overview.order_status'] } });
    expect(ordered.body.queryOrder).toEqual([{ 'sales_overview.count': 'desc' }]);
  });
});

describe('hostile input: a clear 4xx, and the server keeps serving', () => {
  it.each([
    [
      'malformed JSON body',
      { method: 'POST', url: '/cubejs-api/v1/load', payload: '{"query": {', headers: { 'content-type': 'application/json' } },
      400,
      /JSON/i,
    ],
    ['malformed ?query=', { method: 'GET', url: '/cubejs-api/v1/load?query=%7Bnope' }, 400, /Unable to decode query param as JSON/],
    ['no query', { method: 'GET', url: '/cubejs-api/v1/load' }, 400, /Query param is required/],
    [
      'unknown member',
      { method: 'POST', url: '/cubejs-api/v1/load', payload: { query: { measures: ['sales_overview.nope'] } } },
      400,
      /sales_overview\.nope/,
    ],
    [
      "a private cube's member",
      { method: 'POST', url: '/cubejs-api/v1/load', payload: { query: { measures: ['orders.count'] } } },
      400,
      /^You requested hidden member: 'orders\.count'/,
    ],
    [
      "a private cube's member in /sql",
      { method: 'POST', url: '/cubejs-api/v1/sql', payload: { query: { measures: ['customers.count'] } } },
      400,
      /^You requested hidden member: 'customers\.count'/,
    ],
    [
      'unknown member in /sql',
      { method: 'POST', url: '/cubejs-api/v1/sql', payload: { query: { measures: ['nope.count'] } } },
      400,
      /nope/,
    ],
    [
      'SQL in a member name',
      { method: 'POST', url: '/cubejs-api/v1/load', payload: { query: { measures: ['sales_overview.count; DROP TABLE x'] } } },
      400,
      /member name/,
    ],
    [
      'deep filter nesting',
      {
        method: 'POST',
        url: '/cubejs-api/v1/load',
        payload: {
          query: {
            measures: ['sales_overview.count'],
            filters: [
              JSON.parse('{"or":['.repeat(200) + '{"member":"sales_overview.x","operator":"equals","values":["1"]}' + ']}'.repeat(200)),
            ],
          },
        },
      },
      400,
      /nested more than 32 levels deep/,
    ],
    [
      'filter groups nested 9 deep',
      {
        method: 'POST',
        url: '/cubejs-api/v1/load',
        payload: {
          query: {
            measures: ['sales_overview.count'],
            filters: [
              JSON.parse('{"or":['.repeat(9) + '{"member":"sales_overview.x","operator":"equals","values":["1"]}' + ']}'.repeat(9)),
            ],
          },
        },
      },
      400,
      /filter groups are nested more than 8 levels deep/,
    ],
    [
      'two compareDateRanges',
      {
        method: 'POST',
        url: '/cubejs-api/v1/load',
        payload: {
          query: {
            measures: ['sales_overview.count'],
            timeDimensions: [
              { dimension: 'sales_overview.ordered_at', compareDateRange: ['today'] },
              { dimension: 'sales_overview.ordered_at', compareDateRange: ['today'] },
            ],
          },
          queryType: 'multi',
        },
      },
      400,
      /only exist for one timeDimension/,
    ],
    [
      'a bad date range',
      {
        method: 'POST',
        url: '/cubejs-api/v1/load',
        payload: {
          query: {
            measures: ['sales_overview.count'],
            timeDimensions: [{ dimension: 'sales_overview.ordered_at', dateRange: 'the day after never' }],
          },
        },
      },
      400,
      /Can't parse date/,
    ],
    [
      'a huge limit',
      { method: 'POST', url: '/cubejs-api/v1/load', payload: { query: { measures: ['sales_overview.count'], limit: 1e9 } } },
      400,
      /limit/,
    ],
  ] as const)('%s', async (_name, request, status, message) => {
    const { status: got, body } = await call(request as InjectOptions);
    expect(got).toBe(status);
    expect(body.error).toMatch(message);
  });

  it('a bad token is a 403 on every route', async () => {
    for (const route of ['load', 'sql', 'dry-run', 'meta']) {
      const response = await app.inject({
        method: 'GET',
        url: `/cubejs-api/v1/${route}?query=%7B%7D`,
        headers: { authorization: 'Bearer nope' },
      });
      expect(response.statusCode, route).toBe(403);
      expect(response.json().error).toEqual(expect.any(String));
    }
    const alive = await post('load', { query: { measures: ['sales_overview.count'] } });
    expect(alive.status).toBe(200);
  });
});

describe('query time limit', () => {
  it('answers a query past the limit with a 504, and the server keeps serving', async () => {
    // A model of its own whose cube scans a huge generated range: slow on any machine.
    const modelDir = path.join(tmp, 'slow-model');
    fs.mkdirSync(modelDir, { recursive: true });
    fs.writeFileSync(
      path.join(modelDir, 'slow.yml'),
      [
        'cubes:',
        '  - name: slow',
        '    sql: SELECT range AS n FROM range(1000000000000)',
        '    measures:',
        '      - name: total',
        '        sql: n',
        '        type: sum',
        '',
      ].join('\n'),
    );
    const slowApp = buildApiServer({ warehousePath, jwtSecret: SECRET, cubeModelDir: modelDir, queryTimeoutMs: 300 });
    try {
      const started = Date.now();
      const response = await slowApp.inject({
        method: 'POST',
        url: '/cubejs-api/v1/load',
        headers: { authorization: `Bearer ${token}` },
        payload: { query: { measures: ['slow.total'] } },
      });
      expect(response.statusCode).toBe(504);
      expect(response.json().error).toMatch(/^Query timeout: the query ran longer than 300 ms/);
      expect(Date.now() - started).toBeLessThan(15_000);
      const health = await slowApp.inject({ method: 'GET', url: '/health' });
      expect(health.statusCode).toBe(200);
    } finally {
      await slowApp.close();
    }
  });

  it('interrupts a statement that runs too long, and the reader keeps working', async () => {
    const reader = new WarehouseReader(warehousePath, { idleCloseMs: 0 });
    try {
      const started = Date.now();
      const slow = reader.query('SELECT count(*) AS n FROM range(100000000000) a', [], { timeoutMs: 200 });
      await expect(slow).rejects.toBeInstanceOf(QueryTimeoutError);
      await expect(slow).rejects.toMatchObject({ statusCode: 504, message: expect.stringMatching(/Query timeout.*200 ms/) });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await reader.query('SELECT 42 AS answer')).toEqual([{ answer: '42' }]); // numbers come back as strings, as Cube's DuckDB driver gives them;
    } finally {
      await reader.close();
    }
  });
});

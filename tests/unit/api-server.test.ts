import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../api/auth.ts';
import { buildApiServer, startApiServer } from '../../api/server.ts';
import { createFixtureWarehouse } from './api-fixture.ts';

const SECRET = 'unit-test-secret-0123456789abcdef';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-api-'));
let warehousePath: string;
let app: FastifyInstance;
let token: string;

beforeAll(async () => {
  warehousePath = await createFixtureWarehouse(path.join(tmp, 'warehouse.duckdb'));
  app = buildApiServer({ warehousePath, jwtSecret: SECRET });
  token = await signDevToken(SECRET, { sub: 'analyst@example.com', role: 'analyst' });
});

afterAll(async () => {
  await app?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

type Body = Record<string, any>;

async function call(options: InjectOptions): Promise<{ status: number; body: Body }> {
  const response = await app.inject(options);
  return { status: response.statusCode, body: response.json() as Body };
}

const load = (query: unknown, headers: Record<string, string> = { authorization: `Bearer ${token}` }) =>
  call({ method: 'POST', url: '/cubejs-api/v1/load', headers, payload: { query } });

/** Rows keyed by month, with the measures asked for. */
function byMonth(data: Body[], ...measures: string[]) {
  return Object.fromEntries(data.map((row) => [String(row['sales_overview.ordered_at.month']).slice(0, 7), measures.map((m) => row[m])]));
}

describe('GET /health', () => {
  it('answers 200 with the warehouse and the compiled cubes', async () => {
    const { status, body } = await call({ method: 'GET', url: '/health' });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      status: 'ok',
      warehouse: warehousePath,
      cubes: expect.arrayContaining(['sales_overview', 'customer_value']),
    });
  });

  it('answers 503 naming the file when the warehouse is missing', async () => {
    const missing = path.join(tmp, 'missing.duckdb');
    const server = buildApiServer({ warehousePath: missing, jwtSecret: SECRET });
    try {
      const response = await server.inject({ method: 'GET', url: '/health' });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({
        status: 'unavailable',
        warehouse: missing,
        error: expect.stringContaining(`warehouse file not found: ${missing}`),
      });
    } finally {
      await server.close();
    }
  });

  it('answers 503 when the file is not a DuckDB database', async () => {
    const garbage = path.join(tmp, 'garbage.duckdb');
    fs.writeFileSync(garbage, 'this is not a database');
    const server = buildApiServer({ warehousePath: garbage, jwtSecret: SECRET });
    try {
      const response = await server.inject({ method: 'GET', url: '/health' });
      expect(response.statusCode).toBe(503);
      expect(response.json().error).toContain(`warehouse not readable: ${garbage}`);
    } finally {
      await server.close();
    }
  });
});

describe('GET /cubejs-api/v1/meta', () => {
  it("lists the views and their members in Cube's /meta shape, and no cube: every cube is private", async () => {
    const { status, body } = await call({ method: 'GET', url: '/cubejs-api/v1/meta', headers: { authorization: token } });
    expect(status).toBe(200);
    const orders = body.cubes.find((c: Body) => c.name === 'sales_overview');
    expect(orders).toMatchObject({ name: 'sales_overview', type: 'view', title: 'Sales overview', isVisible: true });
    const revenue = orders.measures.find((m: Body) => m.name === 'sales_overview.revenue');
    expect(revenue).toMatchObject({
      title: 'Sales overview Revenue',
      shortTitle: 'Revenue',
      type: 'number',
      aggType: 'sum',
      format: 'currency',
      isVisible: true,
    });
    expect(revenue.description).toMatch(/Net revenue/);
    expect(orders.dimensions.find((d: Body) => d.name === 'sales_overview.ordered_at')).toMatchObject({
      type: 'time',
      title: 'Sales overview Ordered at',
    });
    expect(orders.segments.map((s: Body) => s.name)).toEqual(['sales_overview.valid_sales']);
    const names = body.cubes.map((c: Body) => c.name);
    expect(names).toEqual(expect.arrayContaining(['customer_value', 'executive_kpis', 'sales_overview']));
    expect(names).not.toContain('orders');
    expect(names).not.toContain('customers');
    expect(body.cubes.map((c: Body) => c.type)).toEqual(body.cubes.map(() => 'view'));
  });

  it('lists only views with ?onlyViews=true', async () => {
    const { body } = await call({ method: 'GET', url: '/cubejs-api/v1/meta?onlyViews=true', headers: { authorization: token } });
    expect(body.cubes.map((c: Body) => c.name)).toContain('sales_overview');
    expect(body.cubes.map((c: Body) => c.type)).toEqual(body.cubes.map(() => 'view'));
  });
});

describe('POST /cubejs-api/v1/load', () => {
  const monthly = (timezone: string) => ({
    measures: ['sales_overview.revenue', 'sales_overview.buyer_count', 'sales_overview.count'],
    timeDimensions: [{ dimension: 'sales_overview.ordered_at', granularity: 'month' }],
    order: { 'sales_overview.ordered_at': 'asc' },
    timezone,
  });

  it('answers revenue and buyers by month in Asia/Shanghai, counting orders near month ends in the local month', async () => {
    const { status, body } = await load(monthly('Asia/Shanghai'));
    expect(status).toBe(200);
    // January: o1 90 + o3 30 (c1). February: o2 50 (c2, 01:00 on Feb 1 local), o4 cancelled, o5 120 (c3).
    // March: o7 25.25 (c1, midnight Mar 1 local), o6 refunded, o8 60 (c2). Decimals come back as Cube's driver renders them.
    expect(byMonth(body.data, 'sales_overview.revenue', 'sales_overview.buyer_count', 'sales_overview.count')).toEqual({
      '2025-01': ['120', '1', '2'],
      '2025-02': ['170', '2', '3'],
      '2025-03': ['85.25', '2', '3'],
    });
    expect(body.data[0]['sales_overview.ordered_at.month']).toBe('2025-01-01T00:00:00.000');
    // Cube also repeats the value under the bare dimension name for older clients.
    expect(body.data[0]['sales_overview.ordered_at']).toBe('2025-01-01T00:00:00.000');
  });

  it('answers different months in UTC: the time zone decides which month an order falls in', async () => {
    const { body } = await load(monthly('UTC'));
    expect(byMonth(body.data, 'sales_overview.revenue', 'sales_overview.buyer_count', 'sales_overview.count')).toEqual({
      '2025-01': ['170', '2', '3'],
      '2025-02': ['145.25', '2', '4'],
      '2025-03': ['60', '1', '1'],
    });
  });

  it("wraps the rows in Cube's response envelope with annotations", async () => {
    const { body } = await load(monthly('Asia/Shanghai'));
    expect(body).toMatchObject({ dataSource: 'default', dbType: 'duckdb', external: false, slowQuery: false, total: null });
    expect(Date.parse(body.lastRefreshTime)).not.toBeNaN();
    expect(body.query).toMatchObject({
      measures: ['sales_overview.revenue', 'sales_overview.buyer_count', 'sales_overview.count'],
      timeDimensions: [{ dimension: 'sales_overview.ordered_at', granularity: 'month' }],
      order: [{ id: 'sales_overview.ordered_at', desc: false }],
      timezone: 'Asia/Shanghai',
      limit: 10_000,
      rowLimit: 10_000,
      queryType: 'regularQuery',
    });
    expect(body.annotation.measures['sales_overview.revenue']).toMatchObject({
      title: 'Sales overview Revenue',
      shortTitle: 'Revenue',
      type: 'number',
      format: 'currency',
    });
    expect(body.annotation.timeDimensions['sales_overview.ordered_at.month']).toMatchObject({
      title: 'Sales overview Ordered at',
      type: 'time',
      granularity: { name: 'month', type: 'built-in', title: 'Month', interval: '1 month' },
    });
    expect(Object.keys(body.annotation)).toEqual(['measures', 'dimensions', 'segments', 'timeDimensions']);
  });

  it('answers in the multi-query shape @cubejs-client/core asks for with queryType "multi"', async () => {
    const { status, body } = await call({
      method: 'POST',
      url: '/cubejs-api/v1/load',
      headers: { authorization: token },
      payload: { query: monthly('Asia/Shanghai'), queryType: 'multi' },
    });
    expect(status).toBe(200);
    expect(body.queryType).toBe('regularQuery');
    expect(body.pivotQuery).toMatchObject({
      measures: ['sales_overview.revenue', 'sales_overview.buyer_count', 'sales_overview.count'],
      queryType: 'regularQuery',
    });
    expect(body.results).toHaveLength(1);
    expect(byMonth(body.results[0].data, 'sales_overview.revenue')['2025-02']).toEqual(['170']);
  });

  it('applies a date range in the query time zone', async () => {
    const { body } = await load({
      measures: ['sales_overview.revenue', 'sales_overview.count'],
      timeDimensions: [{ dimension: 'sales_overview.ordered_at', dateRange: ['2025-02-01', '2025-02-28'] }],
      timezone: 'Asia/Shanghai',
    });
    // Shanghai February: o2, o4, o5 (o7 and o6 already belong to March there).
    expect(body.data).toEqual([{ 'sales_overview.revenue': '170', 'sales_overview.count': '3' }]);
  });

  it('filters with and/or groups, on dimensions of a joined cube and on measures', async () => {
    const { body } = await load({
      measures: ['sales_overview.revenue', 'sales_overview.count'],
      dimensions: ['sales_overview.customers_city'],
      filters: [
        {
          or: [
            { member: 'sales_overview.order_status', operator: 'equals', values: ['completed'] },
            { member: 'sales_overview.order_status', operator: 'equals', values: ['paid'] },
          ],
        },
        { member: 'sales_overview.customers_city', operator: 'notEquals', values: ['Hangzhou'] },
        { member: 'sales_overview.revenue', operator: 'gt', values: ['100'] },
      ],
      order: { 'sales_overview.customers_city': 'asc' },
    });
    // completed or paid: o1 90, o5 120, o7 25.25 (Shanghai); o2 50, o8 60 (Beijing: 110). Revenue > 100 keeps both.
    expect(body.data).toEqual([
      { 'sales_overview.customers_city': 'Beijing', 'sales_overview.revenue': '110', 'sales_overview.count': '2' },
      { 'sales_overview.customers_city': 'Shanghai', 'sales_overview.revenue': '235.25', 'sales_overview.count': '3' },
    ]);
    const strict = await load({
      measures: ['sales_overview.count'],
      dimensions: ['sales_overview.order_status'],
      filters: [
        {
          and: [
            { member: 'sales_overview.is_valid_sale', operator: 'equals', values: [true] },
            { member: 'sales_overview.item_count', operator: 'gte', values: [2] },
          ],
        },
      ],
      order: [['sales_overview.order_status', 'asc']],
    });
    expect(strict.body.data).toEqual([{ 'sales_overview.order_status': 'completed', 'sales_overview.count': '3' }]);
  });

  it('orders, limits and offsets rows, and reports the total on request', async () => {
    const { body } = await load({
      dimensions: ['customer_value.customer_key'],
      measures: ['customer_value.total_revenue'],
      order: { 'customer_value.total_revenue': 'desc' },
      limit: 2,
      offset: 1,
      total: true,
    });
    // Revenue: c1 (Alice) 145.25, c3 (Carol) 120, c2 (Bob) 110, c4 (Dan) 0 -> skip c1, take c3 and c2.
    expect(body.data).toEqual([
      { 'customer_value.customer_key': 'c3', 'customer_value.total_revenue': '120' },
      { 'customer_value.customer_key': 'c2', 'customer_value.total_revenue': '110' },
    ]);
    expect(body.total).toBe(4);
  });

  it('uses segments and views', async () => {
    const segment = await load({ measures: ['sales_overview.count'], segments: ['sales_overview.valid_sales'] });
    expect(segment.body.data).toEqual([{ 'sales_overview.count': '6' }]);
    const view = await load({
      measures: ['sales_overview.revenue'],
      dimensions: ['sales_overview.customers_rfm_score'],
      order: { 'sales_overview.customers_rfm_score': 'asc' },
    });
    expect(view.body.data).toEqual([
      { 'sales_overview.customers_rfm_score': '314', 'sales_overview.revenue': '120' },
      { 'sales_overview.customers_rfm_score': '533', 'sales_overview.revenue': '110' },
      { 'sales_overview.customers_rfm_score': '555', 'sales_overview.revenue': '145.25' },
    ]);
  });

  it('returns raw time dimensions and nulls as Cube does', async () => {
    const { body } = await load({
      dimensions: ['customer_value.customer_key', 'customer_value.first_order_at', 'customer_value.rfm_score'],
      order: { 'customer_value.customer_key': 'asc' },
    });
    expect(body.data[0]).toEqual({
      'customer_value.customer_key': 'c1',
      'customer_value.first_order_at': '2025-01-10T08:00:00.000',
      'customer_value.rfm_score': '555',
    });
    expect(body.data[3]).toEqual({
      'customer_value.customer_key': 'c4',
      'customer_value.first_order_at': null,
      'customer_value.rfm_score': null,
    });
  });
});

describe('GET /cubejs-api/v1/load', () => {
  it('takes the query as JSON in the query string', async () => {
    const query = encodeURIComponent(JSON.stringify({ measures: ['customer_value.count'], segments: ['customer_value.buyers'] }));
    const { status, body } = await call({ method: 'GET', url: `/cubejs-api/v1/load?query=${query}`, headers: { authorization: token } });
    expect(status).toBe(200);
    expect(body.data).toEqual([{ 'customer_value.count': '3' }]);
  });

  it('answers 400 for a query string that is not JSON, or no query at all', async () => {
    const bad = await call({ method: 'GET', url: '/cubejs-api/v1/load?query=%7Bmeasures', headers: { authorization: token } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/^Unable to decode query param as JSON/);
    const none = await call({ method: 'GET', url: '/cubejs-api/v1/load', headers: { authorization: token } });
    expect(none).toEqual({ status: 400, body: { error: 'Query param is required' } });
  });
});

describe('errors', () => {
  it('answers 400 naming an unknown member, wherever it appears', async () => {
    const measure = await load({ measures: ['sales_overview.lifetime_value'] });
    expect(measure.status).toBe(400);
    expect(measure.body.error).toContain("Unknown member 'sales_overview.lifetime_value' in measures");
    const cube = await load({ measures: ['refunds.count'] });
    expect(cube.body.error).toBe("Unknown member 'refunds.count' in measures: there is no cube or view named 'refunds'");
    const filter = await load({
      measures: ['sales_overview.count'],
      filters: [{ member: 'sales_overview.colour', operator: 'equals', values: ['red'] }],
    });
    expect([filter.status, filter.body.error]).toEqual([400, expect.stringContaining("'sales_overview.colour' in filters")]);
    const order = await load({ measures: ['sales_overview.count'], order: { 'sales_overview.colour': 'asc' } });
    expect([order.status, order.body.error]).toEqual([400, expect.stringContaining("'sales_overview.colour' in order")]);
  });

  it('answers 400 for a member used in the wrong role', async () => {
    const asMeasure = await load({ measures: ['sales_overview.order_status'] });
    expect(asMeasure).toEqual({ status: 400, body: { error: "'sales_overview.order_status' in measures is a dimension, not a measure" } });
    const notTime = await load({
      measures: ['sales_overview.count'],
      timeDimensions: [{ dimension: 'sales_overview.order_status', granularity: 'month' }],
    });
    expect(notTime.status).toBe(400);
    expect(notTime.body.error).toContain("'sales_overview.order_status' in timeDimensions is a string dimension");
  });

  it('answers 400 naming the member for the private orders and customers cubes, wherever it appears', async () => {
    const hidden = (member: string) => ({
      status: 400,
      body: { error: `You requested hidden member: '${member}'. Please make it visible using \`shown: true\`.` },
    });
    const count = ['sales_overview.count'];
    expect(await load({ measures: ['orders.count'] })).toEqual(hidden('orders.count'));
    expect(await load({ measures: ['customers.total_revenue'] })).toEqual(hidden('customers.total_revenue'));
    expect(await load({ measures: count, dimensions: ['customers.city'] })).toEqual(hidden('customers.city'));
    expect(await load({ measures: count, segments: ['orders.valid_sales'] })).toEqual(hidden('orders.valid_sales'));
    expect(await load({ measures: count, timeDimensions: [{ dimension: 'orders.ordered_at', granularity: 'month' }] })).toEqual(
      hidden('orders.ordered_at'),
    );
    expect(await load({ measures: count, filters: [{ member: 'orders.ship_city', operator: 'equals', values: ['Shanghai'] }] })).toEqual(
      hidden('orders.ship_city'),
    );
    expect(await load({ measures: count, order: { 'customers.customer_name': 'asc' } })).toEqual(hidden('customers.customer_name'));
    // Every role alike: an executive's token is refused the same way.
    const executive = await signDevToken(SECRET, { sub: 'ceo@example.com', role: 'executive' });
    expect(await load({ measures: ['orders.revenue'] }, { authorization: executive })).toEqual(hidden('orders.revenue'));
  });

  it('answers 400 for an invalid query and for a body that is not JSON', async () => {
    const invalid = await load({ measures: 'sales_overview.count' });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error).toMatch(/^Invalid query format: measures: /);
    const malformed = await call({
      method: 'POST',
      url: '/cubejs-api/v1/load',
      headers: { authorization: token, 'content-type': 'application/json' },
      payload: '{"query": {"measures": ["sales_overview.count"]',
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toMatch(/not valid JSON/);
    const noQuery = await call({ method: 'POST', url: '/cubejs-api/v1/load', headers: { authorization: token }, payload: { q: 1 } });
    expect(noQuery).toEqual({ status: 400, body: { error: 'Query param is required' } });
  });

  it('answers 403 without a token, with a bad one, and with one signed by another secret', async () => {
    const query = { measures: ['sales_overview.count'] };
    expect(await load(query, {})).toEqual({ status: 403, body: { error: "Authorization header isn't set" } });
    const garbage = await load(query, { authorization: 'Bearer not-a-jwt' });
    expect(garbage.status).toBe(403);
    expect(garbage.body.error).toMatch(/^Invalid token/);
    const foreign = await load(query, { authorization: await signDevToken('another-secret-0123456789abcdef') });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error).toMatch(/signature verification failed/);
    const expired = await load(query, { authorization: await signDevToken(SECRET, {}, { expiresIn: -60 }) });
    expect(expired.status).toBe(403);
    expect(expired.body.error).toMatch(/"exp" claim timestamp check failed/);
    const meta = await call({ method: 'GET', url: '/cubejs-api/v1/meta' });
    expect(meta.status).toBe(403);
    // A bad token is refused before the body is even parsed.
    const both = await call({
      method: 'POST',
      url: '/cubejs-api/v1/load',
      headers: { 'content-type': 'application/json' },
      payload: '{oops',
    });
    expect(both.status).toBe(403);
  });

  it('answers 404 as JSON for unknown routes and keeps serving after every error', async () => {
    expect(await call({ method: 'GET', url: '/cubejs-api/v1/nothing-here', headers: { authorization: token } })).toEqual({
      status: 404,
      body: { error: 'Not found: GET /cubejs-api/v1/nothing-here' },
    });
    const after = await load({ measures: ['sales_overview.count'] });
    expect(after).toMatchObject({ status: 200, body: { data: [{ 'sales_overview.count': '8' }] } });
  });

  it('answers 400 for a filter value the column cannot take, and 500 with a request id only when a mart is missing', async () => {
    const badValue = await load({
      measures: ['sales_overview.count'],
      filters: [{ member: 'sales_overview.item_count', operator: 'equals', values: ['many'] }],
    });
    expect(badValue).toEqual({
      status: 400,
      body: {
        error:
          'Invalid value "many" at values.0 of the filter on \'sales_overview.item_count\': a number dimension takes a finite decimal number',
      },
    });

    const emptyPath = path.join(tmp, 'empty.duckdb');
    const db = await DuckDBInstance.create(emptyPath);
    db.closeSync();
    // DuckDB's text goes to the log under the request id; the caller gets the id only.
    const logLines: string[] = [];
    const server = buildApiServer({
      warehousePath: emptyPath,
      jwtSecret: SECRET,
      logger: { level: 'error', stream: { write: (line: string) => logLines.push(line) } },
    });
    try {
      const response = await server.inject({
        method: 'POST',
        url: '/cubejs-api/v1/load',
        headers: { authorization: token },
        payload: { query: { measures: ['sales_overview.count'] } },
      });
      expect(response.statusCode).toBe(500);
      const { requestId, error } = response.json() as { requestId: string; error: string };
      expect(error).toBe(`Internal error (request id ${requestId}); the details are in the server log`);
      expect(response.headers['x-request-id']).toBe(requestId);
      const logged = logLines
        .map((line) => JSON.parse(line) as { requestId?: string; err?: { message?: string } })
        .find((entry) => entry.requestId === requestId);
      expect(logged?.err?.message).toMatch(/Catalog Error: Table with name "marts.fct_orders" does not exist/);
    } finally {
      await server.close();
    }
  });

  it('answers 503 for /load when the warehouse file is missing', async () => {
    const server = buildApiServer({ warehousePath: path.join(tmp, 'gone.duckdb'), jwtSecret: SECRET });
    try {
      const response = await server.inject({
        method: 'POST',
        url: '/cubejs-api/v1/load',
        headers: { authorization: token },
        payload: { query: { measures: ['sales_overview.count'] } },
      });
      expect(response.statusCode).toBe(503);
      expect(response.json().error).toContain('warehouse file not found');
    } finally {
      await server.close();
    }
  });

  it('refuses to build without a secret or with a bad default time zone', () => {
    expect(() => buildApiServer({ warehousePath, jwtSecret: '' })).toThrow(/CRM_API_SECRET/);
    expect(() => buildApiServer({ warehousePath, jwtSecret: SECRET, defaultTimezone: 'Nowhere/Town' })).toThrow(/Nowhere\/Town/);
  });
});

describe('startApiServer', () => {
  it('listens on a real port, answers over HTTP, and closes', async () => {
    const server = await startApiServer({ warehousePath, jwtSecret: SECRET, port: 0, host: '127.0.0.1', defaultTimezone: 'Asia/Shanghai' });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const response = await fetch(`${server.url}/cubejs-api/v1/load`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: token },
        body: JSON.stringify({
          query: {
            measures: ['sales_overview.revenue'],
            timeDimensions: [{ dimension: 'sales_overview.ordered_at', granularity: 'month' }],
          },
        }),
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as Body;
      // The server's default time zone applies to a query without one.
      expect(body.query.timezone).toBe('Asia/Shanghai');
      expect(byMonth(body.data, 'sales_overview.revenue')).toEqual({ '2025-01': ['120'], '2025-02': ['170'], '2025-03': ['85.25'] });
      // The reader can be told to let go of the file (e.g. after a publish); the next request reopens it.
      await server.warehouse.reopen();
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
    } finally {
      await server.close();
    }
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
  });

  it('fails fast, before listening, when the model does not compile', async () => {
    const brokenDir = path.join(tmp, 'broken-model');
    fs.mkdirSync(brokenDir, { recursive: true });
    fs.writeFileSync(path.join(brokenDir, 'bad.yml'), 'cubes:\n  - name: bad\n    measures: []\n');
    await expect(startApiServer({ warehousePath, jwtSecret: SECRET, cubeModelDir: brokenDir, port: 0 })).rejects.toThrow(
      /Cube model does not compile/,
    );
  });
});

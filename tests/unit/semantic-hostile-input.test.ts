import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../api/auth.ts';
import { buildApiServer } from '../../api/server.ts';
import { QUERY_LIMITS } from '../../semantic/query-limits.ts';
import { createFixtureWarehouse } from './api-fixture.ts';

/**
 * Bad semantic queries are 400s that name the field, on every route that takes a query (GET and
 * POST /load, /sql, /dry-run), before Cube's compiler or DuckDB sees them. Each case here answered
 * 500 before (stack overflow, DuckDB's Binder error text, "Invalid time value", "Path can't be
 * undefined"). The limits of query-limits.ts are tested at the limit (accepted) and one past it.
 */
const SECRET = 'semantic-hostile-secret-0123456789abcdef';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-semantic-hostile-'));
let app: FastifyInstance;
let token: string;

beforeAll(async () => {
  const warehousePath = await createFixtureWarehouse(path.join(tmp, 'warehouse.duckdb'));
  app = buildApiServer({ warehousePath, jwtSecret: SECRET, dashboardDir: false });
  token = await signDevToken(SECRET, { sub: 'analyst@example.com', roles: ['analyst'] });
});

afterAll(async () => {
  await app?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const ROUTES = [
  { method: 'GET', route: 'load' },
  { method: 'POST', route: 'load' },
  { method: 'POST', route: 'sql' },
  { method: 'GET', route: 'dry-run' },
] as const;

/** Sends a query as JSON text (so nesting deeper than JSON.stringify allows can be sent). */
async function send(method: 'GET' | 'POST', route: string, queryJson: string, extra: Partial<InjectOptions> = {}) {
  const options: InjectOptions =
    method === 'GET'
      ? { method, url: `/cubejs-api/v1/${route}?query=${encodeURIComponent(queryJson)}` }
      : { method, url: `/cubejs-api/v1/${route}`, payload: `{"query":${queryJson}}`, headers: { 'content-type': 'application/json' } };
  const response = await app.inject({ ...options, ...extra, headers: { ...options.headers, authorization: token, ...extra.headers } });
  return { status: response.statusCode, body: response.json() as { error?: string; requestId?: string } };
}

const q = (query: unknown) => JSON.stringify(query);
const count = ['sales_overview.count'];
const filter = (member: string, operator: string, values?: unknown[]) => ({ member, operator, ...(values ? { values } : {}) });
const nestedText = (depth: number) =>
  '{"and":['.repeat(depth) + q(filter('sales_overview.order_status', 'equals', ['paid'])) + ']}'.repeat(depth);

const FINDINGS: [string, string, RegExp][] = [
  [
    'filters nested 5,000 deep',
    `{"measures":["sales_overview.count"],"filters":[${nestedText(5_000)}]}`,
    /nested more than 32 levels deep/,
  ],
  [
    'any JSON nested 10,000 deep',
    `{"measures":["sales_overview.count"],"x":${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
    /nested more than 32 levels deep/,
  ],
  [
    'contains on a time dimension',
    q({ measures: count, filters: [filter('sales_overview.ordered_at', 'contains', ['2025'])] }),
    /Operator 'contains' in the filter on 'sales_overview.ordered_at' applies to string members; 'sales_overview.ordered_at' is a time dimension/,
  ],
  [
    'startsWith on a number dimension',
    q({ measures: count, filters: [filter('sales_overview.item_count', 'startsWith', ['1'])] }),
    /'sales_overview.item_count' is a number dimension/,
  ],
  [
    'notEndsWith on a boolean dimension',
    q({ measures: count, filters: [filter('sales_overview.is_valid_sale', 'notEndsWith', ['e'])] }),
    /'sales_overview.is_valid_sale' is a boolean dimension/,
  ],
  [
    'notContains on a measure',
    q({ measures: count, filters: [filter('sales_overview.revenue', 'notContains', ['1'])] }),
    /'sales_overview.revenue' is a number measure/,
  ],
  [
    'gt on a string dimension',
    q({ measures: count, filters: [filter('sales_overview.order_status', 'gt', ['a'])] }),
    /applies to number or time members/,
  ],
  [
    'inDateRange on a string dimension',
    q({ measures: count, filters: [filter('sales_overview.order_status', 'inDateRange', ['2025-01-01', '2025-02-01'])] }),
    /applies to time members/,
  ],
  [
    'operator measureFilter',
    q({ measures: count, filters: [filter('sales_overview.count', 'measureFilter')] }),
    /filters\.0: operator "measureFilter" is not supported/,
  ],
  [
    'dateRange next 1000000 years',
    q({ measures: count, timeDimensions: [{ dimension: 'sales_overview.ordered_at', dateRange: 'next 1000000 years' }] }),
    /Date out of range: .* years 0001 to 9999/,
  ],
  [
    'filter value last 100000 years',
    q({ measures: count, filters: [filter('sales_overview.ordered_at', 'inDateRange', ['last 100000 years'])] }),
    /Date out of range/,
  ],
  [
    'a calendar-invalid dateRange',
    q({ measures: count, timeDimensions: [{ dimension: 'sales_overview.ordered_at', dateRange: ['2025-02-30', '2025-03-01'] }] }),
    /Invalid date '2025-02-30' in dateRange/,
  ],
  [
    'a calendar-invalid date filter',
    q({ measures: count, filters: [filter('sales_overview.ordered_at', 'equals', ['2025-02-30'])] }),
    /Invalid value "2025-02-30" at values.0 of the filter on 'sales_overview.ordered_at'/,
  ],
  [
    'a number filter of "abc"',
    q({ measures: count, filters: [filter('sales_overview.item_count', 'equals', ['abc'])] }),
    /a number dimension takes a finite decimal number/,
  ],
  [
    'a number filter of 1e400',
    q({ measures: count, filters: [filter('sales_overview.item_count', 'gt', ['1e400'])] }),
    /Invalid value "1e400"/,
  ],
  [
    'a number filter in hex',
    q({ measures: count, filters: [filter('sales_overview.count', 'gt', ['0x10'])] }),
    /Invalid value "0x10" .* a number measure/,
  ],
  [
    'a boolean filter of "maybe"',
    q({ measures: count, filters: [filter('sales_overview.is_valid_sale', 'equals', ['maybe'])] }),
    /takes true, false, 1 or 0/,
  ],
  [
    '10,000 filters (799 KB)',
    q({
      measures: count,
      filters: Array.from({ length: 10_000 }, (_, i) => filter('sales_overview.order_status', 'equals', [`s${i}`.padEnd(16, 'x')])),
    }),
    /filters\.100: more than 100 filters/,
  ],
];

describe('hostile semantic queries answer 400 naming the field, on every route', () => {
  for (const [name, queryJson, message] of FINDINGS) {
    it(name, async () => {
      for (const { method, route } of ROUTES) {
        // GET bodies of 800 KB are over any URL limit; the 10,000-filter case goes by POST only.
        if (method === 'GET' && queryJson.length > 100_000) continue;
        const { status, body } = await send(method, route, queryJson);
        expect({ route: `${method} ${route}`, status }).toEqual({ route: `${method} ${route}`, status: 400 });
        expect(body.error).toMatch(message);
        expect(body.error).not.toMatch(
          /Binder Error|Conversion Error|Catalog Error|Maximum call stack|Invalid time value|Path can't be undefined/,
        );
      }
    });
  }
});

describe('query limits: accepted at the limit, refused one past it', () => {
  const leaves = (n: number, values = 1) =>
    Array.from({ length: n }, (_, i) =>
      filter(
        'sales_overview.order_status',
        'notEquals',
        Array.from({ length: values }, (_, j) => `v${i}-${j}`),
      ),
    );
  const nest = (depth: number) => {
    let node: unknown = filter('sales_overview.order_status', 'notEquals', ['x']);
    for (let d = 0; d < depth; d++) node = { [d % 2 ? 'and' : 'or']: [node] };
    return node;
  };
  const CASES: [string, (over: boolean) => unknown, RegExp][] = [
    ['filters', (over) => ({ measures: count, filters: leaves(QUERY_LIMITS.filters + (over ? 1 : 0)) }), /more than 100 filters/],
    [
      'filter group depth',
      (over) => ({ measures: count, filters: [nest(QUERY_LIMITS.filterDepth + (over ? 1 : 0))] }),
      /filter groups are nested more than 8 levels deep/,
    ],
    [
      'values per filter',
      (over) => ({ measures: count, filters: leaves(1, QUERY_LIMITS.valuesPerFilter + (over ? 1 : 0)) }),
      /filters\.0\.values: 1001 values, more than the 1000/,
    ],
    [
      'values in the query',
      (over) => ({ measures: count, filters: [...leaves(5, 1_000), ...leaves(over ? 1 : 0)] }),
      /filters\.5\.values: more than 5000 filter values/,
    ],
    [
      'value length',
      (over) => ({
        measures: count,
        filters: [filter('sales_overview.order_status', 'equals', ['x'.repeat(QUERY_LIMITS.valueLength + (over ? 1 : 0))])],
      }),
      /values\.0: 1001 characters, more than 1000/,
    ],
    [
      'members',
      (over) => ({ measures: Array.from({ length: QUERY_LIMITS.members + (over ? 1 : 0) }, () => 'sales_overview.count') }),
      /names 101 members .* more than 100/,
    ],
    [
      'compareDateRange ranges',
      (over) => ({
        measures: count,
        timeDimensions: [
          {
            dimension: 'sales_overview.ordered_at',
            compareDateRange: Array.from({ length: QUERY_LIMITS.compareDateRanges + (over ? 1 : 0) }, (_, i) => [
              `2025-${String((i % 12) + 1).padStart(2, '0')}-01`,
              `2025-${String((i % 12) + 1).padStart(2, '0')}-02`,
            ]),
          },
        ],
      }),
      /compareDateRange has 13 ranges, more than 12/,
    ],
  ];
  for (const [name, build, message] of CASES) {
    it(name, async () => {
      const at = await send('POST', 'dry-run', q(build(false)));
      expect(at.status, at.body.error).toBe(200);
      const over = await send('POST', 'dry-run', q(build(true)));
      expect(over.status).toBe(400);
      expect(over.body.error).toMatch(message);
    });
  }

  it('JSON depth: 32 levels pass the depth check, 33 do not, in a body and in ?query=', async () => {
    const nestedArray = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
    // The query object itself is one level; "x" holds the rest. Depth passes, the unknown key is then refused.
    for (const method of ['GET', 'POST'] as const) {
      const at = await send(method, 'dry-run', `{"measures":["sales_overview.count"],"x":${nestedArray(method === 'GET' ? 31 : 30)}}`);
      expect(at.body.error).toMatch(/Unrecognized key: "x"/);
      const over = await send(method, 'dry-run', `{"measures":["sales_overview.count"],"x":${nestedArray(method === 'GET' ? 32 : 31)}}`);
      expect(over.body.error).toMatch(/nested more than 32 levels deep/);
    }
    // Brackets inside strings are not nesting.
    const inString = await send(
      'GET',
      'dry-run',
      q({ measures: count, filters: [filter('sales_overview.order_status', 'equals', ['['.repeat(500)])] }),
    );
    expect(inString.status, inString.body.error).toBe(200);
  });

  it('dates stay within years 0001-9999; two-digit years are not read as 19xx', async () => {
    const ok = await send(
      'POST',
      'dry-run',
      q({ measures: count, timeDimensions: [{ dimension: 'sales_overview.ordered_at', dateRange: ['0050-01-01', '9999-12-31'] }] }),
    );
    expect(ok.status, ok.body.error).toBe(200);
    const normalized = (ok.body as unknown as { normalizedQueries: { timeDimensions: { dateRange: string[] }[] }[] }).normalizedQueries[0]!
      .timeDimensions[0]!.dateRange;
    expect(normalized).toEqual(['0050-01-01T00:00:00.000', '9999-12-31T23:59:59.999']);
    const over = await send(
      'POST',
      'dry-run',
      q({ measures: count, timeDimensions: [{ dimension: 'sales_overview.ordered_at', dateRange: ['2025-01-01', 'next 8000 years'] }] }),
    );
    expect(over.status).toBe(400);
  });

  it('valid values of each type are accepted', async () => {
    const valid = await send(
      'POST',
      'load',
      q({
        measures: count,
        filters: [
          filter('sales_overview.item_count', 'gte', ['1.5e0']),
          filter('sales_overview.is_valid_sale', 'equals', ['TRUE', '1']),
          filter('sales_overview.ordered_at', 'gt', ['2025-01-01T00:00:00']),
          filter('sales_overview.order_status', 'contains', ['a']),
          filter('sales_overview.count', 'lt', ['-0.5e3', '1000']),
          filter('sales_overview.item_count', 'set'),
        ],
      }),
    );
    expect(valid.status, valid.body.error).toBe(200);
  });

  it('null-only values mean notSet / set (Cube would write IN ()); null on other operators is a 400', async () => {
    const countWhere = async (operator: string, values: unknown[]) => {
      const { status, body } = await send(
        'POST',
        'load',
        q({ measures: count, filters: [filter('sales_overview.order_status', operator, values)] }),
      );
      expect(status, `${operator} ${JSON.stringify(values)}: ${body.error}`).toBe(200);
      return Number((body as unknown as { data: Record<string, unknown>[] }).data[0]!['sales_overview.count']);
    };
    const all = await countWhere('set', []);
    expect(all).toBeGreaterThan(0);
    for (const values of [[null], [null, null]]) {
      expect(await countWhere('equals', values)).toBe(0);
      expect(await countWhere('in', values)).toBe(0);
      expect(await countWhere('notEquals', values)).toBe(all);
      expect(await countWhere('notIn', values)).toBe(all);
    }
    const ordering = await send('POST', 'load', q({ measures: count, filters: [filter('sales_overview.item_count', 'gt', [null])] }));
    expect(ordering.status).toBe(400);
    expect(ordering.body.error).toMatch(/values\.0: null is a value of equals, notEquals, in and notIn only/);
  });
});

describe('internal failures', () => {
  it('answer 500 with a request id only; the warehouse text goes to the log', async () => {
    // The fixture's fct_orders has no ship_city column: DuckDB fails with a Binder error.
    for (const { method, route } of [
      { method: 'GET', route: 'load' },
      { method: 'POST', route: 'load' },
    ] as const) {
      const { status, body } = await send(method, route, q({ dimensions: ['sales_overview.ship_city'] }));
      expect(status).toBe(500);
      expect(body).toEqual({
        error: `Internal error (request id ${body.requestId}); the details are in the server log`,
        requestId: expect.any(String),
      });
    }
  });
});

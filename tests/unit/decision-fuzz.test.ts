import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../api/auth.ts';
import { startApiServer, type RunningApiServer } from '../../api/server.ts';
import { WarehouseReader } from '../../semantic/warehouse-reader.ts';
import { createDecisionWarehouse } from '../support/decision-fixture.ts';
import { hostileText, rowCounts } from '../support/hostile-input.ts';

/**
 * Property-based fuzzing of the decision API (/api/v1) over real HTTP: hostile parameters and
 * headers from fast-check, for a bounded number of cases. Whatever comes in: never a 5xx, every
 * answer within the time limit, /health still answers, and the warehouse's row counts are the same
 * afterwards. A failure prints fast-check's seed and the shrunk request.
 */
const SECRET = 'decision-fuzz-secret-0123456789abcdef';
const ANSWER_WITHIN_MS = 5_000;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-decision-fuzz-'));
let api: RunningApiServer;
let reader: WarehouseReader;
let warehousePath: string;
const tokens: string[] = [];

const ENDPOINTS = [
  '/pipeline/status',
  '/customers/lookup',
  '/lists/triggers',
  '/lists/triggers/export',
  '/lists/segments',
  '/lists/segments/export',
  '/kpis/scorecard',
  '/openapi.json',
];
const PARAMS = [
  'key',
  'email',
  'phone',
  'wechat',
  'qq',
  'recent',
  'limit',
  'offset',
  'trigger_type',
  'brand',
  'channel',
  'from',
  'to',
  'min_priority',
  'segment',
  'churn_risk_band',
  'min_revenue',
  'format',
  'kpis',
  'timezone',
  '__proto__',
  'constructor',
  'colour',
];

beforeAll(async () => {
  warehousePath = await createDecisionWarehouse(path.join(tmp, 'warehouse.duckdb'));
  process.env.CRM_API_RATE_LIMIT = '100000';
  api = await startApiServer({ warehousePath, jwtSecret: SECRET, port: 0 });
  delete process.env.CRM_API_RATE_LIMIT;
  reader = new WarehouseReader(warehousePath, { idleCloseMs: 0 });
  for (const claims of [
    { roles: ['marketing'] },
    { roles: ['analyst'] },
    { roles: ['service_agent'], regions: ['Shanghai'] },
    { roles: ['marketing'], brands: ['Li-Ning'] },
    { roles: 'executive' },
    { role: 'engineer' },
    { roles: ['executive', 'analyst', 'marketing', 'engineer', 'service_agent'] },
  ]) {
    tokens.push(await signDevToken(SECRET, { sub: JSON.stringify(claims), ...claims }));
  }
});

afterAll(async () => {
  await api?.close();
  await reader?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Values an attacker would try in a query string. */
const hostileValue = fc.oneof(
  hostileText(
    [
      'csv',
      'ndjson',
      'xml',
      'retain_at_risk',
      'low',
      'Li-Ning',
      'c1',
      'alice@example.com',
      '+86 138 0013 8000',
      'Asia/Shanghai',
      'Mars/Olympus',
      'revenue,repeat_rate',
      'a'.repeat(5000),
    ],
    40,
  ),
  fc.integer().map(String),
  fc.double().map(String),
  fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
);

const request = fc.record({
  endpoint: fc.constantFrom(...ENDPOINTS),
  params: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...PARAMS), fc.string({ maxLength: 12 })), hostileValue), { maxLength: 6 }),
  auth: fc.oneof(
    fc.nat({ max: 6 }).map((i) => ({ kind: 'token' as const, i })),
    fc.constantFrom({ kind: 'none' as const }, { kind: 'basic' as const }, { kind: 'lower' as const }, { kind: 'junk' as const }),
  ),
  method: fc.constantFrom('GET', 'GET', 'GET', 'POST', 'DELETE', 'HEAD'),
});

type Auth = { kind: 'token'; i: number } | { kind: 'none' | 'basic' | 'lower' | 'junk' };

function headerFor(auth: Auth): Record<string, string> {
  const token = tokens['i' in auth ? auth.i : 0] ?? tokens[0]!;
  switch (auth.kind) {
    case 'token':
      return { authorization: `Bearer ${token}` };
    case 'basic':
      return { authorization: `Basic ${token}` };
    case 'lower':
      return { authorization: `bearer ${token}` };
    case 'junk':
      return { authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJyb2xlcyI6WyJhbmFseXN0Il19.' };
    default:
      return {};
  }
}

describe('decision API under fuzzed input', () => {
  it('never answers 5xx nor hangs, keeps /health up and the warehouse unchanged', async () => {
    const before = await rowCounts(reader, ['marts', 'ops']);
    expect(Object.keys(before).length).toBeGreaterThan(5);
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async ({ endpoint, params, auth, method }) => {
        const query = new URLSearchParams(params).toString();
        const started = Date.now();
        const response = await fetch(`${api.url}/api/v1${endpoint}${query ? `?${query}` : ''}`, {
          method,
          headers: headerFor(auth),
          signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
        });
        const body = method === 'HEAD' ? '' : await response.text();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        expect(response.status, `${method} ${endpoint}?${query}: ${body.slice(0, 300)}`).toBeLessThan(500);
        expect(Date.now() - started).toBeLessThan(ANSWER_WITHIN_MS);
        // Errors say what is wrong without the warehouse's own words.
        if (response.status >= 400 && body)
          expect(body).not.toMatch(/Binder Error|Conversion Error|Catalog Error|Parser Error|at .*\.ts:\d+/);
      }),
      { numRuns: 1500, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31), verbose: 1 },
    );
    console.log(`decision fuzz: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
    // Both refusals and answers were exercised (a fuzzer that only ever hit 401 proves little).
    expect([...statuses.keys()].some((s) => s === 200)).toBe(true);
    expect([...statuses.keys()].some((s) => s === 400)).toBe(true);
    expect([...statuses.keys()].some((s) => s === 401)).toBe(true);
    expect((await fetch(`${api.url}/health`)).status).toBe(200);
    expect(await rowCounts(reader, ['marts', 'ops'])).toEqual(before);
  }, 180_000);
});

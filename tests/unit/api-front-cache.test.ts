import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../api/auth.ts';
import { endOfLocalDay } from '../../semantic/day-end.ts';
import { ResponseCache } from '../../api/response-cache.ts';
import { startApiServer, type RunningApiServer } from '../../api/server.ts';
import { createDecisionWarehouse } from '../support/decision-fixture.ts';

/**
 * The front cache (whole /load and scorecard answers kept as sent), over HTTP against a real
 * server on 127.0.0.1 and a real DuckDB file. The cache's clock is the test's, so expiry needs no
 * waiting; the counters tell a front-cache hit from a result-cache hit.
 */

const SECRET = 'front-cache-test-secret-0123456789ab';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-front-cache-'));
const warehousePath = path.join(tmp, 'crm.duckdb');
let clock = Date.parse('2030-01-01T12:00:00Z');
const cache = new ResponseCache({ maxEntries: 100, ttlMs: 60_000, now: () => clock });
let api: RunningApiServer;
let plain: RunningApiServer; // the same API without a front cache: what the answers were before it
let analyst: string;

const QUERY = {
  measures: ['sales_overview.count', 'sales_overview.revenue'],
  dimensions: ['sales_overview.order_status'],
  order: [['sales_overview.order_status', 'asc']],
  timezone: 'UTC',
};
const loadUrl = (query: unknown) => `/cubejs-api/v1/load?query=${encodeURIComponent(JSON.stringify(query))}`;
const SCORECARD = '/api/v1/kpis/scorecard?from=2025-02-01&to=2025-02-28&timezone=UTC&kpis=revenue,orders';
const LOOKUP = '/api/v1/customers/lookup?key=c1';

async function call(server: RunningApiServer, url: string, token: string, init: RequestInit = {}) {
  const response = await fetch(`${server.url}${url}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) },
  });
  return { status: response.status, text: await response.text(), headers: response.headers };
}
/** Front-cache hits during fn. */
async function frontHits(fn: () => Promise<unknown>): Promise<number> {
  const before = cache.hits;
  await fn();
  return cache.hits - before;
}
const withoutRefreshTime = (text: string) => text.replace(/"lastRefreshTime":"[^"]+"/g, '"lastRefreshTime":""');

beforeAll(async () => {
  await createDecisionWarehouse(warehousePath);
  process.env.CRM_API_RATE_LIMIT = '1000';
  api = await startApiServer({ warehousePath, jwtSecret: SECRET, port: 0, dashboardDir: false, logger: false, responseCache: cache });
  plain = await startApiServer({ warehousePath, jwtSecret: SECRET, port: 0, dashboardDir: false, logger: false, responseCacheTtlMs: 0 });
  delete process.env.CRM_API_RATE_LIMIT;
  analyst = await signDevToken(SECRET, { sub: 'analyst@example.com', roles: ['analyst'] });
}, 120_000); // compiling the Cube model takes seconds on a busy machine

afterAll(async () => {
  await api?.close();
  await plain?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('front cache', () => {
  it('serves the same bytes and headers as before, from the front on a repeat', async () => {
    const first = await call(api, loadUrl(QUERY), analyst);
    expect(first.status, first.text).toBe(200);
    expect(first.headers.get('x-crm-cache')).toBe('miss');
    let second!: Awaited<ReturnType<typeof call>>;
    expect(await frontHits(async () => (second = await call(api, loadUrl(QUERY), analyst)))).toBe(1);
    expect(second.text).toBe(first.text);
    expect(second.headers.get('x-crm-cache')).toBe('hit');
    expect(second.headers.get('content-type')).toBe('application/json; charset=utf-8');
    // The server without the front cache: same body (but its own computation time) and the same hit headers.
    await call(plain, loadUrl(QUERY), analyst);
    const before = await call(plain, loadUrl(QUERY), analyst);
    expect(withoutRefreshTime(second.text)).toBe(withoutRefreshTime(before.text));
    expect(second.headers.get('server-timing')).toBe(before.headers.get('server-timing'));
    expect(second.headers.get('content-type')).toBe(before.headers.get('content-type'));
    expect(second.headers.get('x-crm-query-ms')).toMatch(/^\d+\.\d$/);
  });

  it('keys POST bodies and the scorecard too, and the rate limit still counts hits', async () => {
    const body = JSON.stringify({ query: QUERY, queryType: 'multi' });
    const init = { method: 'POST', body, headers: { 'content-type': 'application/json' } };
    const miss = await call(api, '/cubejs-api/v1/load', analyst, init);
    expect(miss.status, miss.text).toBe(200);
    let hit!: Awaited<ReturnType<typeof call>>;
    expect(await frontHits(async () => (hit = await call(api, '/cubejs-api/v1/load', analyst, init)))).toBe(1);
    expect(hit.text).toBe(miss.text);
    expect(JSON.parse(hit.text).queryType).toBe('regularQuery');

    const card = await call(api, SCORECARD, analyst);
    expect(card.status, card.text).toBe(200);
    let again!: Awaited<ReturnType<typeof call>>;
    expect(await frontHits(async () => (again = await call(api, SCORECARD, analyst)))).toBe(1);
    expect(again.text).toBe(card.text);
    expect(again.text).toBe((await call(plain, SCORECARD, analyst)).text);
    expect(Number(again.headers.get('x-ratelimit-remaining'))).toBe(Number(card.headers.get('x-ratelimit-remaining')) - 1);
  });

  it('is bypassed by renewQuery, which also retires the kept answer of the same query', async () => {
    await call(api, loadUrl(QUERY), analyst);
    const renewed = { ...QUERY, renewQuery: true };
    let a!: Awaited<ReturnType<typeof call>>;
    let b!: Awaited<ReturnType<typeof call>>;
    expect(
      await frontHits(async () => {
        a = await call(api, loadUrl(renewed), analyst);
        b = await call(api, loadUrl(renewed), analyst);
      }),
    ).toBe(0);
    expect(a.headers.get('x-crm-cache')).toBe('off');
    expect(b.headers.get('x-crm-cache')).toBe('off');
    // The plain query now answers with the renewed result (the result cache's), not the answer kept before.
    const next = await call(api, loadUrl(QUERY), analyst);
    expect(JSON.parse(next.text).lastRefreshTime).toBe(JSON.parse(b.text).lastRefreshTime);
  });

  it('never serves one caller’s answer to other claims; a refreshed token of the same caller shares it', async () => {
    await call(api, loadUrl(QUERY), analyst);
    const other = await signDevToken(SECRET, { sub: 'someone-else@example.com', roles: ['analyst'] });
    const scoped = await signDevToken(SECRET, { sub: 'analyst@example.com', roles: ['analyst'], brands: ['Anta'] });
    for (const token of [other, scoped]) {
      let response!: Awaited<ReturnType<typeof call>>;
      expect(await frontHits(async () => (response = await call(api, loadUrl(QUERY), token)))).toBe(0);
      expect(response.headers.get('x-crm-cache')).not.toBe('hit');
    }
    const scopedAnswer = await call(api, loadUrl(QUERY), scoped);
    expect(scopedAnswer.text).not.toBe((await call(api, loadUrl(QUERY), analyst)).text);
    const refreshed = await signDevToken(SECRET, { sub: 'analyst@example.com', roles: ['analyst'] }, { expiresIn: '1h' });
    expect(await frontHits(() => call(api, loadUrl(QUERY), refreshed))).toBe(1);
  });

  it('keeps customer lookups per caller and data version, with the same bytes as computed', async () => {
    const agent = await signDevToken(SECRET, { sub: 'agent@example.com', roles: ['service_agent'] });
    const first = await call(api, LOOKUP, agent);
    expect(first.status, first.text).toBe(200);
    expect(first.headers.get('x-crm-cache')).toBe('miss');
    let second!: Awaited<ReturnType<typeof call>>;
    expect(await frontHits(async () => (second = await call(api, LOOKUP, agent)))).toBe(1);
    expect(second.headers.get('x-crm-cache')).toBe('hit');
    expect(second.text).toBe(first.text);
    expect(second.text).toBe((await call(plain, LOOKUP, agent)).text);
    // An analyst sees masked contact points only: the agent's kept answer (raw e-mail) is never theirs.
    let masked!: Awaited<ReturnType<typeof call>>;
    expect(await frontHits(async () => (masked = await call(api, LOOKUP, analyst)))).toBe(0);
    expect(masked.status, masked.text).toBe(200);
    expect(JSON.parse(masked.text).contacts_masked).toBe(true);
    expect(JSON.parse(second.text).contacts_masked).toBe(false);
    expect(masked.text).toBe((await call(plain, LOOKUP, analyst)).text);
    // Errors are answered afresh every time (nothing kept for a 404).
    const missing = '/api/v1/customers/lookup?key=no-such-customer';
    expect(await frontHits(async () => expect((await call(api, missing, agent)).status).toBe(404))).toBe(0);
    expect(await frontHits(async () => expect((await call(api, missing, agent)).status).toBe(404))).toBe(0);
  });

  it('refuses an invalid or expired token even when an answer is kept for the same request and claims', async () => {
    await call(api, loadUrl(QUERY), analyst);
    await call(api, SCORECARD, analyst);
    const expired = await signDevToken(SECRET, { sub: 'analyst@example.com', roles: ['analyst'] }, { expiresIn: -60 });
    const forged = await signDevToken('not-the-secret-0123456789abcdef', { sub: 'analyst@example.com', roles: ['analyst'] });
    const hits = await frontHits(async () => {
      for (const token of [expired, forged]) {
        const load = await call(api, loadUrl(QUERY), token);
        expect(load.status).toBe(403);
        expect(JSON.parse(load.text).error).toMatch(/^Invalid token/);
        const card = await call(api, SCORECARD, token);
        expect(card.status).toBe(401);
      }
      const serviceAgent = await signDevToken(SECRET, { sub: 'analyst@example.com', roles: ['service_agent'] });
      expect((await call(api, SCORECARD, serviceAgent)).status).toBe(403);
    });
    expect(hits).toBe(0);
  });

  it('answers afresh after a new warehouse version is published', async () => {
    const before = await call(api, loadUrl(QUERY), analyst);
    // Publish as the pipeline does: a new file renamed over the served one.
    await createDecisionWarehouse(path.join(tmp, 'next.duckdb'));
    fs.renameSync(path.join(tmp, 'next.duckdb'), warehousePath);
    let after!: Awaited<ReturnType<typeof call>>;
    expect(await frontHits(async () => (after = await call(api, loadUrl(QUERY), analyst)))).toBe(0);
    expect(after.headers.get('x-crm-cache')).toBe('miss');
    expect(JSON.parse(after.text).lastRefreshTime).not.toBe(JSON.parse(before.text).lastRefreshTime);
    expect(await frontHits(() => call(api, loadUrl(QUERY), analyst))).toBe(1);
  });

  it('answers a customer lookup afresh after a new warehouse version is published', async () => {
    await call(api, LOOKUP, analyst);
    expect(await frontHits(() => call(api, LOOKUP, analyst))).toBe(1);
    await createDecisionWarehouse(path.join(tmp, 'next-lookup.duckdb'));
    fs.renameSync(path.join(tmp, 'next-lookup.duckdb'), warehousePath);
    expect(await frontHits(() => call(api, LOOKUP, analyst))).toBe(0);
    expect(await frontHits(() => call(api, LOOKUP, analyst))).toBe(1);
  });

  it('lets an entry expire after its TTL and at the end of the day in the query’s time zone', async () => {
    await call(api, loadUrl(QUERY), analyst);
    clock += 59_000;
    expect(await frontHits(() => call(api, loadUrl(QUERY), analyst))).toBe(1);
    clock += 2_000; // past the 60 s TTL
    expect(await frontHits(() => call(api, loadUrl(QUERY), analyst))).toBe(0);

    // 30 s before midnight in Shanghai (UTC+8), noon-ish in UTC.
    clock = Date.parse('2030-01-02T15:59:30Z');
    const shanghai = {
      ...QUERY,
      timezone: 'Asia/Shanghai',
      timeDimensions: [{ dimension: 'sales_overview.ordered_at', dateRange: 'last 7 days' }],
    };
    const utc = { ...shanghai, timezone: 'UTC' };
    await call(api, loadUrl(shanghai), analyst);
    await call(api, loadUrl(utc), analyst);
    clock = Date.parse('2030-01-02T16:00:01Z'); // a new day in Shanghai, not in UTC
    expect(await frontHits(() => call(api, loadUrl(shanghai), analyst))).toBe(0);
    expect(await frontHits(() => call(api, loadUrl(utc), analyst))).toBe(1);
  });
});

describe('endOfLocalDay', () => {
  it('is the next local midnight, on 23- and 25-hour days too', () => {
    const end = (iso: string, zone: string) => new Date(endOfLocalDay(Date.parse(iso), zone)).toISOString();
    expect(end('2025-06-01T10:00:00Z', 'UTC')).toBe('2025-06-02T00:00:00.000Z');
    expect(end('2025-06-01T15:59:59.999Z', 'Asia/Shanghai')).toBe('2025-06-01T16:00:00.000Z');
    expect(end('2025-06-01T16:00:00Z', 'Asia/Shanghai')).toBe('2025-06-02T16:00:00.000Z');
    expect(end('2025-03-09T12:00:00Z', 'America/New_York')).toBe('2025-03-10T04:00:00.000Z');
    expect(end('2025-11-02T12:00:00Z', 'America/New_York')).toBe('2025-11-03T05:00:00.000Z');
    // Santiago skips from 24:00 to 01:00: the end may come early, never late.
    expect(endOfLocalDay(Date.parse('2025-09-06T12:00:00Z'), 'America/Santiago')).toBeLessThanOrEqual(Date.parse('2025-09-07T04:00:00Z'));
  });
});

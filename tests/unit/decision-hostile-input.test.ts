import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../api/auth.ts';
import { buildApiServer } from '../../api/server.ts';
import { createDecisionWarehouse } from '../support/decision-fixture.ts';

/**
 * Hostile input on both doors (/api/v1 and /cubejs-api/v1) answers 4xx naming what is wrong:
 * the findings of the access review, each reproduced here.
 */
const SECRET = 'decision-hostile-secret-0123456789abcdef';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-decision-hostile-'));
let app: FastifyInstance;
let marketing: string;
let analyst: string;

beforeAll(async () => {
  const warehousePath = await createDecisionWarehouse(path.join(tmp, 'warehouse.duckdb'));
  app = buildApiServer({ warehousePath, jwtSecret: SECRET });
  await app.ready();
  marketing = await signDevToken(SECRET, { sub: 'm', roles: ['marketing'] });
  analyst = await signDevToken(SECRET, { sub: 'a', roles: ['analyst'] });
});

afterAll(async () => {
  await app?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function call(url: string, authorization?: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' = 'GET') {
  const response = await app.inject({ method, url, headers: authorization === undefined ? {} : { authorization } });
  const json = String(response.headers['content-type'] ?? '').startsWith('application/json') ? response.json() : undefined;
  return { status: response.statusCode, body: json, headers: response.headers };
}

const fields = (body: { issues?: { field: string }[] }) => (body.issues ?? []).map((i) => i.field);
const LOAD = `/cubejs-api/v1/load?query=${encodeURIComponent(JSON.stringify({ measures: ['sales_overview.count'] }))}`;
const META = '/cubejs-api/v1/meta';

describe('decision API parameters', () => {
  it('refuses calendar-invalid dates, from after to, and out-of-range or non-decimal numbers with a 400 naming the field', async () => {
    const cases: [string, string][] = [
      ['/api/v1/lists/triggers?from=2025-02-30', 'from'],
      ['/api/v1/lists/triggers?to=2025-13-01', 'to'],
      ['/api/v1/lists/triggers?from=0000-01-01', 'from'],
      ['/api/v1/lists/triggers?from=2025-03-01&to=2025-02-01', 'from'],
      ['/api/v1/lists/triggers/export?from=2025-03-01&to=2025-02-01', 'from'],
      ['/api/v1/lists/triggers?min_priority=-1e308', 'min_priority'],
      ['/api/v1/lists/triggers?min_priority=99999999999999999999', 'min_priority'],
      ['/api/v1/lists/triggers?min_priority=1.5', 'min_priority'],
      ['/api/v1/lists/triggers?limit=0x10', 'limit'],
      ['/api/v1/lists/triggers?limit=1e2', 'limit'],
      ['/api/v1/lists/triggers?offset=-1', 'offset'],
      ['/api/v1/lists/triggers?brand=a&brand=b', 'brand'],
      ['/api/v1/lists/segments?min_revenue=1e308', 'min_revenue'],
      ['/api/v1/lists/segments?min_revenue=Infinity', 'min_revenue'],
      ['/api/v1/lists/segments/export?format=xml', 'format'],
      ['/api/v1/customers/lookup?key=c1&recent=0x5', 'recent'],
      ['/api/v1/kpis/scorecard?from=2025-02-29&to=2025-03-31', 'from'],
    ];
    for (const [url, field] of cases) {
      const answer = await call(url, `Bearer ${marketing}`);
      expect(answer.status, url).toBe(400);
      expect(fields(answer.body), url).toContain(field);
      expect(JSON.stringify(answer.body), url).not.toMatch(/CAST|SELECT|int64|Conversion Error/);
    }
    // Leap day and a plain decimal still work.
    expect((await call('/api/v1/lists/triggers?from=2024-02-29&limit=16&min_priority=-5', `Bearer ${marketing}`)).status).toBe(200);
  });

  it('answers 405 with Allow for a known path with an unsupported method, 404 for an unknown path', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH'] as const) {
      const answer = await call('/api/v1/lists/triggers', `Bearer ${marketing}`, method);
      expect(answer.status, method).toBe(405);
      expect(String(answer.headers.allow)).toMatch(/GET/);
    }
    expect((await call('/cubejs-api/v1/meta', `Bearer ${analyst}`, 'DELETE')).status).toBe(405);
    expect((await call('/api/v1/nothing-here', `Bearer ${marketing}`)).status).toBe(404);
  });
});

describe('tokens: one shape of roles and scopes on both doors', () => {
  it('refuses a token without roles on /api/v1, /load and /meta (403 naming the claim)', async () => {
    const none = await signDevToken(SECRET, { sub: 'nobody' });
    for (const url of ['/api/v1/lists/triggers', LOAD, META]) {
      const answer = await call(url, `Bearer ${none}`);
      expect(answer.status, url).toBe(403);
      expect(answer.body.error, url).toMatch(/carries no roles/);
    }
  });

  it('reads `roles` as a string the same way on both doors', async () => {
    const single = await signDevToken(SECRET, { sub: 's', roles: 'marketing' });
    expect((await call('/api/v1/lists/triggers', `Bearer ${single}`)).status).toBe(200);
    expect((await call(LOAD, `Bearer ${single}`)).status).toBe(200);
    const role = await signDevToken(SECRET, { sub: 's', role: 'marketing' });
    expect((await call('/api/v1/lists/triggers', `Bearer ${role}`)).status).toBe(200);
  });

  it('refuses invalid brands / regions claims ("", false, 0, []) on both doors', async () => {
    for (const bad of ['', false, 0, [], [''], [1]]) {
      for (const claim of ['brands', 'regions']) {
        const token = await signDevToken(SECRET, { sub: 'b', roles: ['marketing'], [claim]: bad });
        for (const url of ['/api/v1/lists/triggers', LOAD]) {
          const answer = await call(url, `Bearer ${token}`);
          expect(answer.status, `${url} ${claim}=${JSON.stringify(bad)}`).toBe(403);
          expect(answer.body.error).toMatch(new RegExp(`"${claim}"`));
        }
      }
    }
  });
});

describe('Authorization header', () => {
  it('accepts "Bearer <jwt>" and the bare jwt; any other scheme or spelling is 401 on both doors', async () => {
    for (const url of ['/api/v1/lists/triggers', LOAD]) {
      expect((await call(url, `Bearer ${marketing}`)).status, url).toBe(200);
      expect((await call(url, marketing)).status, url).toBe(200);
      for (const header of [
        `Basic ${marketing}`,
        `bearer ${marketing}`,
        `BEARER ${marketing}`,
        `Token ${marketing}`,
        `Bearer ${marketing} ${marketing}`,
        `Bearer\t${marketing}x y`,
      ]) {
        const answer = await call(url, header);
        expect(answer.status, `${url} ${header.slice(0, 8)}`).toBe(401);
        expect(answer.body.error).toMatch(/Authorization header must be "Bearer <JWT>"/);
      }
    }
  });

  it('requires exp by default: a token that would never expire is refused on both doors', async () => {
    const forever = await new SignJWT({ sub: 'f', roles: ['marketing'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .sign(new TextEncoder().encode(SECRET));
    const decision = await call('/api/v1/lists/triggers', `Bearer ${forever}`);
    expect(decision.status).toBe(401);
    expect(decision.body.error).toMatch(/"exp" claim/);
    const cube = await call(LOAD, `Bearer ${forever}`);
    expect(cube.status).toBe(403);
    expect(cube.body.error).toMatch(/"exp" claim/);
  });

  it('lets a deployment turn the exp requirement off (CRM_API_REQUIRE_EXP=false)', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'noexp-'));
    const lax = buildApiServer({
      warehousePath: await createDecisionWarehouse(path.join(dir, 'w.duckdb')),
      jwtSecret: SECRET,
      requireTokenExpiry: false,
    });
    try {
      const forever = await new SignJWT({ sub: 'f', roles: ['marketing'] })
        .setProtectedHeader({ alg: 'HS256' })
        .sign(new TextEncoder().encode(SECRET));
      expect(
        (await lax.inject({ method: 'GET', url: '/api/v1/lists/triggers', headers: { authorization: `Bearer ${forever}` } })).statusCode,
      ).toBe(200);
      expect((await lax.inject({ method: 'GET', url: LOAD, headers: { authorization: `Bearer ${forever}` } })).statusCode).toBe(200);
    } finally {
      await lax.close();
    }
  });
});

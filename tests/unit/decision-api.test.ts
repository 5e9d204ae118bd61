import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../api/auth.ts';
import { normalizePhone } from '../../api/decision/contact-point.ts';
import { CustomerLookupResponse } from '../../api/decision/schemas.ts';
import { previousPeriod } from '../../api/decision/kpi-scorecard.ts';
import { buildApiServer } from '../../api/server.ts';
import { createDecisionWarehouse } from '../support/decision-fixture.ts';

const SECRET = 'decision-test-secret-0123456789abcdef';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-decision-'));
let app: FastifyInstance;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  const warehousePath = await createDecisionWarehouse(path.join(tmp, 'warehouse.duckdb'));
  process.env.CRM_API_RATE_LIMIT = '40';
  app = buildApiServer({ warehousePath, jwtSecret: SECRET });
  await app.ready(); // plugins (and the limit from the environment) are set up here
  delete process.env.CRM_API_RATE_LIMIT;
  for (const role of ['executive', 'analyst', 'service_agent', 'engineer', 'marketing']) {
    tokens[role] = await signDevToken(SECRET, { sub: `${role}@example.com`, roles: [role] });
  }
});

afterAll(async () => {
  await app?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function get(url: string, role?: string, headers: Record<string, string> = {}) {
  const response = await app.inject({
    method: 'GET',
    url,
    headers: role ? { authorization: `Bearer ${tokens[role]}`, ...headers } : headers,
  });
  return {
    status: response.statusCode,
    body: String(response.headers['content-type'] ?? '').startsWith('application/json') ? response.json() : response.body,
    headers: response.headers,
  };
}

describe('auth, roles and input errors', () => {
  it('answers 401 without a token or with a bad one, 403 for a role that may not', async () => {
    expect((await get('/api/v1/pipeline/status')).status).toBe(401);
    expect((await get('/api/v1/pipeline/status', undefined, { authorization: 'Bearer nope' })).status).toBe(401);
    const forbidden = await get('/api/v1/pipeline/status', 'marketing');
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error).toMatch(/needs one of the roles \[engineer, analyst, executive\]; this token has \[marketing\]/);
    const odd = await signDevToken(SECRET, { roles: ['ceo'] });
    const unknownRole = await app.inject({ method: 'GET', url: '/api/v1/pipeline/status', headers: { authorization: odd } });
    expect(unknownRole.statusCode).toBe(403);
    expect(unknownRole.json().error).toMatch(/unknown role "ceo"/);
  });

  it('answers 400 naming each field and the reason', async () => {
    const bad = await get('/api/v1/lists/triggers?limit=0&trigger_type=spam&colour=red', 'marketing');
    expect(bad.status).toBe(400);
    const fields = bad.body.issues.map((i: { field: string }) => i.field);
    expect(fields).toEqual(expect.arrayContaining(['limit', 'trigger_type', 'colour']));
    const two = await get('/api/v1/customers/lookup?key=c1&email=a@b.c', 'analyst');
    expect(two.status).toBe(400);
    expect(two.body.issues[0].reason).toBe('give exactly one of key, email, phone, wechat, qq');
    const range = await get('/api/v1/kpis/scorecard?from=2025-03-01&to=2025-02-01', 'executive');
    expect(range.body.issues).toEqual([{ field: 'from', reason: 'must not be after to' }]);
  });

  it('serves an OpenAPI document generated from the zod schemas, without a token', async () => {
    const doc = await get('/api/v1/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.0.3');
    const lookup = doc.body.paths['/api/v1/customers/lookup'].get;
    expect(lookup.parameters.map((p: { name: string }) => p.name)).toEqual(['key', 'email', 'phone', 'wechat', 'qq', 'recent']);
    expect(lookup.responses['401']).toBeDefined();
    const trig = doc.body.paths['/api/v1/lists/triggers'].get.parameters.find((p: { name: string }) => p.name === 'trigger_type');
    expect(trig.schema.enum).toContain('retain_at_risk');
  });
});

describe('pipeline status', () => {
  it('shows the last runs and freshness from the ops.* ledger copy; the publishing run counts', async () => {
    const { status, body } = await get('/api/v1/pipeline/status?limit=2', 'engineer');
    expect(status).toBe(200);
    expect(body.last_runs.map((r: { run_id: string }) => r.run_id)).toEqual(['r3', 'r2']);
    expect(body.published_by).toBe('r3');
    const orders = body.sources.find((s: { name: string }) => s.name === 'orders');
    expect(orders.last_at).toBe('2025-03-03T01:01:00.000Z'); // r3 (publishing), not r2 (failed, unpublished)
    expect(body.sources.find((s: { name: string }) => s.name === 'profiles').last_at).toBe(
      '2025-03-01T00:00:30.000Z'.replace('00:00:30', '01:00:30'),
    );
    expect(body.marts.map((m: { name: string }) => m.name)).toEqual(['customer_value', 'fct_orders']);
  });
});

describe('customer 360', () => {
  it('finds the same person by key, e-mail, phone, WeChat and QQ, normalised', async () => {
    const queries = [
      'key=c1',
      'email=%20ALICE@example.COM%20',
      'phone=%2B86%20138%200013%208000',
      'phone=138-0013-8000',
      'wechat=alice_wx',
      'qq=123456',
    ];
    for (const q of queries) {
      const { status, body } = await get(`/api/v1/customers/lookup?${q}`, 'service_agent');
      expect(status, q).toBe(200);
      expect(body.customer_key, q).toBe('c1');
    }
    expect(normalizePhone('+1 (415) 555-0100')).toBe('4155550100');
    expect((await get('/api/v1/customers/lookup?phone=415.555.0100', 'service_agent')).body.customer_key).toBe('c3');
    expect((await get('/api/v1/customers/lookup?email=nobody@example.com', 'service_agent')).status).toBe(404);
    // An older phone identity resolution kept, a WeChat id typed in another case, a 0086 prefix.
    expect((await get('/api/v1/customers/lookup?phone=137-1111-2222', 'service_agent')).body.customer_key).toBe('c1');
    expect((await get('/api/v1/customers/lookup?wechat=%20ALICE_WX', 'service_agent')).body.customer_key).toBe('c1');
    expect((await get('/api/v1/customers/lookup?phone=0086%20139%200000%201111', 'service_agent')).body.customer_key).toBe('c2');
    const junk = await get('/api/v1/customers/lookup?phone=12-34-5', 'service_agent');
    expect(junk.status).toBe(400);
    expect(junk.body.issues[0].field).toBe('phone');
  });

  it('returns the three facets, value, and recent orders (credited only), tickets and mentions', async () => {
    const { body } = await get('/api/v1/customers/lookup?key=c2&recent=5', 'marketing');
    expect(body.basic.full_name).toBe('Bob Li');
    expect(body.subjective.privacy_tolerance).toBe('low');
    expect(body.transactional.order_count).toBeDefined();
    expect(body.value.rfm_segment).toBe('champions');
    // o8 was an accidental order placed under c2's account: not in c2's history.
    expect(body.recent_orders.map((o: { order_id: string }) => o.order_id)).toEqual(['o6', 'o2']);
    const c1 = (await get('/api/v1/customers/lookup?key=c1', 'service_agent')).body;
    expect(c1.recent_tickets.map((t: { ticket_id: string }) => t.ticket_id)).toEqual(['t1', 't2']);
    expect(c1.recent_mentions[0].text).toBe('发货太慢了');
    expect(c1.unavailable).toEqual([]);
    // The route sends customer360's answer as built: it must fit the published contract.
    for (const answer of [body, c1]) expect(CustomerLookupResponse.strict().safeParse(answer).error).toBeUndefined();
  });

  it('masks contact points unless the role may see them', async () => {
    const agent = (await get('/api/v1/customers/lookup?key=c1', 'service_agent')).body;
    expect(agent.contacts_masked).toBe(false);
    expect(agent.basic.email).toBe('alice@example.com');
    const analyst = (await get('/api/v1/customers/lookup?key=c1', 'analyst')).body;
    expect(analyst.contacts_masked).toBe(true);
    expect(analyst.basic.email_masked).toBe('a***@example.com');
    const text = JSON.stringify(analyst);
    for (const secret of ['alice@example.com', '138-0013-8000', 'alice_wx', '123456']) expect(text).not.toContain(secret);
  });
});

describe('campaign lists', () => {
  it('filters and pages the trigger list, contactable customers only, each row with its reason', async () => {
    const all = await get('/api/v1/lists/triggers?limit=2', 'marketing');
    expect(all.status).toBe(200);
    expect(all.body.has_more).toBe(true);
    expect(all.body.rows).toHaveLength(2);
    const next = await get('/api/v1/lists/triggers?limit=2&offset=2', 'marketing');
    expect(next.body.has_more).toBe(false);
    const keys = [...all.body.rows, ...next.body.rows].map((r: { customer_key: string }) => r.customer_key);
    expect(keys).not.toContain('c2'); // no consent: never listed
    for (const row of [...all.body.rows, ...next.body.rows]) expect(row.reason).toMatch(/\w/);
    const retain = await get('/api/v1/lists/triggers?trigger_type=retain_at_risk', 'marketing');
    expect(retain.body.rows.map((r: { customer_key: string }) => r.customer_key)).toEqual(['c3']);
    expect(retain.body.rows[0].wechat_id).toBe('carol_wx');
    const masked = await get('/api/v1/lists/triggers?trigger_type=retain_at_risk', 'analyst');
    expect(masked.body.rows[0].wechat_id).toBeUndefined();
    expect(masked.body.rows[0].wechat_masked).toBe('ca***wx');
  });

  it('exports CSV and NDJSON with the same rows as the pages', async () => {
    const csv = await get('/api/v1/lists/triggers/export?format=csv&brand=Li-Ning', 'marketing');
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    const lines = String(csv.body).trimEnd().split('\r\n');
    expect(lines[0]).toMatch(/^trigger_date,customer_key,trigger_type,priority,suggested_channel,category,brand,reason,full_name,email/);
    expect(lines).toHaveLength(4);
    expect(String(csv.body)).toContain('"Bought running shoes, ""quoted, comma"" socks not bought"');
    const ndjson = await get('/api/v1/lists/triggers/export?format=ndjson&brand=Li-Ning', 'marketing');
    const rows = String(ndjson.body)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const page = await get('/api/v1/lists/triggers?brand=Li-Ning', 'marketing');
    expect(rows).toEqual(page.body.rows);
  });

  it('lists an RFM segment with consent respected and a reason per row', async () => {
    const { body } = await get('/api/v1/lists/segments?segment=champions', 'marketing');
    expect(body.rows.map((r: { customer_key: string }) => r.customer_key)).toEqual(['c1']); // c2 is a champion without consent
    expect(body.rows[0].reason).toBe('RFM segment champions (R5 F5 M5), churn risk low');
  });
});

describe('KPI scorecard', () => {
  it('gives each KPI for the period and the previous one, with the change, from the semantic layer', async () => {
    expect(previousPeriod('2025-02-01', '2025-02-28')).toEqual({ from: '2025-01-04', to: '2025-01-31' });
    const { status, body } = await get(
      '/api/v1/kpis/scorecard?from=2025-02-01&to=2025-02-28&timezone=UTC&kpis=revenue,orders,repeat_rate',
      'executive',
    );
    expect(status).toBe(200);
    const revenue = body.kpis.find((k: { id: string }) => k.id === 'revenue');
    // Feb (UTC): o5 120.00 + o7 25.25 (o4 cancelled, o6 refunded); Jan 4-31: o1 90 + o2 50 + o3 30.
    expect(revenue).toMatchObject({ available: true, current: 145.25, previous: 170, label_zh: '净收入' });
    expect(revenue.change).toBeCloseTo(-24.75, 6);
    expect(revenue.change_pct).toBeCloseTo(-24.75 / 170, 6);
    expect(body.kpis.find((k: { id: string }) => k.id === 'orders')).toMatchObject({ current: 4, previous: 3 });
    const pending = body.kpis.find((k: { id: string }) => k.id === 'repeat_rate');
    expect(pending.available).toBe(false);
    // kpi_periods is in the model, but the fixture warehouse has no fct_kpi_periods: unavailable, naming the mart.
    expect(pending.reason).toMatch(/has no fct_kpi_periods mart yet/);
    // The same figures as the Cube REST /load for the same range (one source of truth).
    const load = await app.inject({
      method: 'POST',
      url: '/cubejs-api/v1/load',
      headers: { authorization: `Bearer ${tokens.executive}` },
      payload: {
        query: {
          measures: ['executive_kpis.revenue'],
          timeDimensions: [{ dimension: 'executive_kpis.ordered_at', dateRange: ['2025-02-01', '2025-02-28'] }],
          timezone: 'UTC',
        },
      },
    });
    expect(Number(load.json().data[0]['executive_kpis.revenue'])).toBe(revenue.current);
    expect((await get('/api/v1/kpis/scorecard?from=2025-02-01&to=2025-02-28&kpis=revenue,nps', 'executive')).body.issues[0].field).toBe(
      'kpis',
    );
  });
});

describe('KPI scorecard: the CLV model behind the at-risk figure', () => {
  it('names the model and fit date on the KPIs derived from the CLV predictions, as /load answers them', async () => {
    const { status, body } = await get('/api/v1/kpis/scorecard?from=2025-02-01&to=2025-02-28&kpis=customers_at_risk,revenue', 'executive');
    expect(status).toBe(200);
    expect(body.kpis).toHaveLength(2);
    const byId = (id: string) => body.kpis.find((k: { id: string }) => k.id === id);
    const [atRisk, revenue] = [byId('customers_at_risk'), byId('revenue')];
    // The fixture's dim_clv_model: run r3 reused r1's MBG/NBD fit, fitted 2026-12-06 18:30 UTC.
    expect(atRisk.model).toEqual({ name: 'mbgnbd', label: 'MBG/NBD', fitted_at: '2026-12-06T18:30:00.000Z' });
    expect('model' in revenue).toBe(false);
    const load = await app.inject({
      method: 'POST',
      url: '/cubejs-api/v1/load',
      headers: { authorization: `Bearer ${tokens.executive}` },
      payload: { query: { dimensions: ['executive_kpis.clv_model_label', 'executive_kpis.clv_fitted_at'] } },
    });
    expect(load.statusCode).toBe(200);
    const rows = load.json().data as Record<string, string>[];
    expect(rows).toHaveLength(1);
    expect(rows[0]!['executive_kpis.clv_model_label']).toBe(atRisk.model.label);
    expect(`${rows[0]!['executive_kpis.clv_fitted_at']}Z`).toBe(atRisk.model.fitted_at);
  });

  it('keeps the one-row model cube from scoped tokens without refusing them the rest of the view', async () => {
    const scoped = await signDevToken(SECRET, { sub: 'brand-exec@example.com', roles: ['executive'], brands: ['Li-Ning'] });
    const headers = { authorization: `Bearer ${scoped}` };
    const meta = await app.inject({ method: 'GET', url: '/cubejs-api/v1/meta', headers });
    const names = (meta.json().cubes as { measures: { name: string }[]; dimensions: { name: string }[] }[]).flatMap((c) =>
      [...c.measures, ...c.dimensions].map((m) => m.name),
    );
    expect(names).toContain('executive_kpis.revenue');
    expect(names.filter((n) => n.includes('clv_'))).toEqual([]);
    const model = await app.inject({
      method: 'POST',
      url: '/cubejs-api/v1/load',
      headers,
      payload: { query: { dimensions: ['executive_kpis.clv_model_label'] } },
    });
    expect(model.statusCode).toBe(403);
    expect(model.json().error).toMatch(/clv_model' cannot be scoped by the token's "brands" claim/);
    const revenue = await app.inject({ method: 'GET', url: '/api/v1/kpis/scorecard?from=2025-02-01&to=2025-02-28&kpis=revenue', headers });
    expect(revenue.statusCode).toBe(200);
    expect(revenue.json().kpis[0].available).toBe(true);
  });

  it('answers model null when no scoring has fitted a model yet', async () => {
    const warehousePath = await createDecisionWarehouse(path.join(tmp, 'unscored.duckdb'));
    const instance = await DuckDBInstance.create(warehousePath);
    const connection = await instance.connect();
    await connection.run('DELETE FROM marts.dim_clv_model');
    connection.closeSync();
    instance.closeSync();
    const unscored = buildApiServer({ warehousePath, jwtSecret: SECRET });
    try {
      const response = await unscored.inject({
        method: 'GET',
        url: '/api/v1/kpis/scorecard?from=2025-02-01&to=2025-02-28&kpis=customers_at_risk',
        headers: { authorization: `Bearer ${tokens.executive}` },
      });
      expect(response.statusCode).toBe(200);
      expect(response.json().kpis[0]).toMatchObject({ id: 'customers_at_risk', model: null });
    } finally {
      await unscored.close();
    }
  });
});

describe('request limit', () => {
  it('limits each caller separately with a 429 that says when to retry', async () => {
    const limited = await signDevToken(SECRET, { sub: 'busy@example.com', roles: ['engineer'] });
    const statuses: number[] = [];
    for (let i = 0; i < 42; i++) {
      statuses.push(
        (await app.inject({ method: 'GET', url: '/api/v1/pipeline/status?limit=1', headers: { authorization: limited } })).statusCode,
      );
    }
    expect(statuses.filter((s) => s === 200).length).toBe(40);
    const last = await app.inject({ method: 'GET', url: '/api/v1/pipeline/status?limit=1', headers: { authorization: limited } });
    expect(last.statusCode).toBe(429);
    expect(last.json().error).toMatch(/limit is 40 per caller per minute/);
    // Another caller is not affected.
    expect((await get('/api/v1/pipeline/status?limit=1', 'analyst')).status).toBe(200);
  });
});

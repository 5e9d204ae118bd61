import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../api/auth.ts';
import { ROUTES } from '../../api/routes/decision.ts';
import { CustomerLookupResponse } from '../../api/decision/schemas.ts';
import { KNOWN_ROLES, type Role } from '../../semantic/access-control.ts';
import { startApiServer, type RunningApiServer } from '../../api/server.ts';
import { WarehouseReader } from '../../semantic/warehouse-reader.ts';
import { runPipeline } from '../../cli/pipeline.ts';
import { DEFAULT_GENERATE_OPTIONS, generateSampleData } from '../../pipelines/sources/sample-data/generate.ts';
import { accessDocTable } from '../support/access-doc.ts';

/**
 * The decision API (/api/v1) applies the Cube model's access policies on every endpoint, on a real
 * pipeline warehouse: for every endpoint and every role, a brand-scoped and a region-scoped token
 * see exactly the unscoped answer filtered by hand (exports included), or a 403 naming the claim
 * when the model has no way to scope that data by it. Raw contact points only reach the roles the
 * model lets see them.
 */
const SECRET = 'decision-scopes-secret-0123456789abcdef';
const RAW_CONTACT = ['email', 'phone', 'mobile', 'wechat_id', 'qq_id'];
const RAW_ROLES: Role[] = ['marketing', 'service_agent'];
type Json = Record<string, any>;

let workDir: string;
let warehousePath: string;
let api: RunningApiServer;
let reader: WarehouseReader;
let brand: string;
let cities: string[];
const inCities = (c: string | null | undefined) => c !== null && c !== undefined && cities.includes(c);
const cityOf = new Map<string, string | null>();
const shipCityOf = new Map<string, string | null>();
const emailOf = new Map<string, string>();
let keys: string[] = [];

const rolesOf = (path: string) => ROUTES.find((r) => r.path === path)!.roles as Role[];

async function token(role: Role, scope: Json = {}): Promise<string> {
  return signDevToken(SECRET, { sub: `${role}-${JSON.stringify(scope)}`, roles: [role], ...scope });
}

async function get(url: string, bearer: string): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(`${api.url}/api/v1${url}`, { headers: { authorization: `Bearer ${bearer}` } });
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  return { status: response.status, body: type.startsWith('application/json') ? JSON.parse(text) : text, headers: response.headers };
}

const ndjson = (text: string): Json[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
const scopes = () => ({ brand: { brands: [brand] }, region: { regions: cities } });

beforeAll(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-decision-scopes-'));
  const landingDir = path.join(workDir, 'landing');
  warehousePath = path.join(workDir, 'warehouse', 'crm.duckdb');
  await generateSampleData({ ...DEFAULT_GENERATE_OPTIONS, outDir: landingDir, seed: 11, customers: 240, orders: 1_800, malformedRate: 0 });
  const run = await runPipeline({ warehousePath, landingDir, interactive: false });
  if (!run.published) throw new Error(`the pipeline did not publish (${run.status}): ${JSON.stringify(run.run?.error ?? null)}`);
  // Real customers ship to other addresses (the generator ships to the buyer's city): the latest
  // order of every third customer with several goes to a city no customer lives in, so a region
  // scope keeps a customer and drops some of their orders.
  {
    const instance = await DuckDBInstance.create(warehousePath);
    const connection = await instance.connect();
    await connection.run(`
      UPDATE marts.fct_orders SET ship_city = 'Elsewhere' WHERE order_id IN (
        SELECT arg_max(order_id, ordered_at) FROM marts.fct_orders WHERE credited_customer_key IS NOT NULL
        GROUP BY credited_customer_key HAVING count(*) > 1 AND hash(credited_customer_key) % 3 = 0)`);
    connection.closeSync();
    instance.closeSync();
  }
  api = await startApiServer({ warehousePath, jwtSecret: SECRET, port: 0 });
  reader = new WarehouseReader(warehousePath, { idleCloseMs: 0 });
  for (const row of await reader.query('SELECT customer_key, city, email FROM marts.dim_customers')) {
    cityOf.set(String(row.customer_key), row.city === null ? null : String(row.city));
    if (row.email) emailOf.set(String(row.customer_key), String(row.email));
  }
  for (const row of await reader.query('SELECT order_id, ship_city FROM marts.fct_orders'))
    shipCityOf.set(String(row.order_id), row.ship_city === null ? null : String(row.ship_city));
  // Cities holding about a third of the customers (the generator's cities are nearly unique per
  // person), and the brand with the most triggers: scopes with rows on both sides.
  const byCity = (
    await reader.query('SELECT city, count(*) AS n FROM marts.dim_customers WHERE city IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1')
  ).map((r) => ({ city: String(r.city), n: Number(r.n) }));
  cities = [];
  for (let i = 0, covered = 0; i < byCity.length && covered < cityOf.size / 3; i += 1) {
    cities.push(byCity[i]!.city);
    covered += byCity[i]!.n;
  }
  brand = String(
    (
      await reader.query(
        'SELECT brand FROM marts.fct_customer_triggers WHERE brand IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1',
      )
    )[0]!.brand,
  );
  // Customers with orders, in and out of the cities, each with fewer orders than `recent` returns.
  const withOrders = (
    await reader.query(`
    SELECT credited_customer_key AS customer_key FROM marts.fct_orders WHERE credited_customer_key IS NOT NULL
    GROUP BY 1 HAVING count(*) < 40 ORDER BY 1`)
  ).map((r) => String(r.customer_key));
  keys = [
    ...withOrders.filter((k) => inCities(cityOf.get(k))).slice(0, 8),
    ...withOrders.filter((k) => !inCities(cityOf.get(k))).slice(0, 6),
  ];
}, 300_000);

afterAll(async () => {
  await api?.close();
  await reader?.close();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

function expectNoRawContacts(rows: Json[], role: Role) {
  if (RAW_ROLES.includes(role)) return;
  for (const row of rows) for (const column of RAW_CONTACT) expect(row, `${role} got raw ${column}`).not.toHaveProperty(column);
}

describe('decision API scopes (brands, regions) from the Cube model', () => {
  it('the sample shop has rows on both sides of each scope', () => {
    expect([...cityOf.values()].filter(inCities).length).toBeGreaterThan(20);
    expect([...cityOf.values()].filter((c) => !inCities(c)).length).toBeGreaterThan(20);
    expect(keys.filter((k) => inCities(cityOf.get(k))).length).toBe(8);
    expect(keys.filter((k) => !inCities(cityOf.get(k))).length).toBe(6);
  });

  it('customer lookup: region scope keeps the city\'s customers and their orders there; brand scope is refused naming "brands"', async () => {
    for (const role of KNOWN_ROLES) {
      const open = await token(role);
      const byRegion = await token(role, scopes().region);
      const byBrand = await token(role, scopes().brand);
      if (!rolesOf('/customers/lookup').includes(role)) {
        for (const t of [open, byRegion, byBrand]) expect((await get(`/customers/lookup?key=${keys[0]}`, t)).status, role).toBe(403);
        continue;
      }
      for (const key of keys) {
        const full = await get(`/customers/lookup?key=${encodeURIComponent(key)}&recent=50`, open);
        expect(full.status, `${role} ${key}`).toBe(200);
        expectNoRawContacts([full.body.basic], role);
        expect(full.body.withheld).toEqual([]);
        const scoped = await get(`/customers/lookup?key=${encodeURIComponent(key)}&recent=50`, byRegion);
        if (!inCities(cityOf.get(key))) {
          // Out of scope reads like a key that does not exist.
          expect(scoped.status, `${role} ${key} (${cityOf.get(key)}) leaked`).toBe(404);
          expect(scoped.body.error).toBe(`No customer with key "${key}"`);
          continue;
        }
        expect(scoped.status, `${role} ${key}`).toBe(200);
        expect(scoped.body.basic).toEqual(full.body.basic);
        expect(scoped.body.value).toEqual(full.body.value);
        const expectedOrders = (full.body.recent_orders as Json[]).filter((o) => inCities(shipCityOf.get(String(o.order_id))));
        expect(scoped.body.recent_orders).toEqual(expectedOrders);
        // Tickets and mentions have no city: withheld, with the claim named.
        expect(scoped.body.recent_tickets).toBeNull();
        expect(scoped.body.recent_mentions).toBeNull();
        expect(scoped.body.withheld.map((w: Json) => w.part).sort()).toEqual(['recent_mentions', 'recent_tickets']);
        for (const w of scoped.body.withheld) expect(w.reason).toMatch(/"regions" claim/);
        expectNoRawContacts([scoped.body.basic], role);
      }
      const refused = await get(`/customers/lookup?key=${keys[0]}`, byBrand);
      expect(refused.status, role).toBe(403);
      expect(refused.body.error).toMatch(/cannot be scoped by the token's "brands" claim/);
    }
  });

  it('customer lookups read the customer store once it is built, with the answers DuckDB gives, for every role and scope', async () => {
    // The same warehouse served without the store: every lookup there is DuckDB statements.
    const duckOnly = await startApiServer({ warehousePath, jwtSecret: SECRET, port: 0, customerStore: false });
    try {
      const open = await token('analyst');
      const first = keys[0]!;
      // The first lookup of a version starts the store's build; answers come from DuckDB until it is complete.
      let read = '';
      for (let i = 0; i < 600 && read !== 'store'; i++) {
        const probe = await fetch(`${api.url}/api/v1/customers/lookup?key=${encodeURIComponent(first)}&recent=${3 + (i % 40)}`, {
          headers: { authorization: `Bearer ${open}` },
        });
        read = probe.headers.get('x-crm-read') ?? '';
        await probe.arrayBuffer();
        if (read !== 'store') await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(read).toBe('store');
      // The customers of the other lookup tests, 60 more, and every in-scope customer with an order
      // shipped outside the scope's cities (the rows the region scope removes from a found customer).
      const mixed = (
        await reader.query(
          'SELECT DISTINCT credited_customer_key AS k, ship_city FROM marts.fct_orders WHERE credited_customer_key IS NOT NULL',
        )
      )
        .filter((r) => inCities(cityOf.get(String(r.k))) && !inCities(r.ship_city === null ? null : String(r.ship_city)))
        .map((r) => String(r.k));
      expect(mixed.length).toBeGreaterThan(0);
      const everyone = [...new Set([...keys, ...[...cityOf.keys()].slice(0, 60), ...mixed])];
      const compare = async (url: string, bearer: string, label: string) => {
        const fromStore = await get(url, bearer);
        const response = await fetch(`${duckOnly.url}/api/v1${url}`, { headers: { authorization: `Bearer ${bearer}` } });
        expect(response.headers.get('x-crm-read'), label).toBe(response.status === 200 ? 'warehouse' : null);
        expect(fromStore.status, label).toBe(response.status);
        expect(fromStore.body, label).toEqual(await response.json());
        if (fromStore.status === 200) {
          expect(fromStore.headers.get('x-crm-read'), label).toBe('store');
          // The route does not parse its answer on the way out: both read paths must fit the contract.
          expect(CustomerLookupResponse.strict().safeParse(fromStore.body).error, label).toBeUndefined();
        }
        return fromStore.status;
      };
      const statuses = new Map<number, number>();
      for (const role of rolesOf('/customers/lookup')) {
        for (const [name, bearer] of [
          ['open', await token(role)],
          ['region', await token(role, scopes().region)],
        ] as const) {
          for (const key of everyone)
            for (const recent of [2, 45]) {
              const status = await compare(
                `/customers/lookup?key=${encodeURIComponent(key)}&recent=${recent}`,
                bearer,
                `${role} ${name} ${key} ${recent}`,
              );
              statuses.set(status, (statuses.get(status) ?? 0) + 1);
            }
          const email = emailOf.get(keys.find((k) => emailOf.has(k))!)!;
          await compare(`/customers/lookup?email=${encodeURIComponent(email)}`, bearer, `${role} ${name} by e-mail`);
        }
      }
      // Both sides of the region scope were compared: found customers and out-of-scope ones.
      expect(statuses.get(200)).toBeGreaterThan(100);
      expect(statuses.get(404)).toBeGreaterThan(50);
    } finally {
      await duckOnly.close();
    }
  }, 300_000);

  it('customer lookup by contact point: only for roles that may read it, and within the scope', async () => {
    const inCity = keys.find((k) => inCities(cityOf.get(k)) && emailOf.has(k))!;
    const outside = keys.find((k) => !inCities(cityOf.get(k)) && emailOf.has(k))!;
    for (const role of rolesOf('/customers/lookup')) {
      const open = await token(role);
      const answer = await get(`/customers/lookup?email=${encodeURIComponent(emailOf.get(inCity)!)}`, open);
      if (RAW_ROLES.includes(role)) {
        expect(answer.status, role).toBe(200);
        expect(answer.body.customer_key).toBe(inCity);
        const byRegion = await token(role, scopes().region);
        expect((await get(`/customers/lookup?email=${encodeURIComponent(emailOf.get(outside)!)}`, byRegion)).status, role).toBe(404);
        expect((await get(`/customers/lookup?email=${encodeURIComponent(emailOf.get(inCity)!)}`, byRegion)).body.customer_key).toBe(inCity);
      } else {
        // A yes/no answer to a guessed e-mail would be an oracle for a role that sees only masks.
        expect(answer.status, role).toBe(403);
        expect(answer.body.error).toMatch(/Lookup by email reads customer_profiles\.email, which this token's roles may not see/);
      }
    }
  });

  it('trigger lists and exports: brand scope is the unscoped list filtered by brand, without person columns; region scope is refused', async () => {
    for (const role of KNOWN_ROLES) {
      const open = await token(role);
      const byBrand = await token(role, scopes().brand);
      const byRegion = await token(role, scopes().region);
      if (!rolesOf('/lists/triggers').includes(role)) {
        for (const t of [open, byBrand, byRegion]) expect((await get('/lists/triggers', t)).status, role).toBe(403);
        continue;
      }
      const all = ndjson((await get('/lists/triggers/export?format=ndjson', open)).body);
      expect(all.length).toBeGreaterThan(10);
      expect(new Set(all.map((r) => r.brand)).size).toBeGreaterThan(1);
      expectNoRawContacts(all, role);
      const expected = all
        .filter((r) => r.brand === brand)
        .map(({ trigger_date, customer_key, trigger_type, priority, suggested_channel, category, brand: b, reason }) => ({
          trigger_date,
          customer_key,
          trigger_type,
          priority,
          suggested_channel,
          category,
          brand: b,
          reason,
        }));
      expect(expected.length).toBeGreaterThan(0);
      const exported = await get('/lists/triggers/export?format=ndjson', byBrand);
      expect(exported.status, role).toBe(200);
      expect(ndjson(exported.body)).toEqual(expected);
      expect(exported.headers.get('x-withheld-columns')).toMatch(/full_name/);
      const page = await get('/lists/triggers?limit=1000', byBrand);
      expect(page.body.rows).toEqual(expected);
      expect(page.body.withheld[0].reason).toMatch(/"brands" claim/);
      const csv = await get('/lists/triggers/export?format=csv', byBrand);
      expect(String(csv.body).trim().split('\r\n').length).toBe(expected.length + 1);
      // Asking for another brand explicitly gives nothing.
      const other = all.find((r) => r.brand !== brand)!.brand;
      expect((await get(`/lists/triggers?brand=${encodeURIComponent(other)}`, byBrand)).body.rows).toEqual([]);
      for (const url of ['/lists/triggers', '/lists/triggers/export?format=csv']) {
        const refused = await get(url, byRegion);
        expect(refused.status, `${role} ${url}`).toBe(403);
        expect(refused.body.error).toMatch(/cannot be scoped by the token's "regions" claim/);
      }
    }
  });

  it('segment lists and exports: region scope is the unscoped list filtered by city; brand scope is refused', async () => {
    for (const role of KNOWN_ROLES) {
      const open = await token(role);
      const byBrand = await token(role, scopes().brand);
      const byRegion = await token(role, scopes().region);
      if (!rolesOf('/lists/segments').includes(role)) {
        for (const t of [open, byBrand, byRegion]) expect((await get('/lists/segments', t)).status, role).toBe(403);
        continue;
      }
      const all = ndjson((await get('/lists/segments/export?format=ndjson', open)).body);
      expect(all.length).toBeGreaterThan(10);
      expectNoRawContacts(all, role);
      const expected = all.filter((r) => inCities(cityOf.get(String(r.customer_key))));
      expect(expected.length).toBeGreaterThan(0);
      expect(expected.length).toBeLessThan(all.length);
      expect(ndjson((await get('/lists/segments/export?format=ndjson', byRegion)).body)).toEqual(expected);
      expect((await get('/lists/segments?limit=1000', byRegion)).body.rows).toEqual(expected);
      for (const url of ['/lists/segments', '/lists/segments/export']) {
        const refused = await get(url, byBrand);
        expect(refused.status, `${role} ${url}`).toBe(403);
        expect(refused.body.error).toMatch(/cannot be scoped by the token's "brands" claim/);
      }
    }
  });

  it('scorecard and pipeline status: unscoped only, scoped tokens refused naming the claim', async () => {
    for (const role of KNOWN_ROLES) {
      for (const [url, routePath] of [
        ['/kpis/scorecard?from=2025-01-01&to=2025-03-31', '/kpis/scorecard'],
        ['/pipeline/status', '/pipeline/status'],
      ] as const) {
        const allowed = rolesOf(routePath).includes(role);
        const open = await get(url, await token(role));
        expect(open.status, `${role} ${url}: ${JSON.stringify(open.body).slice(0, 200)}`).toBe(allowed ? 200 : 403);
        for (const [claim, scope] of Object.entries({ brands: scopes().brand, regions: scopes().region })) {
          const scoped = await get(url, await token(role, scope));
          expect(scoped.status, `${role} ${url} ${claim}`).toBe(403);
          if (allowed) expect(scoped.body.error, `${role} ${url}`).toMatch(new RegExp(`"${claim}" claim`));
        }
      }
    }
  });

  it("answers as docs/access.md's table says: 403 where it says 403, data elsewhere, for every listed role", async () => {
    const rows = accessDocTable('api');
    const sample: Record<string, string> = {
      '/customers/lookup': `/customers/lookup?key=${encodeURIComponent(keys.find((k) => inCities(cityOf.get(k)))!)}`,
      '/lists/triggers': '/lists/triggers',
      '/lists/segments': '/lists/segments',
      '/kpis/scorecard': '/kpis/scorecard?from=2025-01-01&to=2025-03-31',
      '/pipeline/status': '/pipeline/status',
    };
    expect(rows.length).toBe(Object.keys(sample).length);
    for (const [pathCell, roles, open, brands, regions] of rows) {
      const routePath = /`GET \/api\/v1(\S+)`/.exec(pathCell!)![1]!;
      const url = sample[routePath]!;
      for (const role of roles!.split(', ') as Role[]) {
        for (const [scope, said] of [
          [{}, open],
          [scopes().brand, brands],
          [scopes().region, regions],
        ] as const) {
          const answer = await get(url, await token(role, scope));
          expect(answer.status, `${role} ${url} ${JSON.stringify(scope)}: docs/access.md says "${said}"`).toBe(said === '403' ? 403 : 200);
        }
      }
    }
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../api/auth.ts';
import { startApiServer, type RunningApiServer } from '../../api/server.ts';
import type { MetaResponse } from '../../semantic/meta.ts';
import { WarehouseReader } from '../../semantic/warehouse-reader.ts';
import { runPipeline } from '../../cli/pipeline.ts';
import { DEFAULT_GENERATE_OPTIONS, generateSampleData } from '../../pipelines/sources/sample-data/generate.ts';

/**
 * Access control over HTTP on a real pipeline warehouse and the project's cube/model: whatever views
 * the model holds (every cube is private: views are the public surface), a brand-scoped token sees
 * only its brands' rows through them (or is refused a cube behind a view it cannot be scoped in), a
 * region-scoped token only its cities, an analyst never a raw contact point, and the cubes' own
 * members are refused naming the member.
 */
const SECRET = 'access-control-secret-0123456789abcdef';
/** Raw contact columns of the customer record (dim_customers); their _masked/_pseudonym forms are fine. */
const RAW_CONTACT = /(^|_)(email|phone|mobile|wechat_id|qq_id)$/;
let workDir: string;
let warehousePath: string;
let api: RunningApiServer;
let reader: WarehouseReader;
const tokens: Record<string, string> = {};

async function call(route: string, token: string, query?: unknown) {
  // /sql as Cube's clients call it: GET with the query in the query string; /load as POST.
  if (route === 'sql') {
    const response = await fetch(`${api.url}/cubejs-api/v1/sql?query=${encodeURIComponent(JSON.stringify(query))}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }
  const response = await fetch(`${api.url}/cubejs-api/v1/${route}`, {
    method: query === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    ...(query === undefined ? {} : { body: JSON.stringify({ query }) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const memberNames = (meta: MetaResponse) => meta.cubes.flatMap((c) => [...c.measures, ...c.dimensions, ...c.segments].map((m) => m.name));
/** The cube member a view member exposes (views/cube.member -> cube.member). */
const behind = (member: { name: string; aliasMember?: unknown }) => String(member.aliasMember ?? member.name);
const cubeOf = (member: { name: string; aliasMember?: unknown }) => behind(member).split('.')[0]!;

/**
 * Every (view, cube behind it) of the model whose cube exposes a string dimension named like
 * `pattern` (brand, primary_brand, city, ship_city) in that view, with a measure of the same cube
 * from the same view: one query per pair, which only that cube's policy scopes.
 */
function scopedPairs(meta: MetaResponse, pattern: RegExp) {
  return meta.cubes
    .filter((view) => view.type === 'view')
    .flatMap((view) =>
      view.dimensions
        .filter((d) => d.type === 'string' && pattern.test(behind(d).split('.')[1]!))
        .flatMap((d) => {
          const measure = view.measures.find((m) => cubeOf(m) === cubeOf(d) && (m.aggType === 'count' || m.type === 'number'));
          return measure ? [{ view: view.name, cube: cubeOf(d), dimension: d.name, measure: measure.name }] : [];
        }),
    );
}

let fullMeta: MetaResponse;

beforeAll(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-access-'));
  const landingDir = path.join(workDir, 'landing');
  warehousePath = path.join(workDir, 'warehouse', 'crm.duckdb');
  await generateSampleData({ ...DEFAULT_GENERATE_OPTIONS, outDir: landingDir, seed: 5, customers: 200, orders: 1_500, malformedRate: 0 });
  const run = await runPipeline({ warehousePath, landingDir, interactive: false });
  if (!run.published) throw new Error(`the pipeline did not publish (${run.status}): ${JSON.stringify(run.run?.error ?? null)}`);
  api = await startApiServer({ warehousePath, jwtSecret: SECRET, port: 0 });
  reader = new WarehouseReader(warehousePath, { idleCloseMs: 0 });
  for (const [name, claims] of Object.entries({
    engineer: { roles: ['engineer'] },
    marketing: { roles: ['marketing'] },
    analyst: { roles: ['analyst'] },
  })) {
    tokens[name] = await signDevToken(SECRET, { sub: name, ...claims });
  }
  fullMeta = (await call('meta', tokens.marketing!)).body as unknown as MetaResponse;
}, 240_000);

afterAll(async () => {
  await api?.close();
  await reader?.close();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

describe('access control over HTTP', () => {
  it('a brand-scoped token never sees another brand through any view, and is refused the cubes behind them that are not per brand', async () => {
    const brandPairs = scopedPairs(fullMeta, /^(brand|primary_brand)$/);
    // The brands of the sample shop, from the source data itself.
    const brands = (await reader.query('SELECT DISTINCT brand FROM raw.order_items WHERE brand IS NOT NULL ORDER BY 1')).map((r) =>
      String(r.brand),
    );
    expect(brands.length).toBeGreaterThan(2);
    const scope = brands.slice(0, 2);
    const token = await signDevToken(SECRET, { sub: 'brand', roles: ['executive', 'analyst'], brands: scope });
    for (const { view, cube, dimension, measure } of brandPairs) {
      const where = `${view} (${cube})`;
      const scoped = await call('load', token, { measures: [measure], dimensions: [dimension], limit: 50_000 });
      expect(scoped.status, `${where}: ${JSON.stringify(scoped.body.error)}`).toBe(200);
      const seen = (scoped.body.data as Record<string, unknown>[]).map((row) => row[dimension]);
      expect(seen.length, `${where}: the scoped token saw no rows, so nothing was checked`).toBeGreaterThan(0);
      for (const brand of seen) expect(scope, `${where} leaked brand ${String(brand)}`).toContain(brand);
      // Also when asking for another brand explicitly: nothing comes back.
      const other = await call('load', token, {
        measures: [measure],
        dimensions: [dimension],
        filters: [{ member: dimension, operator: 'equals', values: [brands[2]!] }],
      });
      expect(other.body.data, where).toEqual([]);
    }
    // Orders through both the analysts' and the executives' view, and every other per-brand cube through its view.
    expect(brandPairs.map((p) => `${p.view} (${p.cube})`)).toEqual(
      expect.arrayContaining([
        'sales_overview (orders)',
        'executive_kpis (orders)',
        'product_sales (order_items)',
        'campaign_lists (customer_triggers)',
        'service_quality (service_tickets)',
        'public_opinion (opinion_mentions)',
        'public_opinion_daily (opinion_daily)',
      ]),
    );
    // Cubes without a brand cannot be scoped: a view measure on one is refused with a 403 naming the cube.
    const brandCubes = new Set(brandPairs.map((p) => p.cube));
    const unscopable = new Map<string, string>(); // cube -> one view measure on it
    for (const view of fullMeta.cubes) {
      for (const m of view.measures) if (!brandCubes.has(cubeOf(m)) && !unscopable.has(cubeOf(m))) unscopable.set(cubeOf(m), m.name);
    }
    expect([...unscopable.keys()]).toEqual(expect.arrayContaining(['customers', 'customer_profiles', 'kpi_periods']));
    for (const [cube, measure] of unscopable) {
      const refused = await call('load', token, { measures: [measure] });
      expect(refused.status, `${measure} (${cube})`).toBe(403);
      expect(String(refused.body.error)).toMatch(
        new RegExp(
          `the cube '${cube}' cannot be scoped by the token's "brands" claim \\(no access policy of it applies to roles \\[executive, analyst\\], brands \\[`,
        ),
      );
    }
    // Orders sliced by the customer's RFM code need customers too: refused, naming customers.
    const joined = await call('load', token, { measures: ['sales_overview.revenue'], dimensions: ['sales_overview.customers_rfm_score'] });
    expect(joined.status).toBe(403);
    expect(String(joined.body.error)).toContain(`the cube 'customers' cannot be scoped by the token's "brands" claim`);
    // /meta shows the scoped token only what it may query: no view member on an unscopable cube.
    const meta = (await call('meta', token)).body as unknown as MetaResponse;
    const visible = meta.cubes.flatMap((c) => [...c.measures, ...c.dimensions, ...c.segments]);
    expect(visible.length).toBeGreaterThan(0);
    expect(visible.filter((m) => unscopable.has(cubeOf(m))).map((m) => m.name)).toEqual([]);
  });

  it('a region-scoped token sees only its cities through every view', async () => {
    const cities = (
      await reader.query('SELECT city FROM marts.customer_value WHERE city IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1')
    ).map((r) => String(r.city));
    const scope = cities.slice(0, 1);
    const token = await signDevToken(SECRET, { sub: 'region', roles: ['analyst'], regions: scope });
    const regionPairs = scopedPairs(fullMeta, /^(city|ship_city)$/);
    expect(regionPairs.map((p) => `${p.view} (${p.cube})`)).toEqual(
      expect.arrayContaining([
        'customer_value (customers)',
        'sales_overview (orders)',
        'product_sales (order_items)',
        'customer_contacts (customer_profiles)',
      ]),
    );
    for (const { view, cube, dimension, measure } of regionPairs) {
      const scoped = await call('load', token, { measures: [measure], dimensions: [dimension], limit: 50_000 });
      expect(scoped.status, `${view} (${cube}): ${JSON.stringify(scoped.body.error)}`).toBe(200);
      const seen = (scoped.body.data as Record<string, unknown>[]).map((row) => row[dimension]);
      expect(seen.length, `${view} (${cube})`).toBeGreaterThan(0);
      for (const city of seen) expect(scope, `${view} (${cube}) leaked city ${String(city)}`).toContain(city);
    }
    // The count through a view equals the customers of that city in the mart.
    const [expected] = await reader.query('SELECT count(*) AS n FROM marts.customer_value WHERE city = ?', [scope[0]]);
    const viaView = await call('load', token, { measures: ['customer_value.count'] });
    expect((viaView.body.data as Record<string, unknown>[])[0]!['customer_value.count']).toBe(String(expected!.n));
    // Orders sliced by the customer's city: both cubes' filters hold (shipped to the city, by a customer of it).
    const [both] = await reader.query(
      `SELECT count(*) AS n FROM marts.fct_orders o JOIN marts.customer_value c ON o.customer_key = c.customer_key
       WHERE o.ship_city = ? AND c.city = ?`,
      [scope[0], scope[0]],
    );
    expect(Number(both!.n)).toBeGreaterThan(0);
    const joined = await call('load', token, { measures: ['sales_overview.count'], dimensions: ['sales_overview.customers_city'] });
    expect(joined.status, JSON.stringify(joined.body.error)).toBe(200);
    expect(joined.body.data).toEqual([{ 'sales_overview.customers_city': scope[0], 'sales_overview.count': String(both!.n) }]);
  });

  it('the orders and customers cubes are private: each of their members is a 400 naming it, for any token', async () => {
    // The cube members behind the views' members, by kind (the cubes themselves are not in /meta).
    const kinds = { measures: 'measures', dimensions: 'dimensions', segments: 'segments' } as const;
    const cubeMembers = new Map<string, keyof typeof kinds>();
    for (const view of fullMeta.cubes) {
      for (const kind of Object.keys(kinds) as (keyof typeof kinds)[]) {
        for (const m of view[kind]) if (['orders', 'customers'].includes(cubeOf(m))) cubeMembers.set(behind(m), kind);
      }
    }
    expect(fullMeta.cubes.map((c) => c.name)).not.toContain('orders');
    expect(fullMeta.cubes.map((c) => c.name)).not.toContain('customers');
    expect(fullMeta.cubes.filter((c) => c.type !== 'view').map((c) => c.name)).toEqual([]);
    expect([...cubeMembers.keys()]).toEqual(
      expect.arrayContaining([
        'orders.count',
        'orders.revenue',
        'orders.primary_brand',
        'orders.ship_city',
        'customers.count',
        'customers.city',
      ]),
    );
    const scoped = await signDevToken(SECRET, { sub: 'scoped', roles: ['executive'], brands: ['x'], regions: ['y'] });
    for (const token of [tokens.analyst!, tokens.marketing!, scoped]) {
      for (const [member, kind] of cubeMembers) {
        const refused = await call(
          'load',
          token,
          kind === 'measures' ? { measures: [member] } : { measures: ['sales_overview.count'], [kind]: [member] },
        );
        expect([refused.status, refused.body.error], member).toEqual([
          400,
          expect.stringContaining(`You requested hidden member: '${member}'`),
        ]);
      }
      // Filtering or ordering on them does not reach them either.
      const filtered = await call('load', token, {
        measures: ['sales_overview.count'],
        filters: [{ member: 'orders.primary_brand', operator: 'equals', values: ['x'] }],
      });
      expect([filtered.status, filtered.body.error]).toEqual([400, expect.stringContaining("hidden member: 'orders.primary_brand'")]);
      const ordered = await call('load', token, { measures: ['customer_value.count'], order: { 'customers.city': 'asc' } });
      expect([ordered.status, ordered.body.error]).toEqual([400, expect.stringContaining("hidden member: 'customers.city'")]);
      const sql = await call('sql', token, { measures: ['orders.revenue'] });
      expect([sql.status, sql.body.error]).toEqual([400, expect.stringContaining("hidden member: 'orders.revenue'")]);
    }
  });

  it('an analyst never sees a raw contact point: not in /meta, not in /load, not in /sql', async () => {
    const contactMembers = memberNames(fullMeta).filter((name) => RAW_CONTACT.test(name.split('.')[1]!));
    const martHasContacts =
      (await reader.query(`SELECT count(*) AS n FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name = 'dim_customers'`))[0]!
        .n !== '0';
    // Once dim_customers exists, its cube must expose the contact points to the roles allowed to see them.
    if (martHasContacts) expect(contactMembers.length).toBeGreaterThan(0);
    const analystMeta = (await call('meta', tokens.analyst!)).body as unknown as MetaResponse;
    for (const member of contactMembers) {
      expect(memberNames(analystMeta)).not.toContain(member);
      const refused = await call('load', tokens.analyst!, { dimensions: [member], limit: 5 });
      expect(refused.status, member).toBe(403);
      // A view member is refused naming the cube member behind it (the cube's policy decides).
      expect(String(refused.body.error)).toMatch(new RegExp(`Access denied to member '[a-z_]+\\.${member.split('.')[1]!}'`));
      const filtered = await call('load', tokens.analyst!, {
        measures: [fullMeta.cubes.find((c) => c.name === member.split('.')[0])!.measures[0]!.name],
        filters: [{ member, operator: 'contains', values: ['@'] }],
      });
      expect(filtered.status, `filter on ${member}`).toBe(403);
      const sql = await call('sql', tokens.analyst!, { dimensions: [member] });
      if (sql.status !== 404) expect(sql.status, `/sql ${member}`).toBe(403);
      // The roles allowed to contact customers do get them.
      expect((await call('load', tokens.marketing!, { dimensions: [member], limit: 5 })).status).toBe(200);
    }
    // Whatever the analyst may query, the SQL behind it never reads a raw contact column.
    const sqlRoute = await call('sql', tokens.analyst!, { measures: [analystMeta.cubes[0]!.measures[0]!.name] });
    if (sqlRoute.status !== 404) {
      for (const cube of analystMeta.cubes) {
        // A view may expose cubes that are not joined (customer_value, executive_kpis): one query per
        // cube behind the view's members.
        const bySource = new Map<string, string[]>();
        for (const d of cube.dimensions.filter((dim) => dim.type !== 'time')) {
          const source = String((d as { aliasMember?: string }).aliasMember ?? d.name).split('.')[0]!;
          bySource.set(source, [...(bySource.get(source) ?? []), d.name]);
        }
        for (const dimensions of bySource.values()) {
          const sql = await call('sql', tokens.analyst!, { dimensions });
          expect(sql.status, cube.name).toBe(200);
          expect(JSON.stringify(sql.body)).not.toMatch(/\."?(email|phone|mobile|wechat_id|qq_id)"?\b(?!_)/);
        }
      }
    }
  });

  it('refuses tokens with unknown roles or malformed scopes, naming the claim', async () => {
    const badRole = await call('load', await signDevToken(SECRET, { roles: ['admin'] }), { measures: ['sales_overview.count'] });
    expect(badRole.status).toBe(403);
    expect(String(badRole.body.error)).toMatch(/unknown role "admin"/);
    const badScope = await call('meta', await signDevToken(SECRET, { roles: ['analyst'], brands: [] }));
    expect(badScope.status).toBe(403);
    expect(String(badScope.body.error)).toMatch(/"brands" is an empty list/);
  });
});

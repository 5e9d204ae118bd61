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
 * Access control over HTTP on a real pipeline warehouse and the project's cube/model: whatever cubes
 * the model holds, a brand-scoped token sees only its brands' rows (or is refused a cube it cannot
 * be scoped in), a region-scoped token only its cities, and an analyst never a raw contact point.
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
/** Every cube (not view) of the full model with a dimension called like `suffix` (brand, city, ship_city). */
function cubesWith(meta: MetaResponse, pattern: RegExp) {
  return meta.cubes
    .filter((c) => c.type === 'cube')
    .flatMap((c) => {
      const dimension = c.dimensions.find((d) => pattern.test(d.name.split('.')[1]!) && d.type === 'string');
      const measure = c.measures.find((m) => m.aggType === 'count' || m.type === 'number');
      return dimension && measure ? [{ cube: c.name, dimension: dimension.name, measure: measure.name }] : [];
    });
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
  it('a brand-scoped token never sees another brand, and is refused cubes that are not per brand', async () => {
    const brandCubes = cubesWith(fullMeta, /^(brand|primary_brand)$/);
    // The brands of the sample shop, from the source data itself.
    const brands = (await reader.query('SELECT DISTINCT brand FROM raw.order_items WHERE brand IS NOT NULL ORDER BY 1')).map((r) =>
      String(r.brand),
    );
    expect(brands.length).toBeGreaterThan(2);
    const scope = brands.slice(0, 2);
    const token = await signDevToken(SECRET, { sub: 'brand', roles: ['executive', 'analyst'], brands: scope });
    for (const { cube, dimension, measure } of brandCubes) {
      const scoped = await call('load', token, { measures: [measure], dimensions: [dimension], limit: 50_000 });
      expect(scoped.status, `${cube}: ${JSON.stringify(scoped.body.error)}`).toBe(200);
      const seen = (scoped.body.data as Record<string, unknown>[]).map((row) => row[dimension]);
      expect(seen.length, `${cube}: the scoped token saw no rows, so nothing was checked`).toBeGreaterThan(0);
      for (const brand of seen) expect(scope, `${cube} leaked brand ${String(brand)}`).toContain(brand);
      // Also when asking for another brand explicitly: nothing comes back.
      const other = await call('load', token, {
        measures: [measure],
        dimensions: [dimension],
        filters: [{ member: dimension, operator: 'equals', values: [brands[2]!] }],
      });
      expect(other.body.data).toEqual([]);
    }
    // Cubes without a brand cannot be scoped: refused with a 403 that says why.
    const unscopable = fullMeta.cubes.filter((c) => c.type === 'cube' && !brandCubes.some((b) => b.cube === c.name));
    expect(unscopable.map((c) => c.name)).toEqual(expect.arrayContaining(['customers']));
    // The other per-brand cubes are private (views are the public surface); their scoping through
    // views is checked by pre-aggregations.test.ts (public_opinion) and decision-scopes.test.ts.
    expect(brandCubes.map((c) => c.cube)).toEqual(expect.arrayContaining(['orders']));
    for (const cube of unscopable) {
      const measure = cube.measures[0]!.name;
      const refused = await call('load', token, { measures: [measure] });
      expect(refused.status, cube.name).toBe(403);
      expect(String(refused.body.error)).toMatch(
        new RegExp(
          `the cube '${cube.name}' cannot be scoped by the token's "brands" claim \\(no access policy of it applies to roles \\[executive, analyst\\], brands \\[`,
        ),
      );
    }
    // /meta shows the scoped token only what it may query.
    const meta = (await call('meta', token)).body as unknown as MetaResponse;
    for (const cube of unscopable) expect(memberNames(meta).some((m) => m.startsWith(`${cube.name}.`))).toBe(false);
  });

  it('a region-scoped token sees only its cities', async () => {
    const cities = (
      await reader.query('SELECT city FROM marts.customer_value WHERE city IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1')
    ).map((r) => String(r.city));
    const scope = cities.slice(0, 1);
    const token = await signDevToken(SECRET, { sub: 'region', roles: ['analyst'], regions: scope });
    const regionCubes = cubesWith(fullMeta, /^(city|ship_city)$/);
    expect(regionCubes.map((c) => c.cube)).toEqual(expect.arrayContaining(['customers', 'orders']));
    for (const { cube, dimension, measure } of regionCubes) {
      const scoped = await call('load', token, { measures: [measure], dimensions: [dimension], limit: 50_000 });
      expect(scoped.status, `${cube}: ${JSON.stringify(scoped.body.error)}`).toBe(200);
      const seen = (scoped.body.data as Record<string, unknown>[]).map((row) => row[dimension]);
      expect(seen.length).toBeGreaterThan(0);
      for (const city of seen) expect(scope).toContain(city);
    }
    // Through a view too: the count equals the customers of that city in the mart.
    const [expected] = await reader.query('SELECT count(*) AS n FROM marts.customer_value WHERE city = ?', [scope[0]]);
    const viaView = await call('load', token, { measures: ['customer_value.count'] });
    expect((viaView.body.data as Record<string, unknown>[])[0]!['customer_value.count']).toBe(String(expected!.n));
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
    const badRole = await call('load', await signDevToken(SECRET, { roles: ['admin'] }), { measures: ['orders.count'] });
    expect(badRole.status).toBe(403);
    expect(String(badRole.body.error)).toMatch(/unknown role "admin"/);
    const badScope = await call('meta', await signDevToken(SECRET, { roles: ['analyst'], brands: [] }));
    expect(badScope.status).toBe(403);
    expect(String(badScope.body.error)).toMatch(/"brands" is an empty list/);
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessContextFromClaims, accessContextFromToken, accessControlFor, type AccessContext } from '../../semantic/access-control.ts';
import { normalizeQuery } from '../../semantic/normalize-query.ts';
import { compileSemanticModel, type SemanticModel } from '../../semantic/semantic-model.ts';
import { cubeModelDir } from '../../shared/paths.ts';
import { buildSecuredSql } from '../../semantic/secured-sql.ts';

/**
 * The policy engine over Cube's real compiler: a small model written here (items with brand and
 * city, profiles with raw and masked contact points, a view over both) and the project's own
 * cube/model. Rows come from an in-memory DuckDB, so the row-level filters are checked on data.
 */

const SCOPED = `
    access_policy:
      - group: "*"
        conditions:
          - if: "{ not securityContext.brands }"
          - if: "{ not securityContext.regions }"
        row_level:
          allow_all: true
      - group: "*"
        conditions:
          - if: "{ not not securityContext.brands }"
          - if: "{ not securityContext.regions }"
        row_level:
          filters:
            - member: brand
              operator: equals
              values: "{ securityContext.brands }"
      - group: "*"
        conditions:
          - if: "{ not not securityContext.brands }"
          - if: "{ not not securityContext.regions }"
        row_level:
          filters:
            - member: brand
              operator: equals
              values: "{ securityContext.brands }"
            - member: city
              operator: equals
              values: "{ securityContext.regions }"
`;

const MODEL = `
cubes:
  - name: items
    sql_table: t.items
    joins:
      - name: profiles
        relationship: many_to_one
        sql: "{CUBE}.customer_key = {profiles}.customer_key"
    measures:
      - name: revenue
        type: sum
        sql: amount
    dimensions:
      - name: line_id
        sql: line_id
        type: number
        primary_key: true
      - name: brand
        sql: brand
        type: string
      - name: city
        sql: city
        type: string
${SCOPED}
  - name: profiles
    sql_table: t.profiles
    measures:
      - name: count
        type: count
    dimensions:
      - name: customer_key
        sql: customer_key
        type: string
        primary_key: true
        public: true
      - name: email
        sql: email
        type: string
      - name: email_masked
        sql: email_masked
        type: string
      - name: phone
        sql: phone
        type: string
        mask:
          sql: "{CUBE}.phone_masked"
    access_policy:
      - group: "*"
        conditions:
          - if: "{ not securityContext.brands }"
        member_level:
          excludes: [email, phone]
        member_masking:
          includes: [phone]
        row_level:
          allow_all: true
      - groups: [marketing, service_agent]
        conditions:
          - if: "{ not securityContext.brands }"
        member_level:
          includes: "*"
        row_level:
          allow_all: true
views:
  - name: sales
    cubes:
      - join_path: items
        includes: [revenue, brand]
      - join_path: items.profiles
        prefix: true
        includes: [email, email_masked]
`;

let dir: string;
let model: SemanticModel;
let instance: DuckDBInstance;

const ctx = (claims: Record<string, unknown>): AccessContext => accessContextFromClaims(claims);

async function rows(query: Record<string, unknown>, claims: Record<string, unknown>) {
  // buildSql enforces the policies itself (every endpoint builds its SQL through it).
  const { sql, params, aliasNameToMember } = buildSecuredSql(model, normalizeQuery(query), { securityContext: claims });
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(sql, params as never);
    return {
      sql,
      data: reader
        .getRowObjectsJson()
        .map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [aliasNameToMember[k] ?? k, v]))),
    };
  } finally {
    connection.closeSync();
  }
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'access-control-'));
  fs.writeFileSync(path.join(dir, 'model.yml'), MODEL);
  model = await compileSemanticModel(dir);
  instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await connection.run(`
    CREATE SCHEMA t;
    CREATE TABLE t.items AS SELECT * FROM (VALUES
      (1, 'c1', 'acme', 'Shanghai', 10.0), (2, 'c1', 'zen', 'Shanghai', 20.0),
      (3, 'c2', 'acme', 'Beijing', 30.0), (4, 'c2', 'nova', 'Beijing', 40.0)) v(line_id, customer_key, brand, city, amount);
    CREATE TABLE t.profiles AS SELECT * FROM (VALUES
      ('c1', 'a@x.cn', 'a***@x.cn', '13800000001', '138****0001'),
      ('c2', 'b@y.cn', 'b***@y.cn', '13900000002', '139****0002')) v(customer_key, email, email_masked, phone, phone_masked);
  `);
  connection.closeSync();
});

afterAll(() => {
  instance?.closeSync();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('access claims', () => {
  it('reads roles (or the single role claim), brands and regions', () => {
    expect(ctx({ sub: 'u', roles: ['analyst', 'marketing'], brands: 'acme' })).toMatchObject({
      roles: ['analyst', 'marketing'],
      brands: ['acme'],
    });
    expect(ctx({ role: 'analyst' }).roles).toEqual(['analyst']);
    expect(ctx({ roles: 'analyst' }).roles).toEqual(['analyst']);
    expect(ctx({ roles: ['analyst'], role: 'analyst' }).roles).toEqual(['analyst']);
  });

  it('requires roles of a token: one without any is refused with a 403 naming the claim', () => {
    for (const claims of [{}, { roles: null }, { sub: 'u', brands: ['acme'] }]) {
      expect(() => accessContextFromToken(claims)).toThrow(/the token carries no roles; give "roles"/);
    }
    for (const bad of ['', false, 0, [''], ['  ']]) expect(() => ctx({ roles: ['analyst'], brands: bad })).toThrow(/"brands"/);
  });

  it('rejects unknown roles and malformed scopes with a 403 naming the claim', () => {
    expect(() => ctx({ roles: ['admin'] })).toThrow(/unknown role "admin" \(known roles: executive, analyst/);
    expect(() => ctx({ roles: ['analyst'], brands: [] })).toThrow(/"brands" is an empty list/);
    expect(() => ctx({ roles: ['analyst'], regions: [1] })).toThrow(/"regions" must be a non-empty string or an array/);
    try {
      ctx({ roles: ['root'] });
    } catch (error) {
      expect((error as { statusCode: number }).statusCode).toBe(403);
    }
  });
});

describe('row-level policies', () => {
  it('lets an unscoped token see every brand', async () => {
    const { data } = await rows(
      { measures: ['items.revenue'], dimensions: ['items.brand'], order: { 'items.brand': 'asc' } },
      { roles: ['analyst'] },
    );
    expect(data.map((r) => r['items.brand'])).toEqual(['acme', 'nova', 'zen']);
  });

  it('scopes a brand-scoped token to its brands, also through a view and with its own filters', async () => {
    const claims = { roles: ['analyst'], brands: ['acme', 'zen'] };
    const direct = await rows({ measures: ['items.revenue'], dimensions: ['items.brand'], order: { 'items.brand': 'asc' } }, claims);
    expect(direct.data).toEqual([
      { 'items.brand': 'acme', 'items.revenue': '40.0' },
      { 'items.brand': 'zen', 'items.revenue': '20.0' },
    ]);
    const total = await rows({ measures: ['sales.revenue'] }, claims);
    expect(total.data).toEqual([{ 'sales.revenue': '60.0' }]);
    // An OR in the caller's own filters cannot widen the scope: the policy filter is ANDed on top.
    const widened = await rows(
      {
        measures: ['items.revenue'],
        filters: [
          {
            or: [
              { member: 'items.brand', operator: 'equals', values: ['nova'] },
              { member: 'items.brand', operator: 'set' },
            ],
          },
        ],
      },
      claims,
    );
    expect(widened.data).toEqual([{ 'items.revenue': '60.0' }]);
  });

  it('ANDs brand and region scopes', async () => {
    const { data } = await rows({ measures: ['items.revenue'] }, { roles: ['executive'], brands: ['acme'], regions: ['Beijing'] });
    expect(data).toEqual([{ 'items.revenue': '30.0' }]);
  });

  it('denies a cube no policy applies to, with a 403 that names it and the scope', () => {
    const query = normalizeQuery({ measures: ['profiles.count'] });
    expect(() => accessControlFor(model).rewriteQuery(query, ctx({ roles: ['marketing'], brands: ['acme'] }))).toThrow(
      /Access denied: the cube 'profiles' cannot be scoped by the token's "brands" claim \(no access policy of it applies to roles \[marketing\], brands \[acme\]\)/,
    );
  });
});

describe('member-level policies', () => {
  it('refuses raw contact points to an analyst, directly and through a view, with a 403', () => {
    const control = accessControlFor(model);
    for (const query of [
      { dimensions: ['profiles.email'] },
      { measures: ['profiles.count'], filters: [{ member: 'profiles.email', operator: 'contains', values: ['@'] }] },
      { dimensions: ['sales.profiles_email'] },
    ]) {
      let caught: unknown;
      try {
        control.rewriteQuery(normalizeQuery(query), ctx({ roles: ['analyst'] }));
      } catch (error) {
        caught = error;
      }
      expect((caught as { statusCode?: number }).statusCode).toBe(403);
      expect((caught as Error).message).toMatch(
        /Access denied to member '(profiles|sales)\.(profiles_)?email': the access policy of '(profiles|sales)' does not let this token \(roles \[analyst\]\) query it/,
      );
    }
  });

  it('gives masked contact points to an analyst: the SQL reads the masked column only', async () => {
    const { sql, data } = await rows({ dimensions: ['profiles.phone'], order: { 'profiles.phone': 'asc' } }, { roles: ['analyst'] });
    expect(data.map((r) => r['profiles.phone'])).toEqual(['138****0001', '139****0002']);
    expect(sql).not.toMatch(/\.phone\b(?!_masked)/);
    const masked = await rows({ dimensions: ['profiles.email_masked'], order: { 'profiles.email_masked': 'asc' } }, { roles: ['analyst'] });
    expect(masked.data.map((r) => r['profiles.email_masked'])).toEqual(['a***@x.cn', 'b***@y.cn']);
  });

  it('shows raw contact points to the contact roles', async () => {
    const { data } = await rows(
      { dimensions: ['profiles.email', 'profiles.phone'], order: { 'profiles.email': 'asc' } },
      { roles: ['analyst', 'marketing'] },
    );
    expect(data).toEqual([
      { 'profiles.email': 'a@x.cn', 'profiles.phone': '13800000001' },
      { 'profiles.email': 'b@y.cn', 'profiles.phone': '13900000002' },
    ]);
  });

  it('hides what a caller may not query from /meta, views included', () => {
    const control = accessControlFor(model);
    const names = (claims: Record<string, unknown>) =>
      control.metaFor(model.meta, ctx(claims)).cubes.flatMap((c) => [...c.measures, ...c.dimensions, ...c.segments].map((m) => m.name));
    const analyst = names({ roles: ['analyst'] });
    expect(analyst).toEqual(
      expect.arrayContaining(['profiles.email_masked', 'profiles.phone', 'sales.profiles_email_masked', 'items.brand']),
    );
    expect(analyst).not.toContain('profiles.email');
    expect(analyst).not.toContain('sales.profiles_email');
    expect(names({ roles: ['service_agent'] })).toEqual(expect.arrayContaining(['profiles.email', 'sales.profiles_email']));
    // Brand-scoped: profiles is out of reach entirely, so its members (and the view's) disappear.
    const scoped = names({ roles: ['marketing'], brands: ['acme'] });
    expect(scoped.filter((n) => n.startsWith('profiles.'))).toEqual([]);
    expect(scoped).toContain('items.revenue');
  });
});

describe("the project's cube/model", () => {
  it('compiles its access policies: customers by region, orders by primary brand and ship-to city, through the views', async () => {
    const project = await compileSemanticModel(cubeModelDir);
    const control = accessControlFor(project);
    expect(control.enabled).toBe(true);
    // The cubes are private; their views keep the cubes' row-level filters (on the cube members behind them).
    const scoped = control.rewriteQuery(
      normalizeQuery({ measures: ['customer_value.count'] }),
      ctx({ roles: ['analyst'], regions: ['Shanghai'] }),
    );
    expect(scoped.query.filters).toEqual([{ member: 'customers.city', operator: 'equals', values: ['Shanghai'] }]);
    const open = control.rewriteQuery(normalizeQuery({ measures: ['customer_value.count'] }), ctx({ roles: ['analyst'] }));
    expect(open.query.filters).toEqual([]);
    const orders = control.rewriteQuery(
      normalizeQuery({ measures: ['sales_overview.revenue'] }),
      ctx({ roles: ['executive'], brands: ['acme'], regions: ['Beijing'] }),
    );
    expect(orders.query.filters).toEqual([
      {
        and: [
          { member: 'orders.primary_brand', operator: 'equals', values: ['acme'] },
          { member: 'orders.ship_city', operator: 'equals', values: ['Beijing'] },
        ],
      },
    ]);
    const executive = control.rewriteQuery(
      normalizeQuery({ measures: ['executive_kpis.revenue'] }),
      ctx({ roles: ['executive'], brands: ['acme'] }),
    );
    expect(executive.query.filters).toEqual([{ member: 'orders.primary_brand', operator: 'equals', values: ['acme'] }]);
    // Orders sliced by the customer's city: both cubes' filters, ANDed.
    const joined = control.rewriteQuery(
      normalizeQuery({ measures: ['sales_overview.revenue'], dimensions: ['sales_overview.customers_city'] }),
      ctx({ roles: ['analyst'], regions: ['Beijing'] }),
    );
    expect(joined.query.filters).toEqual([
      {
        and: [
          { member: 'orders.ship_city', operator: 'equals', values: ['Beijing'] },
          { member: 'customers.city', operator: 'equals', values: ['Beijing'] },
        ],
      },
    ]);
    // Customers are not per brand: a brand-scoped token is refused them, through either view.
    expect(() =>
      control.rewriteQuery(normalizeQuery({ measures: ['customer_value.count'] }), ctx({ roles: ['executive'], brands: ['acme'] })),
    ).toThrow(/the cube 'customers' cannot be scoped by the token's "brands" claim/);
    expect(() =>
      control.rewriteQuery(
        normalizeQuery({ measures: ['sales_overview.revenue'], dimensions: ['sales_overview.customers_rfm_score'] }),
        ctx({ roles: ['executive'], brands: ['acme'] }),
      ),
    ).toThrow(/the cube 'customers' cannot be scoped by the token's "brands" claim/);
  });
});

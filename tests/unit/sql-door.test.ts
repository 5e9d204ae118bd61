import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import pg from 'pg';
import { parse as parseBackend, serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../api/auth.ts';
import { startApiServer, type RunningApiServer } from '../../api/server.ts';
import { startSqlDoor } from '../../api/sql/server.ts';
import { loadSemanticModel } from '../../semantic/semantic-model.ts';
import { cubeModelDir } from '../../shared/paths.ts';
import { projectRoot } from '../../shared/paths.ts';
import { createDecisionWarehouse } from '../support/decision-fixture.ts';

/**
 * The SQL door (api/sql/) with real clients against a real server on 127.0.0.1 port 0: the pg
 * Node client, psql (Debian's /usr/bin/psql) and Python's psycopg + SQLAlchemy (in a small venv
 * of their own under .test-artifacts/, pinned by tests/support/sql-clients-requirements.txt, since
 * the project venv is dbt's). Every answer is compared with the same semantic query over REST.
 */

const run = promisify(execFile);
const SECRET = 'unit-test-secret-sql-door-0123456789';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-sql-door-'));
let server: RunningApiServer;
let analyst: string;
let antaAnalyst: string;
let marketing: string;
let port: number;

beforeAll(async () => {
  const warehousePath = await createDecisionWarehouse(path.join(tmp, 'crm.duckdb'));
  // Anta's orders, so a brand-scoped token has rows of its own and others it must not see.
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(warehousePath);
  const connection = await instance.connect();
  await connection.run(`UPDATE marts.fct_orders SET primary_brand = 'Anta' WHERE order_id IN ('o2', 'o5')`);
  connection.closeSync();
  instance.closeSync();
  server = await startApiServer({ warehousePath, jwtSecret: SECRET, port: 0, sqlPort: 0, dashboardDir: false, cacheEntries: 100 });
  port = server.sql!.port;
  analyst = await signDevToken(SECRET, { sub: 'analyst@example.com', roles: ['analyst'] });
  antaAnalyst = await signDevToken(SECRET, { sub: 'anta@example.com', roles: ['analyst'], brands: ['Anta'] });
  marketing = await signDevToken(SECRET, { sub: 'mkt@example.com', roles: ['marketing'] });
}, 120_000);

afterAll(async () => {
  await server?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function client(token: string) {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'analyst', database: 'crm', password: token });
  await c.connect();
  return c;
}

async function rest(token: string, query: unknown) {
  const response = await fetch(`${server.url}/cubejs-api/v1/load`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: Record<string, unknown>[] }).data;
}

describe('the pg Node client (extended protocol)', () => {
  it('answers a grouped query with the same numbers as the same semantic query over REST, typed', async () => {
    const c = await client(analyst);
    try {
      const result = await c.query(
        'SELECT order_status, MEASURE(revenue) AS revenue, COUNT(*) AS orders FROM sales_overview WHERE order_status IN ($1, $2, $3) GROUP BY 1 ORDER BY 1',
        ['completed', 'paid', 'cancelled'],
      );
      const viaRest = await rest(analyst, {
        measures: ['sales_overview.revenue', 'sales_overview.count'],
        dimensions: ['sales_overview.order_status'],
        filters: [{ member: 'sales_overview.order_status', operator: 'in', values: ['completed', 'paid', 'cancelled'] }],
        order: [['sales_overview.order_status', 'asc']],
        limit: 50_000,
        timezone: 'UTC',
      });
      expect(result.rows).toEqual(
        viaRest.map((r) => ({
          order_status: r['sales_overview.order_status'],
          revenue: String(r['sales_overview.revenue']),
          orders: String(r['sales_overview.count']),
        })),
      );
      expect(result.rows.map((r) => r.order_status)).toEqual(['cancelled', 'completed', 'paid']);
      expect(result.fields.map((f) => [f.name, f.dataTypeID])).toEqual([
        ['order_status', 25],
        ['revenue', 1700],
        ['orders', 20],
      ]);
    } finally {
      await c.end();
    }
  });

  it('DATE_TRUNC is a time dimension with a granularity, HAVING a measure filter, in the session time zone', async () => {
    const c = await client(analyst);
    try {
      await c.query(`SET TIME ZONE 'Asia/Shanghai'`);
      const sql = `SELECT DATE_TRUNC('month', ordered_at) AS month, MEASURE(revenue) AS revenue FROM sales_overview
        WHERE ordered_at >= '2025-01-01' GROUP BY 1 HAVING MEASURE(revenue) > 50 ORDER BY 1`;
      const result = await c.query({ text: sql, rowMode: 'array', types: { getTypeParser: () => (v: string) => v } as any });
      const viaRest = await rest(analyst, {
        measures: ['sales_overview.revenue'],
        timeDimensions: [{ dimension: 'sales_overview.ordered_at', granularity: 'month' }],
        filters: [
          { member: 'sales_overview.ordered_at', operator: 'gte', values: ['2025-01-01'] },
          { member: 'sales_overview.revenue', operator: 'gt', values: ['50'] },
        ],
        order: [['sales_overview.ordered_at', 'asc']],
        limit: 50_000,
        timezone: 'Asia/Shanghai',
      });
      expect(result.rows).toEqual(
        viaRest.map((r) => [
          String(r['sales_overview.ordered_at.month']).replace('T', ' ').replace('.000', ''),
          String(r['sales_overview.revenue']),
        ]),
      );
      // Shanghai months: o2 (Jan 31 17:00 UTC) is February there.
      expect(result.rows[0]).toEqual(['2025-01-01 00:00:00', '120']);
      expect((await c.query('SHOW timezone')).rows).toEqual([{ timezone: 'Asia/Shanghai' }]);
    } finally {
      await c.end();
    }
  });

  it('ORDER BY a DATE_TRUNC column orders by that time dimension', async () => {
    const c = await client(analyst);
    try {
      const result = await c.query({
        text: `SELECT order_status, DATE_TRUNC('month', ordered_at) AS m, MEASURE(count) AS n FROM sales_overview GROUP BY 1, 2 ORDER BY m DESC, order_status`,
        rowMode: 'array',
        types: { getTypeParser: () => (v: string) => v } as any,
      });
      expect(result.rows).toEqual([
        ['completed', '2025-03-01 00:00:00', '1'],
        ['cancelled', '2025-02-01 00:00:00', '1'],
        ['completed', '2025-02-01 00:00:00', '2'],
        ['refunded', '2025-02-01 00:00:00', '1'],
        ['completed', '2025-01-01 00:00:00', '1'],
        ['paid', '2025-01-01 00:00:00', '1'],
        ['shipped', '2025-01-01 00:00:00', '1'],
      ]);
    } finally {
      await c.end();
    }
  });

  it('a segment in WHERE is the Cube segment a REST client sends', async () => {
    const c = await client(analyst);
    try {
      const result = await c.query('SELECT MEASURE(count) AS n FROM sales_overview WHERE valid_sales');
      const viaRest = await rest(analyst, {
        measures: ['sales_overview.count'],
        segments: ['sales_overview.valid_sales'],
        limit: 50_000,
        timezone: 'UTC',
      });
      expect(result.rows).toEqual([{ n: String(viaRest[0]!['sales_overview.count']) }]);
      // The six valid sales of the eight orders (o4 cancelled, o6 refunded).
      expect(result.rows).toEqual([{ n: '6' }]);
    } finally {
      await c.end();
    }
  });

  it('a time range in WHERE is the dateRange a REST client sends', async () => {
    const c = await client(analyst);
    try {
      const result = await c.query(
        `SELECT MEASURE(revenue) AS revenue, MEASURE(count) AS n FROM sales_overview WHERE ordered_at >= '2025-02-01' AND ordered_at < '2025-03-01'`,
      );
      const viaRest = await rest(analyst, {
        measures: ['sales_overview.revenue', 'sales_overview.count'],
        timeDimensions: [{ dimension: 'sales_overview.ordered_at', dateRange: ['2025-02-01T00:00:00.000', '2025-02-28T23:59:59.999'] }],
        limit: 50_000,
        timezone: 'UTC',
      });
      expect(result.rows).toEqual([
        { revenue: String(viaRest[0]!['sales_overview.revenue']), n: String(viaRest[0]!['sales_overview.count']) },
      ]);
      // February in UTC: o4 (cancelled), o5 120.00, o6 (refunded), o7 25.25.
      expect(result.rows).toEqual([{ revenue: '145.25', n: '4' }]);
    } finally {
      await c.end();
    }
  });

  it("what Superset 5 sends: SQLAlchemy 1.4's index read, and a chart's TO_TIMESTAMP time range, equal to REST", async () => {
    const c = await client(analyst);
    try {
      // SQLAlchemy 1.4.54's PGDialect.get_indexes (Superset 5 pins SQLAlchemy 1.4), run adding a dataset.
      const { rows: oid } = await c.query(`SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relname = 'sales_overview'`);
      const indexes = await c.query(`SELECT i.relname as relname, ix.indisunique, ix.indexprs, a.attname, a.attnum, c.conrelid,
          ix.indkey::varchar, ix.indoption::varchar, i.reloptions, am.amname, pg_get_expr(ix.indpred, ix.indrelid), ix.indnkeyatts as indnkeyatts
        FROM pg_class t join pg_index ix on t.oid = ix.indrelid join pg_class i on i.oid = ix.indexrelid
          left outer join pg_attribute a on t.oid = a.attrelid and a.attnum = ANY(ix.indkey)
          left outer join pg_constraint c on (ix.indrelid = c.conrelid and ix.indexrelid = c.conindid and c.contype in ('p', 'u', 'x'))
          left outer join pg_am am on i.relam = am.oid
        WHERE t.relkind IN ('r', 'v', 'f', 'm', 'p') and t.oid = ${Number(oid[0]!.oid)} and ix.indisprimary = 'f' ORDER BY t.relname, i.relname`);
      expect(indexes.rows).toEqual([]);
      // A time-series chart with a time range, as Superset writes it for the Postgres engine.
      const result = await c.query({
        text: `SELECT DATE_TRUNC('month', ordered_at) AS ordered_at, MEASURE(revenue) AS revenue FROM public.sales_overview
          WHERE ordered_at >= TO_TIMESTAMP('2025-01-01 00:00:00.000000', 'YYYY-MM-DD HH24:MI:SS.US')
            AND ordered_at < TO_TIMESTAMP('2025-03-01 00:00:00.000000', 'YYYY-MM-DD HH24:MI:SS.US')
          GROUP BY DATE_TRUNC('month', ordered_at) LIMIT 1000`,
        types: { getTypeParser: () => (v: string) => v } as any,
      });
      const viaRest = await rest(analyst, {
        measures: ['sales_overview.revenue'],
        timeDimensions: [
          {
            dimension: 'sales_overview.ordered_at',
            granularity: 'month',
            dateRange: ['2025-01-01T00:00:00.000', '2025-02-28T23:59:59.999'],
          },
        ],
        limit: 1000,
        timezone: 'UTC',
      });
      expect(viaRest.length).toBeGreaterThan(1);
      expect(result.rows.map((r) => [String(r.ordered_at).slice(0, 7), r.revenue])).toEqual(
        viaRest.map((r) => [String(r['sales_overview.ordered_at.month']).slice(0, 7), String(r['sales_overview.revenue'])]),
      );
    } finally {
      await c.end();
    }
  });

  it('EXPLAIN shows the Cube query a SELECT became and the SQL Cube wrote for this token', async () => {
    const anta = await client(antaAnalyst);
    try {
      const plan = (await anta.query(`EXPLAIN SELECT order_status, MEASURE(count) FROM sales_overview GROUP BY 1`)).rows.map(
        (r) => r['QUERY PLAN'],
      );
      expect(plan[0]).toBe(
        'Cube query: {"measures":["sales_overview.count"],"dimensions":["sales_overview.order_status"],"limit":50000,"timezone":"UTC"}',
      );
      expect(plan).toContain('Source: marts');
      // The brand scope is in the SQL Cube wrote, with the token's brand as a parameter.
      expect(plan.find((line: string) => line.startsWith('SQL: '))).toMatch(/primary_brand/);
      expect(plan.find((line: string) => line.startsWith('Parameters: '))).toContain('Anta');
    } finally {
      await anta.end();
    }
  });

  it('a brand-scoped token sees only its brand; a marketing token alone reads raw contact points', async () => {
    const sql = 'SELECT primary_brand, MEASURE(count) AS n FROM sales_overview GROUP BY 1 ORDER BY 1';
    const all = await client(analyst);
    const anta = await client(antaAnalyst);
    try {
      expect((await all.query(sql)).rows).toEqual([
        { primary_brand: 'Anta', n: '2' },
        { primary_brand: 'Li-Ning', n: '6' },
      ]);
      expect((await anta.query(sql)).rows).toEqual([{ primary_brand: 'Anta', n: '2' }]);
      // The analyst's table has no raw e-mail column at all, only the masked one.
      await expect(all.query('SELECT customer_key, email FROM customer_contacts GROUP BY 1, 2')).rejects.toMatchObject({ code: '42703' });
      const masked = await all.query('SELECT customer_key, email_masked FROM customer_contacts ORDER BY 1');
      expect(masked.rows.map((r) => r.email_masked)).toEqual(['a***@example.com', 'b***@example.com', 'c***@example.com']);
      expect(JSON.stringify(masked.rows)).not.toContain('alice@example.com');
    } finally {
      await all.end();
      await anta.end();
    }
    const mkt = await client(marketing);
    try {
      const raw = await mkt.query(`SELECT customer_key, email FROM customer_contacts WHERE customer_key = 'c1'`);
      expect(raw.rows).toEqual([{ customer_key: 'c1', email: 'alice@example.com' }]);
    } finally {
      await mkt.end();
    }
  });

  it('hostile SQL gets an error naming it, and the connection and server keep serving', async () => {
    const c = await client(analyst);
    try {
      const cases: [string, string][] = [
        ['DROP TABLE sales_overview', '25006'],
        ['SELECT 1; SELECT 2', '0A000'],
        ['SELECT pg_sleep(30)', '0A000'],
        ['SELECT order_status, MEASURE(count) FROM sales_overview GROUP BY 1 LIMIT 100000000', '54000'],
        ['SELECT * FROM marts.fct_orders', '42P01'],
        ['SELECT order_id FROM orders', '42P01'],
        // Reads no view: the catalog (no files, no rows) refuses it.
        ["SELECT * FROM read_csv('/etc/passwd')", '0A000'],
        ['SELECT order_status FROM sales_overview WHERE order_status IN (SELECT relname FROM pg_class)', '0A000'],
        ["SELECT order_status FROM sales_overview WHERE order_status IN (SELECT 'x')", '0A000'],
        ['SELECT a.order_status FROM sales_overview a JOIN product_sales b ON true', '0A000'],
        ['SELECT revenue::text FROM sales_overview', '0A000'],
        ['SELECT order_status, MEASURE(revenue) FROM sales_overview', '42803'],
        ['SELEKT nonsense', '25006'],
      ];
      for (const [sql, code] of cases) await expect(c.query(sql), sql).rejects.toMatchObject({ code });
      expect((await c.query('SELECT MEASURE(count) AS n FROM sales_overview')).rows).toEqual([{ n: '8' }]);
    } finally {
      await c.end();
    }
  });

  it('an Execute with a row limit suspends the portal and the next Execute sends the rest (protocol level)', async () => {
    const socket = net.connect(port, '127.0.0.1');
    const messages: { name: string; fields?: unknown[] }[] = [];
    const done = parseBackend(socket, (message: any) =>
      messages.push({ name: message.name, ...(message.fields ? { fields: message.fields } : {}) }),
    );
    const until = async (name: string, count = 1) => {
      for (let i = 0; i < 100 && messages.filter((m) => m.name === name).length < count; i++) await new Promise((r) => setTimeout(r, 50));
    };
    socket.write(serialize.startup({ user: 'analyst', database: 'crm' }));
    await until('authenticationCleartextPassword');
    socket.write(serialize.password(analyst));
    await until('readyForQuery');
    socket.write(
      Buffer.concat([
        serialize.parse({ text: 'SELECT order_status, MEASURE(count) AS n FROM sales_overview GROUP BY 1 ORDER BY 1' }),
        serialize.bind({}),
        serialize.describe({ type: 'P' }),
        serialize.execute({ rows: 2 }),
        serialize.execute({ rows: 2 }),
        serialize.execute({}),
        serialize.sync(),
      ]),
    );
    await until('readyForQuery', 2);
    socket.end();
    await done;
    const after = messages.slice(messages.findIndex((m) => m.name === 'parseComplete'));
    expect(after.map((m) => m.name)).toEqual([
      'parseComplete',
      'bindComplete',
      'rowDescription',
      'dataRow',
      'dataRow',
      'portalSuspended',
      'dataRow',
      'dataRow',
      'portalSuspended',
      'dataRow',
      'commandComplete',
      'readyForQuery',
    ]);
    expect(after.filter((m) => m.name === 'dataRow').map((m) => String(m.fields![0]))).toEqual([
      'cancelled',
      'completed',
      'paid',
      'refunded',
      'shipped',
    ]);
  });

  it('a session ends when its token expires, as a REST request with it would be refused', async () => {
    const shortLived = await signDevToken(SECRET, { sub: 'brief@example.com', roles: ['analyst'] }, { expiresIn: 2 });
    const c = await client(shortLived);
    const errors: unknown[] = [];
    c.on('error', (error) => errors.push(error));
    expect((await c.query('SELECT MEASURE(count) AS n FROM sales_overview')).rows).toEqual([{ n: '8' }]);
    await new Promise((r) => setTimeout(r, 3_100));
    await expect(c.query('SELECT MEASURE(count) AS n FROM sales_overview')).rejects.toMatchObject({ code: '28000' });
    await c.end().catch(() => undefined);
  });

  it('random SQL-ish input always answers a result or an error with a SQLSTATE, and the session goes on', async () => {
    const c = await client(analyst);
    const pieces = fc.constantFrom(
      'SELECT',
      'FROM',
      'WHERE',
      'GROUP BY',
      'ORDER BY',
      'LIMIT',
      'HAVING',
      'sales_overview',
      'pg_class',
      'order_status',
      'MEASURE(revenue)',
      'COUNT(*)',
      "DATE_TRUNC('month', ordered_at)",
      '(',
      ')',
      ',',
      ';',
      "'",
      '"',
      '$1',
      '=',
      '<>',
      'IN',
      'AND',
      'OR',
      'NOT',
      'NULL',
      '1e999',
      '-1',
      '*',
      '::text',
      '--',
      '/*',
      "E'\\x'",
      '\u0000',
      '生意',
    );
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.oneof(pieces, fc.string({ maxLength: 8 })), { maxLength: 14 }), async (parts) => {
          const sql = parts.join(' ');
          try {
            await c.query(sql);
          } catch (error) {
            expect((error as { code?: string }).code, sql).toMatch(/^[0-9A-Z]{5}$/);
            expect((error as { code?: string }).code, sql).not.toBe('XX000');
          }
        }),
        { numRuns: 150, seed: 30 },
      );
      expect((await c.query('SELECT MEASURE(count) AS n FROM sales_overview')).rows).toEqual([{ n: '8' }]);
    } finally {
      await c.end();
    }
  }, 120_000);

  it('bounds connections and closes those that do not log in', async () => {
    const door = await startSqlDoor({
      jwtSecret: SECRET,
      defaultTimezone: 'UTC',
      warehouse: server.warehouse,
      model: () => loadSemanticModel(cubeModelDir),
      port: 0,
      maxConnections: 2,
      authTimeoutMs: 300,
    });
    const answerOf = (socket: net.Socket) =>
      new Promise<string>((resolve) => {
        const chunks: Buffer[] = [];
        socket.on('data', (d) => chunks.push(d));
        socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      });
    try {
      const idle = [net.connect(door.port, '127.0.0.1'), net.connect(door.port, '127.0.0.1')];
      const idleAnswers = idle.map(answerOf);
      await new Promise((r) => setTimeout(r, 100));
      const third = net.connect(door.port, '127.0.0.1');
      expect(await answerOf(third)).toContain('53300');
      // Neither idle socket logged in: both are closed with 08006 after the 300 ms.
      for (const answer of await Promise.all(idleAnswers)) expect(answer).toContain('08006');
    } finally {
      await door.close();
    }
  });

  it('refuses a bad token and survives garbage bytes', async () => {
    const bad = new pg.Client({ host: '127.0.0.1', port, user: 'x', database: 'crm', password: 'not-a-jwt' });
    await expect(bad.connect()).rejects.toMatchObject({ code: '28P01' });
    for (const bytes of [Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]), Buffer.alloc(64, 0x41), Buffer.from('GET / HTTP/1.1\r\n\r\n')]) {
      const answer = await new Promise<Buffer>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
        const chunks: Buffer[] = [];
        socket.on('data', (d) => chunks.push(d));
        socket.on('close', () => resolve(Buffer.concat(chunks)));
        setTimeout(() => socket.destroy(), 2_000);
      });
      expect(answer.length === 0 || answer.subarray(0, 1).toString() === 'E').toBe(true);
    }
    const c = await client(analyst);
    expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await c.end();
  });
});

const PSQL = '/usr/bin/psql';
describe.skipIf(!fs.existsSync(PSQL))('psql', () => {
  const psql = (args: string[]) =>
    run(PSQL, ['-h', '127.0.0.1', '-p', String(port), '-U', 'analyst', '-d', 'crm', '-X', '-A', '-F', '|', ...args], {
      env: { ...process.env, PGPASSWORD: analyst, PGCONNECT_TIMEOUT: '10' },
    });

  it('lists the views (\\dt), describes one (\\d) and runs a grouped query', async () => {
    const tables = (await psql(['-c', '\\dt'])).stdout;
    expect(tables).toContain('public|sales_overview|table|');
    expect(tables).toContain('public|executive_kpis|table|');
    expect(tables).not.toMatch(/\|orders\||customer_profiles/);
    const described = (await psql(['-c', '\\d sales_overview'])).stdout;
    expect(described).toMatch(/revenue\|numeric/);
    expect(described).toMatch(/ordered_at\|timestamp without time zone/);
    expect(described).toMatch(/count\|bigint/);
    // \d+ and \dt+ show the model's descriptions; \dn and \l the one schema and database.
    expect((await psql(['-c', '\\d+ sales_overview'])).stdout).toMatch(/order_status\|text\|.*Latest order status/);
    expect((await psql(['-c', '\\dt+'])).stdout).toMatch(/public\|sales_overview\|table\|.*Revenue, orders/);
    expect((await psql(['-t', '-c', '\\dn'])).stdout.trim()).toBe('public|analyst');
    expect((await psql(['-t', '-c', '\\l'])).stdout).toMatch(/^crm\|analyst\|UTF8/m);
    const grouped = (await psql(['-t', '-c', 'SELECT order_status, MEASURE(count) FROM sales_overview GROUP BY 1 ORDER BY 1'])).stdout;
    expect(grouped.trim().split('\n')).toEqual(['cancelled|1', 'completed|4', 'paid|1', 'refunded|1', 'shipped|1']);
  });
});

/** A venv with psycopg and SQLAlchemy, made once under .test-artifacts/ (the project venv is dbt's, pinned). */
function pythonClients(): string | undefined {
  const requirements = path.join(projectRoot, 'tests/support/sql-clients-requirements.txt');
  const venv = path.join(projectRoot, '.test-artifacts/sql-clients-venv');
  const python = path.join(venv, 'bin/python');
  const stamp = path.join(venv, '.requirements');
  const wanted = fs.readFileSync(requirements, 'utf8');
  try {
    if (!fs.existsSync(python) || fs.readFileSync(stamp, 'utf8') !== wanted) {
      execFileSync('python3', ['-m', 'venv', '--clear', venv], { stdio: 'ignore' });
      execFileSync(path.join(venv, 'bin/pip'), ['install', '-q', '-r', requirements], { stdio: 'ignore', timeout: 180_000 });
      fs.writeFileSync(stamp, wanted);
    }
    return python;
  } catch {
    return undefined;
  }
}

describe('psycopg and SQLAlchemy reflection', () => {
  it('reflects the views and their column types, and queries one', async (context) => {
    const python = pythonClients();
    if (!python) {
      console.log('skipped: could not create the psycopg/SQLAlchemy venv (python3 -m venv + pip install failed)');
      context.skip();
      return;
    }
    const script = `
import json, os, sqlalchemy as sa
engine = sa.create_engine(f"postgresql+psycopg://analyst:{os.environ['TOKEN']}@127.0.0.1:{os.environ['PORT']}/crm")
inspector = sa.inspect(engine)
columns = {c['name']: str(c['type']) for c in inspector.get_columns('sales_overview')}
# What Superset reads when a dataset is added: schemas, keys, indexes, the comment, the whole table.
extra = {
    'schemas': inspector.get_schema_names(),
    'pk': inspector.get_pk_constraint('sales_overview')['constrained_columns'],
    'fks': inspector.get_foreign_keys('sales_overview'),
    'indexes': inspector.get_indexes('sales_overview'),
    'comment': (inspector.get_table_comment('sales_overview')['text'] or '')[:7],
    'reflected': len(sa.Table('sales_overview', sa.MetaData(), autoload_with=engine).columns),
}
with engine.connect() as conn:
    rows = conn.execute(sa.text("SELECT order_status, MEASURE(revenue) AS revenue FROM sales_overview WHERE order_status = :s GROUP BY 1"), {'s': 'completed'}).fetchall()
print(json.dumps({'tables': sorted(inspector.get_table_names()), 'columns': columns, 'extra': extra, 'rows': [[r[0], str(r[1])] for r in rows]}))
`;
    const { stdout } = await run(python, ['-c', script], { env: { ...process.env, TOKEN: analyst, PORT: String(port) }, timeout: 60_000 });
    const out = JSON.parse(stdout) as {
      tables: string[];
      columns: Record<string, string>;
      extra: Record<string, unknown>;
      rows: string[][];
    };
    expect(out.tables).toContain('sales_overview');
    expect(out.tables).not.toContain('orders');
    expect(out.columns).toMatchObject({
      order_status: 'TEXT',
      revenue: 'NUMERIC',
      count: 'BIGINT',
      ordered_at: 'TIMESTAMP',
      is_valid_sale: 'BOOLEAN',
    });
    expect(out.rows).toEqual([['completed', '295.25']]);
    expect(out.extra).toEqual({
      schemas: ['information_schema', 'public'],
      pk: [],
      fks: [],
      indexes: [],
      comment: 'Revenue',
      reflected: Object.keys(out.columns).length,
    });
  }, 240_000);
});

/** pgjdbc from Maven Central through mvn (cached in ~/.m2), the driver Metabase's PostgreSQL connector uses. */
const PGJDBC_VERSION = '42.7.14';
function pgjdbcJar(): string | undefined {
  const jar = path.join(os.homedir(), `.m2/repository/org/postgresql/postgresql/${PGJDBC_VERSION}/postgresql-${PGJDBC_VERSION}.jar`);
  try {
    if (!fs.existsSync(jar)) {
      execFileSync('mvn', ['-q', 'dependency:get', `-Dartifact=org.postgresql:postgresql:${PGJDBC_VERSION}`], {
        stdio: 'ignore',
        timeout: 180_000,
      });
    }
    execFileSync('java', ['-version'], { stdio: 'ignore' });
    return fs.existsSync(jar) ? jar : undefined;
  } catch {
    return undefined;
  }
}

describe('pgjdbc (Metabase, Tableau and DBeaver connect through it)', () => {
  it('syncs the metadata a BI tool reads and answers a parameterised question', async (context) => {
    const jar = pgjdbcJar();
    if (!jar) {
      console.log(`skipped: java or pgjdbc ${PGJDBC_VERSION} (mvn dependency:get) not available`);
      context.skip();
      return;
    }
    const { stdout } = await run('java', ['-cp', jar, path.join(projectRoot, 'tests/support/JdbcProbe.java')], {
      env: { ...process.env, TOKEN: analyst, PORT: String(port) },
      timeout: 120_000,
    });
    const out = Object.fromEntries(
      stdout
        .trim()
        .split('\n')
        .map((line) => line.split('\t') as [string, string]),
    );
    expect(out.product).toBe('PostgreSQL 15.0');
    expect(out.schemas!.split(',')).toContain('public');
    expect(out.tables!.split(',')).toContain('sales_overview');
    expect(out.tables!.split(',')).not.toContain('orders');
    expect(out.columns!.split(',')).toEqual(
      expect.arrayContaining(['order_status:text', 'is_valid_sale:bool', 'ordered_at:timestamp', 'count:int8', 'revenue:numeric']),
    );
    expect(out.primaryKeys).toBe('0');
    expect(out.question).toBe('completed=4,paid=1,refunded=1,shipped=1');
    expect(out.monthly).toBe('2025-01-01 00:00:00.0=170,2025-02-01 00:00:00.0=145.25,2025-03-01 00:00:00.0=60');
  }, 240_000);
});

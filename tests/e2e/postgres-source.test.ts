import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../support/postgres-server.ts';
import { DEFAULT_GENERATE_OPTIONS, generateSampleData } from '../../pipelines/sources/sample-data/generate.ts';
import { populatePostgresShop } from '../../pipelines/sources/sample-data/postgres-shop.ts';
import { postgresOrdersSource, POSTGRES_ORDERS_ENV } from '../../pipelines/extract/postgres/postgres-orders-source.ts';
import { findSource } from '../../pipelines/extract/sources.ts';
import { extractSource, type ExtractSummary } from '../../pipelines/extract/run-extract.ts';
import { SourceUnavailableError } from '../../pipelines/extract/source-contract.ts';
import { openWarehouse } from '../../pipelines/raw/warehouse-connection.ts';
import { projectRoot } from '../../shared/paths.ts';

/**
 * The PostgreSQL OLTP source against a real PostgreSQL server started for this file: first load,
 * incremental re-runs, changes after the first load (cancellations, refunds, shipping contact),
 * the safety overlap, quarantine with the primary key as location, and single-line errors.
 */
let server: PostgresServer;
let client: pg.Client;
let workDir: string;
let landingDir: string;
let warehousePath: string;
let batch = 0;

beforeAll(async () => {
  server = await startPostgres();
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-pgsrc-'));
  landingDir = path.join(workDir, 'landing');
  warehousePath = path.join(workDir, 'wh.duckdb');
  await generateSampleData({ ...DEFAULT_GENERATE_OPTIONS, outDir: landingDir, seed: 3, customers: 80, orders: 600, malformedRate: 0.01 });
  const populated = await populatePostgresShop({ connectionString: server.url(), landingDir });
  expect(populated.tables.orders!.rowsWritten).toBe(600);
  client = new pg.Client({ connectionString: server.url() });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await server?.stop();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

// Small pages so keyset paging (ties on updated_at included) is exercised.
const source = () => postgresOrdersSource({ name: 'orders_pg', connectionString: server.url(), pageSize: 37, overlapSeconds: 300 });
const extract = (s = source()) => extractSource(s, { warehousePath, landingDir, batchId: `pg${++batch}` });
const table = (summary: ExtractSummary, name: string) => summary.tables.find((t) => t.table === name)!;

async function warehouseRows(sql: string) {
  const wh = await openWarehouse(warehousePath);
  try {
    return (await wh.connection.runAndReadAll(sql)).getRows();
  } finally {
    wh.close();
  }
}
const pgCount = async (t: string) => Number((await client.query(`SELECT count(*) FROM shop.${t}`)).rows[0].count);

describe('PostgreSQL orders source', () => {
  it('loads every table on the first run and commits a watermark per table with the batch', async () => {
    const first = await extract();
    expect(table(first, 'orders')).toMatchObject({ inserted: await pgCount('orders'), rejected: 0 });
    expect(table(first, 'order_items').inserted).toBe(await pgCount('order_items'));
    expect(table(first, 'order_payments').inserted).toBe(await pgCount('payments'));
    expect(table(first, 'order_refunds').inserted).toBe(await pgCount('refunds'));
    expect(table(first, 'order_cancellations').inserted).toBe(await pgCount('cancellations'));
    const newest = (
      await client.query(`SELECT to_char(max(updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS wm FROM shop.orders`)
    ).rows[0].wm;
    const [[state]] = (await warehouseRows(`SELECT state FROM raw._source_state WHERE source = 'orders_pg'`)) as [[string]];
    expect(JSON.parse(state).tables.orders.watermark).toBe(newest);
    expect(await warehouseRows(`SELECT count(*)::INT FROM raw.orders WHERE _source_file = 'pg:shop.orders'`)).toEqual([[600]]);
  });

  it('re-reads only the overlap window when nothing changed, and changes nothing', async () => {
    const again = await extract();
    expect(again.tables.map((t) => t.table).sort()).toEqual([
      'order_cancellations',
      'order_items',
      'order_payments',
      'order_refunds',
      'orders',
    ]);
    for (const t of again.tables)
      expect({ table: t.table, inserted: t.inserted, updated: t.updated }).toEqual({ table: t.table, inserted: 0, updated: 0 });
    expect(table(again, 'orders').read).toBeLessThan(600);
  });

  it('picks up cancellations, refunds and shipping-contact changes made after the first load', async () => {
    const [cancel, refund, moved] = (
      await client.query(`SELECT order_id FROM shop.orders WHERE status = 'completed' ORDER BY order_id LIMIT 3`)
    ).rows.map((r) => r.order_id as string);
    await client.query(`UPDATE shop.orders SET status = 'cancelled', updated_at = now() WHERE order_id = $1`, [cancel]);
    await client.query(`INSERT INTO shop.cancellations VALUES ($1, now(), 'merchant', 'out of stock', now())`, [cancel]);
    await client.query(`UPDATE shop.orders SET status = 'refunded', updated_at = now() WHERE order_id = $1`, [refund]);
    await client.query(
      `INSERT INTO shop.refunds (refund_id, order_id, amount, reason, status, requested_at, updated_at)
       VALUES ('R-LATE-1', $1, 10.00, 'return', 'paid', now(), now())`,
      [refund],
    );
    await client.query(
      `UPDATE shop.orders SET ship_phone = '+86 139 0000 0000', ship_address = '新地址 8 号', updated_at = now() WHERE order_id = $1`,
      [moved],
    );
    const third = await extract();
    expect(table(third, 'orders')).toMatchObject({ inserted: 0, updated: 3 });
    expect(table(third, 'order_cancellations').inserted).toBe(1);
    expect(table(third, 'order_refunds').inserted).toBe(1);
    expect(await warehouseRows(`SELECT order_id, status FROM raw.orders WHERE order_id IN ('${cancel}', '${refund}') ORDER BY 1`)).toEqual(
      [
        [cancel, 'cancelled'],
        [refund, 'refunded'],
      ].sort((a, b) => a[0]!.localeCompare(b[0]!)),
    );
    expect(await warehouseRows(`SELECT ship_phone, ship_address FROM raw.orders WHERE order_id = '${moved}'`)).toEqual([
      ['+86 139 0000 0000', '新地址 8 号'],
    ]);
  });

  it('catches a change committed late with an updated_at just behind the watermark (safety overlap)', async () => {
    const [[state]] = (await warehouseRows(`SELECT state FROM raw._source_state WHERE source = 'orders_pg'`)) as [[string]];
    const watermark = JSON.parse(state).tables.orders.watermark as string;
    const [late] = (
      await client.query(`SELECT order_id FROM shop.orders WHERE status = 'completed' ORDER BY order_id DESC LIMIT 1`)
    ).rows.map((r) => r.order_id as string);
    // A long transaction stamped its row 2 minutes before the last extract's newest row.
    await client.query(
      `UPDATE shop.orders SET status = 'refunded', updated_at = $2::timestamptz - interval '2 minutes' WHERE order_id = $1`,
      [late, watermark],
    );
    const fourth = await extract();
    expect(table(fourth, 'orders').updated).toBe(1);
    expect(await warehouseRows(`SELECT status FROM raw.orders WHERE order_id = '${late}'`)).toEqual([['refunded']]);
  });

  it('quarantines an invalid row with its table and primary key as location', async () => {
    await client.query(
      `INSERT INTO shop.orders VALUES ('O-BAD-1', 'C000001', now(), 'teleported', 'CNY', 0, now(), null, null, null, null)`,
    );
    const fifth = await extract();
    expect(table(fifth, 'orders').rejected).toBe(1);
    expect(await warehouseRows(`SELECT location, record_key, reason FROM raw._quarantine WHERE source = 'orders_pg'`)).toEqual([
      ['pg:shop.orders#order_id=O-BAD-1', 'O-BAD-1', expect.stringContaining('status: ')],
    ]);
    // Raw equals the database (valid rows), with no duplicates, after all these runs.
    expect(await warehouseRows(`SELECT count(*)::INT, count(DISTINCT order_id)::INT FROM raw.orders`)).toEqual([[600, 600]]);
  });

  it('is registered as orders_pg and configured by CRM_ORDERS_PG_URL', () => {
    expect(() => findSource('orders_pg', {})).toThrow(`orders_pg: not configured: set ${POSTGRES_ORDERS_ENV}`);
    expect(findSource('orders_pg', { [POSTGRES_ORDERS_ENV]: server.url() }).kind).toBe('postgres');
  });

  it('works from the CLI: seed-postgres fills a schema, extract orders_pg loads it, state show lists its watermarks', () => {
    const cliWarehouse = path.join(workDir, 'cli.duckdb');
    const crm = (...args: string[]) =>
      spawnSync(path.join(projectRoot, 'node_modules', '.bin', 'tsx'), ['cli/crm.ts', ...args], {
        cwd: projectRoot,
        encoding: 'utf8',
        env: {
          ...process.env,
          CI: 'true',
          CRM_WAREHOUSE_PATH: cliWarehouse,
          CRM_LANDING_DIR: landingDir,
          [POSTGRES_ORDERS_ENV]: server.url(),
        },
      });
    const seeded = crm('seed-postgres', '--schema', 'shop_copy', '--json');
    expect(seeded.status, seeded.stderr).toBe(0);
    expect(JSON.parse(seeded.stdout).tables.orders.rowsWritten).toBe(600);
    const extracted = crm('extract', 'orders_pg', '--json');
    expect(extracted.status, extracted.stderr).toBe(0);
    const orders = JSON.parse(extracted.stdout).extracts[0].tables.find((t: { table: string }) => t.table === 'orders');
    expect(orders.inserted).toBeGreaterThanOrEqual(600);
    const state = JSON.parse(crm('state', 'show', 'orders_pg', '--json').stdout);
    expect(state.sources[0]).toMatchObject({ source: 'orders_pg', kind: 'postgres' });
    expect(Object.keys(state.sources[0].cursor.tables).sort()).toEqual(['cancellations', 'order_items', 'orders', 'payments', 'refunds']);
    const badUrl = spawnSync(path.join(projectRoot, 'node_modules', '.bin', 'tsx'), ['cli/crm.ts', 'extract', 'orders_pg'], {
      cwd: projectRoot,
      encoding: 'utf8',
      env: {
        ...process.env,
        CI: 'true',
        CRM_WAREHOUSE_PATH: cliWarehouse,
        [POSTGRES_ORDERS_ENV]: server.url('postgres', { password: 'nope' }),
      },
    });
    expect(badUrl.status).toBe(1);
    // The CLI's final line names the source and the cause (structured logs come before it).
    const lastLine = badUrl.stderr.trim().split('\n').at(-1)!;
    expect(lastLine).toMatch(
      /^crm: .*orders_pg: cannot connect to PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/postgres: authentication failed/,
    );
    expect(badUrl.stderr).not.toContain('nope@');
  });

  it('fails with one line naming the source and the cause when unreachable or misconfigured, writing nothing', async () => {
    const fresh = path.join(workDir, 'never.duckdb');
    const attempt = (connectionString: string, schema?: string) =>
      extractSource(postgresOrdersSource({ name: 'orders_pg', connectionString, ...(schema ? { schema } : {}) }), {
        warehousePath: fresh,
        landingDir,
        batchId: 'x',
      });
    const failure = async (promise: Promise<unknown>) => {
      const error = await promise.then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(SourceUnavailableError);
      const message = (error as Error).message;
      expect(message).not.toContain('\n');
      expect(message.startsWith('orders_pg: ')).toBe(true);
      return message;
    };
    const badPassword = await failure(attempt(server.url('postgres', { password: 'wrong-password' })));
    expect(badPassword).toContain('authentication failed');
    expect(badPassword).toContain(`postgres://postgres:***@127.0.0.1:${server.port}/postgres`);
    expect(badPassword).not.toContain('wrong-password');
    expect(await failure(attempt(`postgres://postgres:x@127.0.0.1:1/postgres`))).toContain('connection refused');
    expect(await failure(attempt('http://example.invalid/db'))).toContain('scheme "http:"');
    expect(await failure(attempt('not a url'))).toContain('invalid PostgreSQL connection string');
    expect(await failure(attempt(server.url('no_such_db')))).toContain('database does not exist');
    expect(await failure(attempt(server.url(), 'nope'))).toBe('orders_pg: table nope.orders not found (or not readable by this user)');
    expect(fs.existsSync(fresh)).toBe(false);
  });

  it('reports schema drift: a column the record expects but the table lacks is counted as missing, the rest still loads', async () => {
    await client.query(`ALTER TABLE shop.cancellations DROP COLUMN reason`);
    const [order] = (
      await client.query(`SELECT order_id FROM shop.orders WHERE status = 'completed' ORDER BY order_id LIMIT 1 OFFSET 5`)
    ).rows.map((r) => r.order_id as string);
    await client.query(`INSERT INTO shop.cancellations VALUES ($1, now(), 'system', now())`, [order]);
    const drift = table(await extract(), 'order_cancellations');
    expect(drift.inserted).toBe(1);
    expect(drift.missingFields.reason).toBe(drift.read);
    expect(drift.read).toBeGreaterThanOrEqual(1);
  });
});

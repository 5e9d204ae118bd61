import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnavailableError } from '../../shared/errors.ts';
import { startApiServer } from '../../api/server.ts';
import { DEFAULT_API_DUCKDB_THREADS, DEFAULT_IDLE_CLOSE_MS, WarehouseReader } from '../../semantic/warehouse-reader.ts';
import { projectRoot } from '../../shared/paths.ts';
import { createFixtureWarehouse } from './api-fixture.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-reader-'));
let warehousePath: string;

beforeAll(async () => {
  warehousePath = await createFixtureWarehouse(path.join(tmp, 'warehouse.duckdb'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Tries to open the file for writing from another process, as dbt would; returns its error or 'ok'. */
function openForWritingElsewhere(filePath: string): string {
  const script = `
    import { DuckDBInstance } from '@duckdb/node-api';
    try { const db = await DuckDBInstance.create(${JSON.stringify(filePath)}); db.closeSync(); console.log('ok'); }
    catch (e) { console.log(e.message); }`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: projectRoot, encoding: 'utf8' });
  return result.stdout.trim();
}

describe('WarehouseReader', () => {
  it("reads with Cube's DuckDB value conversion: decimals and integers as strings, timestamps as ISO", async () => {
    const reader = new WarehouseReader(warehousePath);
    try {
      const rows = await reader.query(
        'SELECT order_id, net_revenue, item_count, ordered_at, is_valid_sale FROM marts.fct_orders WHERE order_id = ?',
        ['o5'],
      );
      expect(rows).toEqual([
        { order_id: 'o5', net_revenue: '120', item_count: '4', ordered_at: '2025-02-20T03:00:00.000Z', is_valid_sale: true },
      ]);
    } finally {
      await reader.close();
    }
  });

  it('reuses connections and prepared statements: new parameters each call, a failed statement spoils nothing', async () => {
    const reader = new WarehouseReader(warehousePath);
    const sql = 'SELECT order_id, net_revenue FROM marts.fct_orders WHERE order_id = ?';
    try {
      expect(await reader.query(sql, ['o5'])).toEqual([{ order_id: 'o5', net_revenue: '120' }]);
      expect(await reader.query(sql, ['o8'])).toEqual([{ order_id: 'o8', net_revenue: '60' }]);
      await expect(reader.query('SELECT CAST(? AS INTEGER) AS n', ['abc'])).rejects.toThrow(/Conversion Error/);
      await expect(reader.query('SELECT * FROM marts.no_such_table')).rejects.toThrow(/does not exist/);
      // Many at once (more than the pool keeps), then the pooled connections again: still in UTC.
      const many = await Promise.all(Array.from({ length: 40 }, (_, i) => reader.query(sql, [`o${(i % 8) + 1}`])));
      expect(many.map((rows) => rows[0]?.order_id)).toEqual(Array.from({ length: 40 }, (_, i) => `o${(i % 8) + 1}`));
      const [row] = await reader.query("SELECT current_setting('TimeZone') AS zone");
      expect(row).toEqual({ zone: 'UTC' });
    } finally {
      await reader.close();
    }
  });

  it('reads naive timestamps as UTC whatever the session zone of the machine', async () => {
    const reader = new WarehouseReader(warehousePath);
    try {
      const [row] = await reader.query(
        "SELECT timezone('Asia/Shanghai', ordered_at::timestamptz) AS local FROM marts.fct_orders WHERE order_id = 'o2'",
      );
      expect(row).toEqual({ local: '2025-02-01T01:00:00.000Z' });
    } finally {
      await reader.close();
    }
  });

  it('serves a replaced file (atomic publish by rename) without being told', async () => {
    const livePath = path.join(tmp, 'live.duckdb');
    await createFixtureWarehouse(livePath);
    const reader = new WarehouseReader(livePath);
    try {
      expect(await reader.query('SELECT count(*) AS n FROM marts.fct_orders')).toEqual([{ n: '8' }]);
      const next = await createFixtureWarehouse(path.join(tmp, 'next.duckdb'), {
        extraOrders: [['o9', 'c4', '2025-03-20 10:00:00', 'paid', true, 1, '9.90', '0.00', '9.90']],
      });
      fs.renameSync(next, livePath);
      expect(await reader.query('SELECT count(*) AS n FROM marts.fct_orders')).toEqual([{ n: '9' }]);
      await reader.reopen();
      expect(await reader.query('SELECT max(order_id) AS last FROM marts.fct_orders')).toEqual([{ last: 'o9' }]);
    } finally {
      await reader.close();
    }
  });

  it('reads the data version once per event-loop turn, and a publish is seen from the next turn on', async () => {
    const livePath = path.join(tmp, 'versioned.duckdb');
    await createFixtureWarehouse(livePath);
    const reader = new WarehouseReader(livePath);
    try {
      const before = reader.dataVersion();
      expect(before).toBeDefined();
      const next = await createFixtureWarehouse(path.join(tmp, 'versioned-next.duckdb'));
      const first = reader.dataVersion(); // a new turn: the file as it is now (not yet replaced)
      fs.renameSync(next, livePath);
      // Same turn: the identity read at its start (requests parsed together share one stat).
      expect(reader.dataVersion()).toBe(first);
      await new Promise((resolve) => setImmediate(resolve));
      const after = reader.dataVersion();
      expect(after).toBeDefined();
      expect(after).not.toBe(first);
      fs.rmSync(livePath);
      await new Promise((resolve) => setImmediate(resolve));
      expect(reader.dataVersion()).toBeUndefined();
    } finally {
      await reader.close();
    }
  });

  it('answers UnavailableError for a missing file and after close', async () => {
    const reader = new WarehouseReader(path.join(tmp, 'absent.duckdb'));
    await expect(reader.query('SELECT 1')).rejects.toThrow(UnavailableError);
    await expect(reader.check()).rejects.toThrow(/warehouse file not found/);
    const closing = new WarehouseReader(warehousePath);
    await closing.check();
    await closing.close();
    await expect(closing.query('SELECT 1')).rejects.toThrow(/is closed/);
  });

  it('runs concurrent queries on one instance', async () => {
    const reader = new WarehouseReader(warehousePath);
    try {
      const results = await Promise.all(
        ['o1', 'o2', 'o3', 'o4', 'o5', 'o6', 'o7', 'o8'].map((id) =>
          reader.query('SELECT order_id FROM marts.fct_orders WHERE order_id = ?', [id]),
        ),
      );
      expect(results.map((rows) => rows[0]!.order_id)).toEqual(['o1', 'o2', 'o3', 'o4', 'o5', 'o6', 'o7', 'o8']);
    } finally {
      await reader.close();
    }
  });

  it("keeps the file open between a dashboard's clicks by default, and the server takes CRM_API_IDLE_CLOSE_MS", async () => {
    expect(DEFAULT_IDLE_CLOSE_MS).toBeGreaterThanOrEqual(60_000); // a reopen costs every first click after a pause
    const held = new WarehouseReader(warehousePath);
    try {
      await held.check();
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(openForWritingElsewhere(warehousePath)).toMatch(/lock/i);
    } finally {
      await held.close();
    }
    const previous = process.env.CRM_API_IDLE_CLOSE_MS;
    try {
      process.env.CRM_API_IDLE_CLOSE_MS = 'soon';
      await expect(startApiServer({ warehousePath, jwtSecret: 's', port: 0, dashboardDir: false })).rejects.toThrow(
        /CRM_API_IDLE_CLOSE_MS must be a whole number/,
      );
      process.env.CRM_API_IDLE_CLOSE_MS = '50';
      const server = await startApiServer({ warehousePath, jwtSecret: 's', port: 0, dashboardDir: false });
      try {
        await server.app.inject({ method: 'GET', url: '/health' });
        await server.app.inject({ method: 'GET', url: '/health' });
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(openForWritingElsewhere(warehousePath)).toBe('ok');
      } finally {
        await server.close();
      }
    } finally {
      if (previous === undefined) delete process.env.CRM_API_IDLE_CLOSE_MS;
      else process.env.CRM_API_IDLE_CLOSE_MS = previous;
    }
  });

  it("opens DuckDB with the threads asked, else DuckDB's default; the API's default is 1", async () => {
    const threadsOf = async (reader: WarehouseReader) => {
      try {
        const [row] = await reader.query("SELECT current_setting('threads')::INTEGER AS threads");
        return Number(row!.threads);
      } finally {
        await reader.close();
      }
    };
    expect(await threadsOf(new WarehouseReader(warehousePath, { threads: 1 }))).toBe(1);
    expect(await threadsOf(new WarehouseReader(warehousePath, { threads: 3 }))).toBe(3);
    const defaultThreads = await threadsOf(new WarehouseReader(warehousePath));
    expect(defaultThreads).toBe(os.availableParallelism());
    expect(DEFAULT_API_DUCKDB_THREADS).toBe(1);
    const previous = process.env.CRM_API_DUCKDB_THREADS;
    try {
      process.env.CRM_API_DUCKDB_THREADS = 'one';
      await expect(startApiServer({ warehousePath, jwtSecret: 's', port: 0, dashboardDir: false })).rejects.toThrow(
        /CRM_API_DUCKDB_THREADS must be a whole number/,
      );
    } finally {
      if (previous === undefined) delete process.env.CRM_API_DUCKDB_THREADS;
      else process.env.CRM_API_DUCKDB_THREADS = previous;
    }
  });

  it('lets go of the file when idle, so the pipeline can write it again', async () => {
    const reader = new WarehouseReader(warehousePath, { idleCloseMs: 50 });
    try {
      await reader.check();
      // While the API holds the file, even read-only, another process cannot open it for writing.
      expect(openForWritingElsewhere(warehousePath)).toMatch(/lock/i);
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(openForWritingElsewhere(warehousePath)).toBe('ok');
      // And it reopens transparently on the next query.
      expect(await reader.query('SELECT count(*) AS n FROM marts.customer_value')).toEqual([{ n: '4' }]);
    } finally {
      await reader.close();
    }
  });
});

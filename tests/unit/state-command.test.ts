import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WarehouseReader } from '../../semantic/warehouse-reader.ts';
import { warehouseLayout } from '../../pipelines/publish/layout.ts';
import { acquireRunLock } from '../../pipelines/publish/run-lock.ts';
import { projectRoot } from '../../shared/paths.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-state-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function crm(...args: string[]) {
  return crmIn(tmp, ...args);
}

function crmIn(dir: string, ...args: string[]) {
  const result = spawnSync(path.join(projectRoot, 'node_modules', '.bin', 'tsx'), ['cli/crm.ts', ...args], {
    cwd: projectRoot,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true', CRM_WAREHOUSE_PATH: path.join(dir, 'wh.duckdb'), CRM_LANDING_DIR: path.join(dir, 'landing') },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('crm state', () => {
  it("shows each source's manifest and cursor, resets one source, and the next extract re-reads it without duplicates", () => {
    expect(crm('state', 'show').code).toBe(2); // no warehouse yet: a usage error naming it
    expect(crm('generate', '--customers', '20', '--orders', '100').code).toBe(0);
    expect(crm('extract', 'orders', 'profiles').code).toBe(0);

    const shown = crm('state', 'show', '--json');
    expect(shown.code).toBe(0);
    const state = JSON.parse(shown.stdout) as { sources: { source: string; kind: string; files: { path: string; sha256: string }[] }[] };
    expect(state.sources.map((s) => s.source)).toEqual(['orders', 'profiles']);
    expect(state.sources[0]!.kind).toBe('files');
    expect(state.sources[0]!.files.map((f) => f.path)).toContain('orders/orders.csv');
    expect(state.sources[0]!.files[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(crm('state', 'show', 'orders').stdout).toContain('file orders/orders.csv');

    const reset = crm('state', 'reset', 'orders', '--json');
    expect(reset.code).toBe(0);
    expect(JSON.parse(reset.stdout)).toEqual({ source: 'orders', stateRows: 1, files: 5 });
    expect(crm('state', 'show', 'orders').stdout.trim()).toBe('orders: no state (never loaded, or reset)');
    expect(JSON.parse(crm('state', 'show', '--json').stdout).sources.map((s: { source: string }) => s.source)).toEqual(['profiles']);

    const again = JSON.parse(crm('extract', 'orders', '--json').stdout) as {
      extracts: { tables: { table: string; read: number; inserted: number; updated: number }[] }[];
    };
    const orders = again.extracts[0]!.tables.find((t) => t.table === 'orders')!;
    expect(orders.read).toBeGreaterThan(100);
    expect({ inserted: orders.inserted, updated: orders.updated }).toEqual({ inserted: 0, updated: 0 });
    expect(crm('state', 'reset', 'orders').stdout).toContain('state reset');
    expect(crm('state', 'reset', 'nothing_here').stdout).toContain('nothing_here: had no state');
  }, 120_000); // eleven CLI processes, one after another

  it('shows state beside a running API (both read-only) and refuses a reset while the API holds the file, with exit 4', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'held-'));
    expect(crmIn(dir, 'generate', '--customers', '20', '--orders', '50').code).toBe(0);
    expect(crmIn(dir, 'extract', 'orders').code).toBe(0);
    const reader = new WarehouseReader(path.join(dir, 'wh.duckdb')); // the API's reader, default idle close
    try {
      await reader.check();
      expect(crmIn(dir, 'state', 'show', 'orders').stdout).toContain('file orders/orders.csv');
      const reset = crmIn(dir, 'state', 'reset', 'orders');
      expect(reset.code).toBe(4);
      expect(reset.stderr).toMatch(/is open in another process .*CRM_API_IDLE_CLOSE_MS.*lock/);
    } finally {
      await reader.close();
    }
    expect(crmIn(dir, 'state', 'reset', 'orders').code).toBe(0); // once the API lets go
  }, 120_000);

  it('refuses a reset while a run holds the warehouse lock (its publish would overwrite it), with exit 4 naming the run', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'locked-'));
    expect(crmIn(dir, 'generate', '--customers', '20', '--orders', '50').code).toBe(0);
    expect(crmIn(dir, 'extract', 'orders').code).toBe(0);
    const lock = await acquireRunLock(warehouseLayout(path.join(dir, 'wh.duckdb')).lock, { runId: 'run-in-progress', command: 'run' });
    try {
      const reset = crmIn(dir, 'state', 'reset', 'orders');
      expect(reset.code).toBe(4);
      expect(reset.stderr).toContain('run run-in-progress');
      expect(crmIn(dir, 'state', 'show', 'orders').stdout).toContain('file orders/orders.csv'); // untouched
    } finally {
      lock.release();
    }
    const reset = crmIn(dir, 'state', 'reset', 'orders', '--json');
    expect(reset.code).toBe(0);
    expect(JSON.parse(reset.stdout).files).toBe(5);
    expect(fs.existsSync(warehouseLayout(path.join(dir, 'wh.duckdb')).lock)).toBe(false); // released
  }, 120_000);
});

import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { executeRun, type RunSummary } from '../../pipelines/run/execute-run.ts';
import type { PipelineStep } from '../../pipelines/run/steps.ts';
import { RunLedger } from '../../pipelines/ledger/ledger.ts';
import { warehouseLayout } from '../../pipelines/publish/layout.ts';
import { openWarehouse } from '../../pipelines/raw/warehouse-connection.ts';
import { configSchema, type CrmConfig } from '../../shared/config.ts';

/**
 * The run engine on tiny steps (no dbt): publish only on success, partial runs and retries, the
 * ledger, retention, interrupted runs, and alert hooks (a real command and a real HTTP server).
 */
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-run-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let dir: string;
let published: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(root, 'w-'));
  published = path.join(dir, 'crm.duckdb');
});

const config = (overrides: Record<string, unknown> = {}): CrmConfig =>
  configSchema.parse({ extract: { retries: 2, retryDelaySeconds: 0 }, ...overrides });

/** A step that appends one row to t(value) in the build. */
const insertStep = (id: string, value: number, onFailure: PipelineStep['onFailure'] = 'fatal'): PipelineStep => ({
  id,
  kind: 'test',
  title: id,
  onFailure,
  async run(ctx) {
    const wh = await openWarehouse(ctx.warehousePath);
    try {
      await wh.connection.run('CREATE TABLE IF NOT EXISTS t (value INTEGER)');
      await wh.connection.run(`INSERT INTO t VALUES (${value})`);
    } finally {
      wh.close();
    }
    return { rowsIn: 1, rowsOut: 1, rejects: 0 };
  },
});
const failingStep = (id: string, onFailure: PipelineStep['onFailure'], retries = 0): PipelineStep & { calls: number } => {
  const step = {
    id,
    kind: 'extract',
    title: id,
    onFailure,
    retries,
    retryDelaySeconds: 0,
    calls: 0,
    async run() {
      step.calls += 1;
      throw new Error(`${id}: cannot connect to 127.0.0.1:9 (ECONNREFUSED)`);
    },
  };
  return step;
};

async function values(file: string): Promise<number[]> {
  const wh = await openWarehouse(file, { readOnly: true });
  try {
    return (await wh.connection.runAndReadAll('SELECT value FROM t ORDER BY value')).getRows().map((r) => Number(r[0]));
  } finally {
    wh.close();
  }
}

const run = (steps: PipelineStep[], cfg: CrmConfig = config()): Promise<RunSummary> =>
  executeRun({ publishedPath: published, landingDir: dir, command: 'test', args: [], steps, config: cfg, interactive: false });

describe('executeRun', () => {
  it('publishes a passing run by rename (new inode) and records it with its steps in the ledger and in ops.*', async () => {
    const first = await run([insertStep('a', 1)]);
    expect(first.status).toBe('succeeded');
    expect(first.published).toBe(true);
    const inode = fs.statSync(published).ino;
    const second = await run([insertStep('a', 2)]);
    expect(second.published).toBe(true);
    expect(fs.statSync(published).ino).not.toBe(inode);
    expect(await values(published)).toEqual([1, 2]);
    expect(fs.existsSync(`${published}.wal`)).toBe(false);
    expect(fs.readdirSync(warehouseLayout(published).buildsDir)).toEqual([]);

    const ledger = new RunLedger(warehouseLayout(published).ledger);
    const runs = await ledger.recentRuns(10);
    expect(runs.map((r) => [r.runId, r.status, r.published])).toEqual([
      [second.runId, 'succeeded', true],
      [first.runId, 'succeeded', true],
    ]);
    const steps = await ledger.stepsOf(second.runId);
    expect(steps.map((s) => [s.stepId, s.status, s.rowsIn, s.rowsOut])).toEqual([
      ['a', 'succeeded', 1, 1],
      ['publish', 'succeeded', null, null],
    ]);
    const wh = await openWarehouse(published, { readOnly: true });
    try {
      const mirrored = (await wh.connection.runAndReadAll('SELECT run_id, status FROM ops.pipeline_runs ORDER BY started_at')).getRows();
      expect(mirrored).toEqual([
        [first.runId, 'succeeded'],
        [second.runId, 'running'],
      ]);
    } finally {
      wh.close();
    }
  });

  it('publishes nothing when a fatal step fails, and records the error text', async () => {
    await run([insertStep('a', 1)]);
    const before = fs.statSync(published);
    const failed = await run([insertStep('a', 2), { ...failingStep('dbt:build', 'fatal'), kind: 'dbt' }, insertStep('never', 3)]);
    expect(failed.status).toBe('failed');
    expect(failed.published).toBe(false);
    expect(failed.error).toContain('dbt:build: dbt:build: cannot connect');
    expect(failed.steps.map((s) => s.id)).toEqual(['a', 'dbt:build']);
    expect(fs.statSync(published).ino).toBe(before.ino);
    expect(await values(published)).toEqual([1]);
    const ledger = new RunLedger(warehouseLayout(published).ledger);
    const [last] = await ledger.recentRuns(1);
    expect(last).toMatchObject({ runId: failed.runId, status: 'failed', published: false });
    expect((await ledger.stepsOf(failed.runId)).find((s) => s.stepId === 'dbt:build')).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('ECONNREFUSED'),
    });
    expect(fs.readdirSync(warehouseLayout(published).buildsDir)).toEqual([]);
  });

  it('retries a failing source, marks the run partial, and publishes it only when configured to', async () => {
    const flaky = failingStep('extract:orders_pg', 'partial', 2);
    const partial = await run([insertStep('extract:files', 1, 'partial'), flaky]);
    expect(flaky.calls).toBe(3);
    expect(partial.status).toBe('partial');
    expect(partial.published).toBe(false);
    expect(partial.steps.find((s) => s.id === 'extract:orders_pg')).toMatchObject({ status: 'failed', attempts: 3 });
    expect(fs.existsSync(published)).toBe(false);

    const published2 = await run(
      [insertStep('extract:files', 1, 'partial'), failingStep('extract:orders_pg', 'partial')],
      config({ publish: { publishPartial: true } }),
    );
    expect(published2).toMatchObject({ status: 'partial', published: true });
    expect(await values(published)).toEqual([1]);

    const allFailed = await run([failingStep('extract:a', 'partial'), failingStep('extract:b', 'partial')]);
    expect(allFailed.status).toBe('failed');
  });

  it('keeps `retention` previous versions and marks runs that died as interrupted', async () => {
    for (let i = 1; i <= 4; i++) await run([insertStep('a', i)], config({ publish: { retention: 2 } }));
    const layout = warehouseLayout(published);
    expect(fs.readdirSync(layout.versionsDir)).toHaveLength(2);
    // The newest kept version is the one the last run replaced: three rows.
    const newest = fs.readdirSync(layout.versionsDir).sort().at(-1)!;
    expect(await values(path.join(layout.versionsDir, newest))).toEqual([1, 2, 3]);

    // A run that died mid-way (its row says running, its build is left behind).
    const ledger = new RunLedger(layout.ledger);
    await ledger.startRun({ runId: '20000101T000000-dead00', command: 'run', args: [], pid: 999_999 });
    fs.writeFileSync(path.join(layout.buildsDir, '20000101T000000-dead00.duckdb'), 'half a build');
    const next = await run([insertStep('a', 5)]);
    expect(next.cleanedUp.buildsRemoved).toEqual([path.join(layout.buildsDir, '20000101T000000-dead00.duckdb')]);
    const dead = (await ledger.recentRuns(10)).find((r) => r.runId === '20000101T000000-dead00');
    expect(dead).toMatchObject({ status: 'interrupted', error: expect.stringContaining('died') });
  });

  it('calls the alert command and webhook (a real local HTTP server) when a run fails', async () => {
    const received: unknown[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req
        .on('data', (c) => (body += c))
        .on('end', () => {
          received.push(JSON.parse(body));
          res.writeHead(204).end();
        });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const out = path.join(dir, 'alert.json');
      const cfg = config({
        alerts: { command: `cat > '${out}'`, webhook: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` },
      });
      const failed = await run([failingStep('dbt:build', 'fatal')], cfg);
      expect(failed.alerts.map((a) => [a.hook, a.ok])).toEqual([
        ['command', true],
        ['webhook', true],
      ]);
      const viaCommand = JSON.parse(fs.readFileSync(out, 'utf8')) as { kind: string; runId: string; summary: string };
      expect(viaCommand).toMatchObject({ kind: 'run_failed', runId: failed.runId });
      expect(viaCommand.summary).toContain('ECONNREFUSED');
      expect(received).toEqual([expect.objectContaining({ kind: 'run_failed', runId: failed.runId })]);

      const ok = await run([insertStep('a', 1)], cfg);
      expect(ok.alerts).toEqual([]);
      expect(received).toHaveLength(1);

      const broken = await run([failingStep('dbt:build', 'fatal')], config({ alerts: { webhook: 'http://127.0.0.1:9/closed' } }));
      expect(broken.alerts).toEqual([expect.objectContaining({ hook: 'webhook', ok: false })]);
      expect(broken.status).toBe('failed');
    } finally {
      server.close();
    }
  });
});

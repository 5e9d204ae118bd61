import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../shared/paths.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
// No retry delays in unit tests; a schedule that fires every second runs `crm status`.
const configPath = path.join(tmp, 'crm.config.json');
fs.writeFileSync(
  configPath,
  JSON.stringify({
    extract: { retries: 1, retryDelaySeconds: 0 },
    schedules: [{ name: 'every-second', cron: '* * * * * *', command: ['status', '--json', '--no-alert'] }],
  }),
);

function crm(...args: string[]) {
  const result = spawnSync(path.join(projectRoot, 'node_modules', '.bin', 'tsx'), ['cli/crm.ts', ...args], {
    cwd: projectRoot,
    encoding: 'utf8',
    env: {
      ...process.env,
      CI: 'true',
      CRM_WAREHOUSE_PATH: path.join(tmp, 'wh.duckdb'),
      CRM_LANDING_DIR: path.join(tmp, 'landing'),
      CRM_CONFIG: configPath,
      CRM_LOG_LEVEL: 'warn',
    },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('crm CLI', () => {
  it('documents every command and its exit codes in --help', () => {
    const { code, stdout } = crm('--help');
    expect(code).toBe(0);
    for (const command of ['setup', 'generate', 'extract', 'transform', 'run', 'quickstart', 'serve']) expect(stdout).toContain(command);
    expect(stdout).toContain('Exit codes');
    for (const command of ['refresh', 'backfill', 'status', 'history', 'schedule']) expect(stdout).toContain(command);
    expect(stdout).toMatch(/4 {2}another run holds the warehouse lock/);
    expect(stdout).toMatch(/5 {2}partial run/);
    for (const command of ['run', 'status', 'schedule']) expect(crm(command, '--help').stdout).toContain('--json');
    expect(crm('extract', '--help').stdout).toContain('--json');
  });

  it('exits 2 on usage errors with a message naming the problem', () => {
    const unknown = crm('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    const badNumber = crm('generate', '--orders', 'lots');
    expect(badNumber.code).toBe(2);
    expect(badNumber.stderr).toContain('orders must be a whole number');
    const badSource = crm('extract', 'carrier_pigeons');
    expect(badSource.code).toBe(2);
    expect(badSource.stderr).toContain('unknown source "carrier_pigeons"');
  });

  it('fails a source whose landing folder is missing with one line naming the source and path, writing nothing', () => {
    const { code, stderr } = crm('extract', 'orders', '--landing', path.join(tmp, 'nowhere'));
    expect(code).toBe(1);
    const lastLine = stderr.trim().split('\n').at(-1);
    expect(lastLine).toMatch(/^crm: run \S+ failed, nothing published: extract:orders: /);
    expect(lastLine).toContain(`orders: landing folder not found: ${path.join(tmp, 'nowhere', 'orders')}`);
    expect(fs.existsSync(path.join(tmp, 'wh.duckdb'))).toBe(false);
  });

  it('generates and extracts with --json output a machine can read', () => {
    const generated = crm('generate', '--customers', '20', '--orders', '100', '--json');
    expect(generated.code).toBe(0);
    expect(JSON.parse(generated.stdout).counts.orders).toBe(100);
    const extracted = crm('extract', 'orders', '--json');
    expect(extracted.code).toBe(0);
    const summary = JSON.parse(extracted.stdout) as { extracts: { tables: { table: string; inserted: number }[] }[] };
    expect(summary.extracts[0]!.tables.find((t) => t.table === 'orders')!.inserted).toBe(100);
  });

  it('records runs in the ledger: status and history answer in JSON', () => {
    const status = crm('status', '--json', '--no-alert');
    expect(status.code).toBe(0);
    const body = JSON.parse(status.stdout) as {
      lastRuns: { command: string; status: string; published: boolean }[];
      sources: { name: string; stale: boolean }[];
      unhealthy: boolean;
    };
    expect(body.lastRuns.slice(0, 2).map((r) => [r.command, r.status, r.published])).toEqual([
      ['extract', 'succeeded', true],
      ['extract', 'failed', false],
    ]);
    expect(body.sources.find((s) => s.name === 'orders')).toMatchObject({ stale: false });
    expect(body.sources.find((s) => s.name === 'profiles')).toMatchObject({ stale: true, lastAt: null });
    expect(crm('status', '--check', '--no-alert').code).toBe(1); // profiles never loaded
    const history = JSON.parse(crm('history', '--json').stdout) as { runs: { runId: string }[] };
    const detail = crm('history', '--run', history.runs[0]!.runId, '--json');
    const steps = (JSON.parse(detail.stdout) as { steps: { stepId: string; rowsIn: number; status: string }[] }).steps;
    expect(steps.map((s) => [s.stepId, s.status])).toEqual([
      ['extract:orders', 'succeeded'],
      ['publish', 'succeeded'],
    ]);
    expect(steps[0]!.rowsIn).toBeGreaterThanOrEqual(100);
  });

  it('exits 4 with the holder named while another live run holds the lock', () => {
    const lock = path.join(tmp, 'wh.lock');
    fs.writeFileSync(
      lock,
      JSON.stringify({ pid: process.pid, runId: 'held-by-test', command: 'run', host: os.hostname(), startedAt: 'now' }),
    );
    try {
      const locked = crm('extract', 'orders');
      expect(locked.code).toBe(4);
      expect(locked.stderr).toContain('another run holds the warehouse lock: run held-by-test');
    } finally {
      fs.rmSync(lock);
    }
  });

  it('lists schedules and runs a scheduled job with the built-in scheduler', () => {
    const list = crm('schedule', '--list', '--json');
    expect(list.code).toBe(0);
    const schedules = (JSON.parse(list.stdout) as { schedules: { name: string; next: string[] }[] }).schedules;
    expect(schedules[0]!.name).toBe('every-second');
    expect(Date.parse(schedules[0]!.next[1]!) - Date.parse(schedules[0]!.next[0]!)).toBe(1000);
    const ran = crm('schedule', '--max-jobs', '1', '--json');
    expect(ran.code, ran.stderr).toBe(0);
    expect((JSON.parse(ran.stdout) as { jobs: { schedule: string; exitCode: number }[] }).jobs).toEqual([
      expect.objectContaining({ schedule: 'every-second', exitCode: 0 }),
    ]);
    const badConfig = path.join(tmp, 'bad.config.json');
    fs.writeFileSync(badConfig, JSON.stringify({ schedules: [{ name: 'x', cron: 'every tuesday', command: ['run'] }] }));
    const bad = crm('schedule', '--list', '--config', badConfig);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('schedule "x": invalid cron expression "every tuesday"');
  });

  it('never interleaves two runs started at once: with --wait the second runs after the first', async () => {
    const start = () =>
      new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const child = spawn(
          path.join(projectRoot, 'node_modules', '.bin', 'tsx'),
          ['cli/crm.ts', 'extract', 'orders', '--wait', '60', '--json'],
          {
            cwd: projectRoot,
            env: {
              ...process.env,
              CI: 'true',
              CRM_WAREHOUSE_PATH: path.join(tmp, 'wh.duckdb'),
              CRM_LANDING_DIR: path.join(tmp, 'landing'),
              CRM_CONFIG: configPath,
              CRM_LOG_LEVEL: 'warn',
            },
            stdio: ['ignore', 'pipe', 'ignore'],
          },
        );
        let stdout = '';
        child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
        child.on('close', (code) => resolve({ code, stdout }));
      });
    const both = await Promise.all([start(), start()]);
    expect(both.map((r) => r.code)).toEqual([0, 0]);
    const runIds = both.map((r) => (JSON.parse(r.stdout) as { runId: string }).runId);
    const runs = (JSON.parse(crm('history', '--json').stdout) as { runs: { runId: string; startedAt: string; finishedAt: string }[] }).runs
      .filter((r) => runIds.includes(r.runId))
      .sort((a, b) => a.startedAt.localeCompare(b.startedAt));
    expect(runs).toHaveLength(2);
    expect(runs[1]!.startedAt >= runs[0]!.finishedAt).toBe(true);
  });
});

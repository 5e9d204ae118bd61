import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunLockedError, acquireRunLock } from '../../pipelines/publish/run-lock.ts';
import { configSchema, loadConfig, ConfigError } from '../../shared/config.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-lock-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('run lock', () => {
  it('lets one run in; a second fails at once naming the holder, or waits for it with --wait', async () => {
    const lockPath = path.join(dir, 'a.lock');
    const first = await acquireRunLock(lockPath, { runId: 'r1', command: 'run' });
    expect(JSON.parse(fs.readFileSync(lockPath, 'utf8'))).toMatchObject({ pid: process.pid, runId: 'r1' });
    const refused = await acquireRunLock(lockPath, { runId: 'r2', command: 'extract' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RunLockedError);
    expect((refused as Error).message).toContain(`run r1 (run, pid ${process.pid}`);

    setTimeout(() => first.release(), 300);
    const second = await acquireRunLock(lockPath, { runId: 'r2', command: 'extract' }, { waitSeconds: 5, pollMs: 50 });
    expect(second.holder.runId).toBe('r2');
    first.release(); // releasing twice never removes someone else's lock
    expect(fs.existsSync(lockPath)).toBe(true);
    second.release();
    expect(fs.existsSync(lockPath)).toBe(false);
  });

  it('takes over the lock of a process that died (kill -9)', async () => {
    const lockPath = path.join(dir, 'b.lock');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    fs.writeFileSync(
      lockPath,
      JSON.stringify({ pid: Number(dead.stdout), runId: 'dead', command: 'run', host: os.hostname(), startedAt: 'then' }),
    );
    const lock = await acquireRunLock(lockPath, { runId: 'alive', command: 'run' });
    expect(lock.staleHolder?.runId).toBe('dead');
    lock.release();
  });
});

describe('crm.config.json', () => {
  it('has documented defaults and names the bad field of a wrong file', () => {
    expect(configSchema.parse({})).toEqual({
      shop: { timezone: 'Asia/Shanghai', reportingCurrency: 'CNY' },
      schedules: [],
      freshness: { defaultMaxAgeHours: 24, sources: {}, marts: {} },
      alerts: { timeoutSeconds: 10 },
      publish: { retention: 3, publishPartial: false },
      extract: { retries: 2, retryDelaySeconds: 1 },
      sources: {},
      opinion: { feeds: [] },
      clv: { refitEveryDays: 7, model: 'auto' },
      transform: { unitTests: false },
    });
    expect(loadConfig(path.join(dir, 'absent.json')).publish.retention).toBe(3);
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ publish: { retention: -1 }, schedules: [{ name: 'x', cron: '* * * * *' }] }));
    expect(() => loadConfig(bad)).toThrow(ConfigError);
    expect(() => loadConfig(bad)).toThrow(/schedules\.0\.command: .*publish\.retention: .*>=0/);
  });
});

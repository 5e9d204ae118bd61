import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../pipelines/shared/paths.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function crm(...args: string[]) {
  const result = spawnSync(path.join(projectRoot, 'node_modules', '.bin', 'tsx'), ['pipelines/cli.ts', ...args], {
    cwd: projectRoot,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true', CRM_WAREHOUSE_PATH: path.join(tmp, 'wh.duckdb'), CRM_LANDING_DIR: path.join(tmp, 'landing') },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('crm CLI', () => {
  it('documents every command and its exit codes in --help', () => {
    const { code, stdout } = crm('--help');
    expect(code).toBe(0);
    for (const command of ['setup', 'generate', 'extract', 'transform', 'run', 'quickstart', 'serve']) expect(stdout).toContain(command);
    expect(stdout).toContain('Exit codes');
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

  it('fails a source whose landing file is missing with one line naming the source and path, writing nothing', () => {
    const { code, stderr } = crm('extract', 'orders', '--landing', path.join(tmp, 'nowhere'));
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(`crm: orders: landing file not found: ${path.join(tmp, 'nowhere', 'orders', 'orders.csv')}`);
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
});

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../api/auth.ts';
import { projectRoot } from '../../shared/paths.ts';
import { createFixtureWarehouse } from './api-fixture.ts';

const tsx = path.join(projectRoot, 'node_modules', '.bin', 'tsx');
const SECRET = 'cli-test-secret-0123456789abcdef';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-api-cli-'));
let warehousePath: string;

beforeAll(async () => {
  warehousePath = await createFixtureWarehouse(path.join(tmp, 'warehouse.duckdb'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string | undefined> = {}) {
  const result = spawnSync(tsx, ['cli/api-main.ts', ...args], {
    cwd: projectRoot,
    encoding: 'utf8',
    env: { ...process.env, CRM_API_SECRET: SECRET, CRM_WAREHOUSE_PATH: warehousePath, ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('cli/api-main.ts', () => {
  it('documents its options, environment and exit codes in --help', () => {
    const { code, stdout } = cli(['--help']);
    expect(code).toBe(0);
    for (const text of ['--port', '--host', '--warehouse', 'CRM_API_SECRET', 'Exit codes']) expect(stdout).toContain(text);
  });

  it('exits 2 on bad configuration, naming the problem', () => {
    const noSecret = cli([], { CRM_API_SECRET: '' });
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toContain('CRM_API_SECRET is not set');
    const badPort = cli(['--port', 'eighty']);
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toContain('port must be a whole number');
    const noWarehouse = cli(['--warehouse', path.join(tmp, 'nope.duckdb')]);
    expect(noWarehouse.code).toBe(2);
    expect(noWarehouse.stderr).toContain(`warehouse not found: ${path.join(tmp, 'nope.duckdb')}`);
    const badZone = cli(['--timezone', 'Atlantis/Capital', '--port', '0']);
    expect(badZone.code).toBe(2);
    expect(badZone.stderr).toContain('Atlantis/Capital');
  });

  it('serves until SIGTERM, then exits 0', async () => {
    const child = spawn(tsx, ['cli/api-main.ts', '--port', '0', '--host', '127.0.0.1'], {
      cwd: projectRoot,
      env: { ...process.env, CRM_API_SECRET: SECRET, CRM_WAREHOUSE_PATH: warehousePath, CRM_LOG_LEVEL: 'warn' },
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /API listening on (http:\/\/\S+)/.exec(out);
          if (match) resolve(match[1]!);
        });
        child.once('exit', (code) => reject(new Error(`exited ${code} before listening`)));
      });
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
      const response = await fetch(
        `${url}/cubejs-api/v1/load?query=${encodeURIComponent(JSON.stringify({ measures: ['sales_overview.valid_order_count'] }))}`,
        {
          headers: { authorization: `Bearer ${await signDevToken(SECRET, { roles: ['analyst'] })}` },
        },
      );
      expect(((await response.json()) as { data: unknown[] }).data).toEqual([{ 'sales_overview.valid_order_count': '6' }]);
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

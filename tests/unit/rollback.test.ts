import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { executeRun } from '../../pipelines/run/execute-run.ts';
import type { PipelineStep } from '../../pipelines/run/steps.ts';
import { openWarehouse } from '../../pipelines/raw/warehouse-connection.ts';
import { loadConfig } from '../../shared/config.ts';
import { projectRoot } from '../../shared/paths.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-rollback-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const published = path.join(tmp, 'warehouse', 'crm.duckdb');
const configPath = path.join(tmp, 'crm.config.json');
fs.writeFileSync(configPath, JSON.stringify({ publish: { retention: 5 } }));

function crm(...args: string[]) {
  const result = spawnSync(path.join(projectRoot, 'node_modules', '.bin', 'tsx'), ['cli/crm.ts', ...args, '--warehouse', published], {
    cwd: projectRoot,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true', CRM_CONFIG: configPath, CRM_LOG_LEVEL: 'warn' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A run whose only step writes a marker, standing in for a pipeline run. */
async function publishMarker(marker: number): Promise<string> {
  const step: PipelineStep = {
    id: 'write-marker',
    kind: 'test',
    title: 'write marker',
    onFailure: 'fatal',
    async run(context) {
      const wh = await openWarehouse(context.warehousePath);
      await wh.connection.run(`create or replace table marker as select ${marker} as v`);
      wh.close();
      return {};
    },
  };
  const run = await executeRun({
    publishedPath: published,
    landingDir: tmp,
    command: 'run',
    args: [],
    steps: [step],
    config: loadConfig(configPath),
    interactive: false,
  });
  expect(run.published).toBe(true);
  return run.runId;
}

async function publishedMarker(): Promise<number> {
  const wh = await openWarehouse(published, { readOnly: true });
  try {
    return Number((await wh.connection.runAndReadAll('select v from marker')).getRows()[0]![0]);
  } finally {
    wh.close();
  }
}

describe('crm versions and crm rollback', () => {
  it('publishes a kept version again, keeps the one it replaces, and records the rollback as a run', async () => {
    expect(crm('rollback', '--json').code).toBe(2); // nothing kept yet: a usage error, not a crash
    const first = await publishMarker(1);
    const second = await publishMarker(2);
    expect(await publishedMarker()).toBe(2);

    const listed = crm('versions', '--json');
    expect(listed.code).toBe(0);
    const versions = JSON.parse(listed.stdout).versions as { name: string; builtBy: string; replacedBy: string }[];
    expect(versions.map((v) => [v.builtBy, v.replacedBy])).toEqual([[first, second]]);

    const back = crm('rollback', '--json');
    expect(back.code, back.stderr).toBe(0);
    const run = JSON.parse(back.stdout) as { runId: string; status: string; published: boolean };
    expect(run).toMatchObject({ status: 'succeeded', published: true });
    expect(await publishedMarker()).toBe(1);

    // The version the rollback replaced (built by the second run) is kept: roll forward to it by run id.
    const forward = crm('rollback', '--to', second, '--json');
    expect(forward.code, forward.stderr).toBe(0);
    expect(await publishedMarker()).toBe(2);

    const history = JSON.parse(crm('history', '--json').stdout).runs as { command: string; status: string; published: boolean }[];
    expect(history.filter((r) => r.command === 'rollback' && r.status === 'succeeded' && r.published)).toHaveLength(2);

    const unknown = crm('rollback', '--to', 'no-such-run');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no kept version matches no-such-run');
    expect(await publishedMarker()).toBe(2);
  }, 120_000);
});

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GENERATE_OPTIONS, generateSampleData } from '../../pipelines/sources/sample-data/generate.ts';

// The default sample shop (what `npm start` generates): 2,000 customers, 20,000 orders, seed 42.
const root = path.resolve(import.meta.dirname, '../..');
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-clv-backtest-'));
  await generateSampleData({ ...DEFAULT_GENERATE_OPTIONS, outDir: path.join(dir, 'landing') });
}, 120_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function crm(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'cli/crm.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
}

describe('crm clv backtest', () => {
  it('fits on the calibration window and beats the naive baseline on the generated shop', () => {
    const result = crm(['clv', 'backtest', '--landing', path.join(dir, 'landing'), '--holdout-days', '180', '--json']);
    expect(result.stderr).not.toMatch(/does not beat/);
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.modelBeatsBaseline).toBe(true);
    expect(report.model.purchases.mae).toBeLessThan(report.baseline.purchases.mae);
    expect(report.model.revenue.mae).toBeLessThan(report.baseline.revenue.mae);
    const actual = report.actual.purchases;
    expect(Math.abs(report.model.purchases.totalPredicted - actual)).toBeLessThan(
      Math.abs(report.baseline.purchases.totalPredicted - actual),
    );
    expect(report.customers).toBeGreaterThan(1_000);
    expect(report.fit.bgnbd.converged).toBe(true);
  }, 120_000);

  it('its exit code follows the verdict on another window (early calibration end, 1-day holdout)', () => {
    // Exit 0 exactly when modelBeatsBaseline; 1 otherwise (the verdict here may go either way).
    const result = crm([
      'clv',
      'backtest',
      '--landing',
      path.join(dir, 'landing'),
      '--calibration-end',
      '2024-03-01',
      '--holdout-days',
      '1',
      '--json',
    ]);
    const report = JSON.parse(result.stdout);
    expect(result.status).toBe(report.modelBeatsBaseline ? 0 : 1);
  }, 120_000);

  it('rejects a bad option with exit 2', () => {
    expect(crm(['clv', 'backtest', '--holdout-days', 'zero']).status).toBe(2);
  });
});

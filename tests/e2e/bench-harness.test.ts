import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchReport } from '../../benchmarks/report.ts';
import { projectRoot } from '../../pipelines/shared/paths.ts';

// The benchmark harness itself (not its figures): at the smoke scale it generates its data set,
// measures both sides of the extract stage and writes the JSON and Markdown reports.
describe('npm run bench', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-bench-test-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reports the extract stage beside DuckDB reading the same files, as ratios, in JSON and Markdown', () => {
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'benchmarks/bench.ts', '--scale', 'smoke', '--stages', 'extract', '--bench-dir', dir, '--markdown-dir', path.join(dir, 'md'), '--json'],
      { cwd: projectRoot, encoding: 'utf8' },
    );
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as BenchReport & { files: { json: string; markdown: string } };
    expect(report.scale.name).toBe('smoke');
    const [extract] = report.stages;
    expect(extract!.stage).toBe('extract');
    expect(typeof extract!.met).toBe('boolean');
    // Both sides read every record of the same files: the comparison is like for like.
    for (const format of ['csv', 'ndjson']) {
      const counts = extract!.rows.find((r) => r.label === `${format}: records read / rejected`)!;
      expect(counts.value).toBe(counts.baseline);
      const rate = extract!.rows.find((r) => r.label.startsWith(`${format}: records/s`))!;
      expect(rate.ratio).toBeCloseTo(rate.value / rate.baseline!, 2);
    }
    const orders = report.dataset.counts as { orders: number; orderItems: number };
    expect(extract!.rows.find((r) => r.label === 'csv: records read / rejected')!.value).toBeGreaterThan(orders.orders + orders.orderItems);
    expect(fs.readFileSync(report.files.markdown, 'utf8')).toContain('| csv: records/s (extractor vs DuckDB reader) |');
    expect(JSON.parse(fs.readFileSync(report.files.json, 'utf8'))).toMatchObject({ scale: { name: 'smoke' } });
  });
});

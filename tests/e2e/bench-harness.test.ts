import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchReport } from '../../benchmarks/report.ts';
import { projectRoot } from '../../shared/paths.ts';

// The benchmark harness itself (not its figures): at the smoke scale it generates its data set,
// measures both sides of the extract stage, the semantic-query and API throughput stages (against
// DuckDB on the same SQL and a no-op route), and writes the JSON and Markdown reports.
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

  it('reports semantic-query latency (rollups, marts, DuckDB on the same SQL) and API throughput against a no-op route, keeping other stages in the Markdown', () => {
    const mdDir = path.join(dir, 'md-api');
    fs.mkdirSync(mdDir, { recursive: true });
    // A table from an earlier run of another stage: this run must keep it.
    fs.writeFileSync(path.join(mdDir, 'smoke.md'), '# Benchmark: smoke\n\nRun 2026-01-01T00:00:00.000Z in 1 s on a test.\n\n## Earlier stage\n\nGoal: kept. Verdict: **met**.\n\n| measure | value |\n\n- kept note\n');
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'benchmarks/bench.ts', '--scale', 'smoke', '--stages', 'semantic', 'throughput', '--repeat', '2', '--seconds', '1',
        '--bench-dir', dir, '--markdown-dir', mdDir, '--json'],
      { cwd: projectRoot, encoding: 'utf8' },
    );
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as BenchReport & { files: { json: string; markdown: string } };
    const [semantic, throughput] = report.stages;
    expect(semantic!.stage).toBe('semantic');
    expect(semantic!.met).toBeNull(); // judged at 10m only
    for (const label of ['pre-aggregated: p50', 'pre-aggregated: p95', 'no pre-aggregations: p50', 'no pre-aggregations: p95']) {
      const row = semantic!.rows.find((r) => r.label.startsWith(label))!;
      expect(row.value, label).toBeGreaterThan(0);
      expect(row.baseline, label).toBeGreaterThan(0);
      expect(row.ratio).toBeCloseTo(row.value / row.baseline!, 1);
    }
    // Every dashboard query was measured; the rollups answered most of them, with the marts' row counts.
    expect(semantic!.rows.filter((r) => r.label.includes(': p95 pre-aggregated')).length).toBeGreaterThanOrEqual(10);
    // The cost of reopening the file, beside the API that keeps it open.
    const reopened = semantic!.rows.find((r) => r.label.startsWith('reopening the file for every query: p95'))!;
    expect(reopened.value).toBeGreaterThan(0);
    expect(reopened.baseline).toBe(semantic!.rows.find((r) => r.label.startsWith('pre-aggregated: p95'))!.value);
    const fromRollups = /answered from rollups: (\d+) of (\d+)/.exec(semantic!.notes.join('\n'))!;
    expect(Number(fromRollups[1])).toBeGreaterThanOrEqual(Number(fromRollups[2]) - 1);
    expect(semantic!.notes).toContain('every mode answered each query with the same number of rows');

    expect(throughput!.stage).toBe('throughput');
    expect(typeof throughput!.met).toBe('boolean');
    const noop = throughput!.rows.find((r) => r.label.startsWith('no-op'))!;
    const scorecard = throughput!.rows.find((r) => r.label.startsWith('KPI scorecard (cached): requests/s'))!;
    expect(noop.value).toBeGreaterThan(0);
    expect(scorecard.value).toBeGreaterThan(0);
    expect(scorecard.ratio).toBeCloseTo(scorecard.value / noop.value, 1);
    expect(throughput!.rows.find((r) => r.label.startsWith('errors'))!.value).toBe(0);

    const markdown = fs.readFileSync(report.files.markdown, 'utf8');
    expect(markdown).toContain('## Semantic queries');
    expect(markdown).toContain('## API throughput');
    expect(markdown).toContain('## Earlier stage\n\n_From the run of 2026-01-01T00:00:00.000Z._');
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BENCHMARKS_DOC_HEADER, benchmarksDoc, mergeLatest, writeBenchmarksDoc, type BenchReport } from '../../benchmarks/report.ts';

// docs/benchmarks.md is rendered from the latest result of each stage at each scale: a small report in, Markdown out.
const machine = { cpus: 2, cpuModel: 'Test CPU', memoryGiB: 8, node: 'v20.0.0', platform: 'linux test' };
const report = (startedAt: string, stages: BenchReport['stages']): BenchReport => ({
  scale: { name: '10m', orders: 10_000_000, customers: 1_000_000 },
  seed: 42,
  startedAt,
  seconds: 10,
  machine,
  dataset: { generatedSeconds: null, counts: {} },
  stages,
});
const dbt = (incremental: number): BenchReport['stages'][number] => ({
  stage: 'dbt',
  title: 'dbt build of all marts',
  goal: 'full build under 10 minutes, incremental under 15 % of full',
  met: false,
  rows: [
    { label: 'full build (transform steps)', value: 200, unit: 's', baseline: 600, ratio: 0.333 },
    { label: 'incremental build (transform steps)', value: incremental, unit: 's', baseline: 200, ratio: incremental / 200 },
    { label: 'of which dbt (full / incremental)', value: 150, unit: 's', baseline: 80 },
  ],
  notes: ['delta: 1 % of orders'],
});
const semantic: BenchReport['stages'][number] = {
  stage: 'semantic',
  title: 'Semantic queries',
  goal: 'pre-aggregated p95 under 30 ms',
  met: true,
  rows: [{ label: 'pre-aggregated: p95 (baseline: DuckDB running the same SQL)', value: 14.9, unit: 'ms', baseline: 17.6, ratio: 0.85 }],
  notes: [],
};

describe('benchmarks page', () => {
  it('renders the header, machine, date, and per stage the figure, baseline, ratio, goal and verdict', () => {
    const md = benchmarksDoc(mergeLatest(undefined, report('2026-12-04T22:22:35.443Z', [dbt(116), semantic])));
    expect(md.split('\n')[2]).toBe(BENCHMARKS_DOC_HEADER);
    expect(md).toContain('do not edit by hand');
    expect(md).toContain(
      '| 10m | dbt | full build (transform steps) | 200 s | 600 | 0.333 | full build under 10 minutes, incremental under 15 % of full | **missed** | 2026-12-04 22:22 UTC | 2 × Test CPU, Node v20.0.0 |',
    );
    expect(md).toContain('|  |  | incremental build (transform steps) | 116 s | 200 | 0.58 |');
    expect(md).toContain(
      '| 10m | semantic | pre-aggregated: p95 (baseline: DuckDB running the same SQL) | 14.9 ms | 17.6 | 0.85 | pre-aggregated p95 under 30 ms | **met** |',
    );
    expect(md).toContain('### 10m: dbt build of all marts');
    expect(md).toContain('| of which dbt (full / incremental) | 150 | s | 80 |  |');
    expect(md).toContain('- delta: 1 % of orders');
  });

  it('keeps the stages a run did not measure, replaces the ones it did, and drops the reconstruction note once every entry is from a run', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-bench-report-'));
    try {
      const latestFile = path.join(dir, 'latest.json');
      const docFile = path.join(dir, 'benchmarks.md');
      const first = mergeLatest(undefined, report('2026-12-01T00:00:00.000Z', [dbt(116), semantic]));
      first.note = 'Figures reconstructed from earlier reports.';
      first.scales['10m']!.stages['semantic']!.run.reconstructed = true;
      fs.writeFileSync(latestFile, JSON.stringify(first));
      writeBenchmarksDoc(report('2026-12-05T00:00:00.000Z', [dbt(30)]), latestFile, docFile);
      let md = fs.readFileSync(docFile, 'utf8');
      expect(md).toContain('> Figures reconstructed from earlier reports.');
      expect(md).toContain('| 30 s | 200 | 0.15 |');
      expect(md).not.toContain('| 116 s |');
      expect(md).toContain('Run 2026-12-01 00:00 UTC (seed 42)'); // the semantic stage, kept from its run
      writeBenchmarksDoc(report('2026-12-06T00:00:00.000Z', [semantic]), latestFile, docFile);
      md = fs.readFileSync(docFile, 'utf8');
      expect(md).not.toContain('reconstructed');
      expect(JSON.parse(fs.readFileSync(latestFile, 'utf8')).note).toBeUndefined();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

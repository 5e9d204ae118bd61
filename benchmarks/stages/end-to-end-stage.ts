import fs from 'node:fs';
import path from 'node:path';
import { loadQuery, startApiProcess } from '../api-process.ts';
import { runCrm, runWorker } from '../child-process.ts';
import type { BenchDataset } from '../dataset.ts';
import { round, type StageResult } from '../stage-result.ts';

const ORDER_COUNT_QUERY = { measures: ['executive_kpis.count'] };

/**
 * Stage 5: new orders land in the landing folder -> one scheduled `crm run` (extract, dbt build,
 * pre-aggregations, publish) -> the API that kept serving answers with them. Measured from the
 * moment the files land to the first API answer that counts them. Baseline: the least work that
 * makes the same files queryable, DuckDB reading them into a table, in the same run.
 * Needs the warehouse the dbt stage built (it runs that stage's extract first when absent).
 */
export async function endToEndStage(dataset: BenchDataset, workDir: string, log: (line: string) => void): Promise<StageResult> {
  const warehouse = path.join(workDir, 'dbt', 'crm.duckdb');
  if (!fs.existsSync(warehouse)) {
    log('no warehouse from the dbt stage: building one ...');
    await runCrm(['run', '--landing', dataset.landingDir, '--warehouse', warehouse], { CRM_LOG_LEVEL: 'warn' });
  }
  const landing = path.join(workDir, 'e2e', 'landing');
  fs.rmSync(path.dirname(landing), { recursive: true, force: true });
  // The other file-drop sources find their folders empty: nothing new, nothing failed.
  for (const folder of ['profiles', 'service', 'opinion']) fs.mkdirSync(path.join(landing, folder), { recursive: true });
  const staged = path.join(workDir, 'e2e', 'staged');
  const delta = await runWorker('orders-delta', { landingDir: dataset.landingDir, outDir: staged, fraction: 0.002, prefix: 'E' });

  const api = await startApiProcess(warehouse);
  try {
    const before = Number((await loadQuery(api, ORDER_COUNT_QUERY)).data[0]?.['executive_kpis.count']);
    const expected = before + Number(delta.added);
    log(`landing ${String(delta.added)} new orders; the API answers ${before} orders now ...`);
    const landedAt = performance.now();
    fs.cpSync(path.join(staged, 'orders'), path.join(landing, 'orders'), { recursive: true });
    const run = await runCrm(['run', '--landing', landing, '--warehouse', warehouse], { CRM_LOG_LEVEL: 'warn' });
    let answered = NaN;
    let count = before;
    for (let attempt = 0; attempt < 200; attempt++) {
      count = Number((await loadQuery(api, ORDER_COUNT_QUERY)).data[0]?.['executive_kpis.count']);
      if (count === expected) {
        answered = (performance.now() - landedAt) / 1000;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (Number.isNaN(answered)) throw new Error(`the API still answers ${count} orders after the run, expected ${expected}`);
    const baseline = await runWorker('duckdb-read', {
      files: fs
        .readdirSync(path.join(staged, 'orders'))
        .map((name) => ({ table: name.replace(/\W/g, '_'), path: path.join(staged, 'orders', name) })),
      warehousePath: path.join(workDir, 'e2e', 'baseline.duckdb'),
    });
    return {
      stage: 'end-to-end',
      title: 'End to end: new orders landing to the API answering with them (one scheduled run)',
      goal: 'reported, no fixed goal in the issue: the ratio shows what the governed path costs over a bare load',
      met: null,
      rows: [
        {
          label: 'landing to answer',
          value: round(answered),
          unit: 's',
          baseline: round(baseline.seconds, 3),
          ratio: round(answered / baseline.seconds, 1),
        },
        { label: 'of which the crm run (extract, dbt, pre-aggregations, publish)', value: round(run.seconds), unit: 's' },
      ],
      notes: [`${String(delta.added)} new and ${String(delta.changed)} changed orders; the API kept serving during the run`],
    };
  } finally {
    await api.stop();
  }
}

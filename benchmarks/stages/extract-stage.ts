import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_EXTRACT_MEMORY_LIMIT } from '../../pipelines/extract/run-extract.ts';
import { runWorker } from '../child-process.ts';
import type { BenchDataset } from '../dataset.ts';
import { round, type StageResult } from '../stage-result.ts';

/** The orders family's files (orders, items, payments, refunds, cancellations) as raw tables. */
const ORDER_FILES = ['orders', 'order_items', 'payments', 'refunds', 'cancellations'];
const GIB = 1024;

/**
 * Stage 1: the orders file-drop source (parse, zod validation, quarantine, dedupe, upsert) against
 * DuckDB's own read_csv / read_json of the same files into plain tables, in the same run, with the
 * same memory limit. Each side runs in its own process on a fresh warehouse file.
 */
export async function extractStage(dataset: BenchDataset, workDir: string, log: (line: string) => void): Promise<StageResult> {
  const csvLanding = dataset.landingDir;
  const ndjsonLanding = path.join(dataset.dir, 'landing-ndjson');
  const ndjsonMarker = path.join(ndjsonLanding, 'complete');
  if (!fs.existsSync(ndjsonMarker)) {
    log('writing the NDJSON copy of the order files ...');
    fs.rmSync(ndjsonLanding, { recursive: true, force: true });
    await runWorker('csv-to-ndjson', {
      files: ORDER_FILES.map((name) => ({
        from: path.join(csvLanding, 'orders', `${name}.csv`),
        to: path.join(ndjsonLanding, 'orders', `${name}.ndjson`),
      })),
    });
    fs.writeFileSync(ndjsonMarker, '');
  }

  const rows: StageResult['rows'] = [];
  let worstRatio = Infinity;
  let peakMB = 0;
  for (const [format, landing] of [
    ['csv', csvLanding],
    ['ndjson', ndjsonLanding],
  ] as const) {
    log(`extract orders (${format}) with validation and quarantine ...`);
    const ours = await runWorker('extract', {
      source: 'orders',
      landingDir: landing,
      warehousePath: fresh(workDir, `extract-${format}.duckdb`),
    });
    log(`DuckDB ${format === 'csv' ? 'read_csv' : 'read_json'} of the same files ...`);
    const files = ORDER_FILES.map((name) => ({ table: name, path: path.join(landing, 'orders', `${name}.${format}`) }));
    const baseline = await runWorker('duckdb-read', { files, warehousePath: fresh(workDir, `baseline-${format}.duckdb`) });
    const oursRate = Number(ours.records) / ours.seconds;
    const baseRate = Number(baseline.records) / baseline.seconds;
    worstRatio = Math.min(worstRatio, oursRate / baseRate);
    peakMB = Math.max(peakMB, ours.maxRssMB);
    rows.push(
      {
        label: `${format}: records/s (extractor vs DuckDB reader)`,
        value: Math.round(oursRate),
        unit: 'records/s',
        baseline: Math.round(baseRate),
        ratio: round(oursRate / baseRate, 3),
      },
      { label: `${format}: seconds`, value: round(ours.seconds), unit: 's', baseline: round(baseline.seconds) },
      {
        label: `${format}: peak memory`,
        value: ours.maxRssMB,
        unit: 'MB',
        baseline: baseline.maxRssMB,
        ratio: round(ours.maxRssMB / baseline.maxRssMB),
      },
      { label: `${format}: records read / rejected`, value: Number(ours.records), unit: 'records', baseline: Number(baseline.records) },
    );
    if (Number(ours.rejected) > 0) rows.push({ label: `${format}: rejected to quarantine`, value: Number(ours.rejected), unit: 'records' });
  }
  const memoryOk = peakMB < GIB;
  return {
    stage: 'extract',
    title: 'Extract and load orders (CSV and NDJSON)',
    goal: 'at least 0.5 of DuckDB reader rows/s; peak memory under 1 GiB at 10 million orders',
    met: worstRatio >= 0.5 && memoryOk,
    rows,
    notes: [
      `worst ratio ${round(worstRatio, 3)} (goal 0.5); peak RSS ${peakMB} MB (goal < ${GIB} MB)`,
      `DuckDB memory_limit is CRM_EXTRACT_MEMORY_LIMIT (default ${DEFAULT_EXTRACT_MEMORY_LIMIT}) on both sides.`,
    ],
  };
}

function fresh(dir: string, name: string): string {
  const file = path.join(dir, name);
  for (const suffix of ['', '.wal']) fs.rmSync(file + suffix, { force: true });
  return file;
}

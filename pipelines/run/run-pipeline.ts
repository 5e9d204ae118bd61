import crypto from 'node:crypto';
import { SOURCES, type SourceDefinition } from '../extract/sources.ts';
import { extractSource } from '../extract/run-extract.ts';
import type { BatchSummary } from '../raw/load-batch.ts';
import { runDbt, type DbtOutcome } from '../transform/dbt-cli.ts';
import { runLogger } from '../shared/logger.ts';
import { runSteps } from '../shared/step-runner.ts';

export interface PipelineOptions {
  warehousePath: string;
  landingDir: string;
  sources?: readonly SourceDefinition[];
  /** Extra dbt arguments for the build step, e.g. ['--select', 'marts']. */
  dbtArgs?: string[];
  interactive?: boolean;
}

export interface PipelineSummary {
  runId: string;
  warehousePath: string;
  startedAt: string;
  seconds: number;
  extracts: BatchSummary[];
  dbt: { elapsedSeconds: number; models: number; tests: number; unitTests: number } | null;
}

export function newRunId(): string {
  return `${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${crypto.randomBytes(3).toString('hex')}`;
}

/** The whole DAG on the embedded default: extract every source into raw, then dbt build. */
export async function runPipeline(options: PipelineOptions): Promise<PipelineSummary> {
  const runId = newRunId();
  const log = runLogger(runId);
  const started = Date.now();
  const sources = options.sources ?? SOURCES;
  const extracts: BatchSummary[] = [];
  let dbt: DbtOutcome | null = null;
  await runSteps<void>(
    [
      ...sources.map((source) => ({
        title: `extract ${source.name}`,
        run: async (report: (progress: string) => void) => {
          const summary = await extractSource(source, {
            warehousePath: options.warehousePath,
            landingDir: options.landingDir,
            batchId: `${runId}:${source.name}`,
            onProgress: (read) => report(`${read.toLocaleString('en-US')} records read`),
          });
          extracts.push(summary);
          for (const table of summary.tables) {
            log.info({ event: 'extract_table', source: source.name, ...table }, `${source.name} -> raw.${table.table}`);
            for (const sample of table.rejectedSamples) {
              log.warn({ event: 'record_rejected', source: source.name, table: table.table, ...sample }, `${source.name}: rejected ${sample.location}: ${sample.reason}`);
            }
          }
          report(describeBatch(summary));
        },
      })),
      {
        title: 'dbt build',
        run: async (report: (progress: string) => void) => {
          let finished = 0;
          dbt = await runDbt({
            args: ['build', ...(options.dbtArgs ?? [])],
            warehousePath: options.warehousePath,
            onNodeFinished: (node) => {
              finished += 1;
              report(`${finished} nodes done; last: ${node.uniqueId.split('.').slice(-2).join('.')} ${node.status}`);
            },
          });
        },
      },
    ],
    log,
    { interactive: options.interactive },
  );
  const outcome = dbt as DbtOutcome | null;
  const count = (prefix: string) => outcome?.results.filter((r) => r.uniqueId.startsWith(prefix)).length ?? 0;
  const summary: PipelineSummary = {
    runId,
    warehousePath: options.warehousePath,
    startedAt: new Date(started).toISOString(),
    seconds: (Date.now() - started) / 1000,
    extracts,
    dbt: outcome ? { elapsedSeconds: outcome.elapsedSeconds, models: count('model.'), tests: count('test.'), unitTests: count('unit_test.') } : null,
  };
  log.info({ event: 'run_finished', seconds: summary.seconds }, 'pipeline run finished');
  return summary;
}

export function describeBatch(summary: BatchSummary): string {
  return summary.tables
    .map((t) => `${t.table}: ${t.inserted} new, ${t.updated} updated, ${t.unchanged} unchanged, ${t.rejected} rejected`)
    .join('; ');
}

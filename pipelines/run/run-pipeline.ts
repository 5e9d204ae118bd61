import { configuredSources, type SourceDefinition } from '../extract/sources.ts';
import type { BatchSummary } from '../raw/load-batch.ts';
import { loadConfig, type CrmConfig } from '../shared/config.ts';
import type { DbtOutcome } from '../transform/dbt-cli.ts';
import { executeRun, newRunId, type RunSummary } from './execute-run.ts';
import { dbtBuildStep, extractStep, preAggregationsStep, resetStateStep, type PipelineStep } from './steps.ts';

export { newRunId } from './execute-run.ts';

export interface PipelineOptions {
  /** The published warehouse file; the run builds a private copy and publishes it when it passes. */
  warehousePath: string;
  landingDir: string;
  sources?: readonly SourceDefinition[];
  /** dbt node selection for the build step, e.g. ['marts'] (default: everything). */
  select?: string[];
  /** dbt --vars for the build (backfill passes its date window). */
  dbtVars?: Record<string, unknown>;
  /** Sources whose state is reset in the build first, so they are re-read in full (backfill). */
  reextract?: string[];
  interactive?: boolean;
  config?: CrmConfig;
  waitSeconds?: number;
  command?: string;
  args?: string[];
}

export interface PipelineSummary {
  runId: string;
  warehousePath: string;
  startedAt: string;
  seconds: number;
  status: RunSummary['status'];
  published: boolean;
  extracts: BatchSummary[];
  dbt: { elapsedSeconds: number; models: number; tests: number; unitTests: number } | null;
  run: RunSummary;
}

/**
 * The whole DAG, as data: reset state (backfill only), extract every source, dbt build, build
 * Cube's pre-aggregations. To add a stage (e.g. a TypeScript model-fitting step between two dbt
 * selections), add a PipelineStep here: execute-run.ts records, retries and publishes it alike.
 */
export function pipelineSteps(options: PipelineOptions, config: CrmConfig): PipelineStep[] {
  const sources = options.sources ?? configuredSources();
  return [
    ...(options.reextract ?? []).map((name) => resetStateStep(name)),
    ...sources.map((source) => extractStep(source, { retries: config.extract.retries, retryDelaySeconds: config.extract.retryDelaySeconds })),
    dbtBuildStep({ ...(options.select ? { select: options.select } : {}), ...(options.dbtVars ? { vars: options.dbtVars } : {}) }),
    preAggregationsStep(),
  ];
}

/** Runs a list of steps as one ledgered, locked, atomically published run. */
export async function runSteps(options: PipelineOptions, steps: PipelineStep[], config: CrmConfig = options.config ?? loadConfig()): Promise<RunSummary> {
  return executeRun({
    publishedPath: options.warehousePath,
    landingDir: options.landingDir,
    command: options.command ?? 'run',
    args: options.args ?? [],
    steps,
    config,
    ...(options.waitSeconds !== undefined ? { waitSeconds: options.waitSeconds } : {}),
    ...(options.interactive !== undefined ? { interactive: options.interactive } : {}),
    runId: newRunId(),
  });
}

/**
 * The whole pipeline on the embedded default. Throws the failing step's error when the run fails
 * (nothing is published then); a partial run returns with status 'partial'.
 */
export async function runPipeline(options: PipelineOptions): Promise<PipelineSummary> {
  const config = options.config ?? loadConfig();
  const run = await runSteps(options, pipelineSteps(options, config), config);
  if (run.status === 'failed') throw run.failure instanceof Error ? run.failure : new Error(run.error ?? 'run failed');
  return toPipelineSummary(run);
}

export function toPipelineSummary(run: RunSummary): PipelineSummary {
  const extracts = run.steps.filter((s) => s.kind === 'extract' && s.output).map((s) => s.output as BatchSummary);
  const dbtOutcome = run.steps.find((s) => s.kind === 'dbt' && s.output)?.output as DbtOutcome | undefined;
  const count = (prefix: string) => dbtOutcome?.results.filter((r) => r.uniqueId.startsWith(prefix)).length ?? 0;
  return {
    runId: run.runId,
    warehousePath: run.publishedPath,
    startedAt: run.startedAt,
    seconds: run.seconds,
    status: run.status,
    published: run.published,
    extracts,
    dbt: dbtOutcome ? { elapsedSeconds: dbtOutcome.elapsedSeconds, models: count('model.'), tests: count('test.'), unitTests: count('unit_test.') } : null,
    run,
  };
}

export function describeBatch(summary: BatchSummary): string {
  return summary.tables
    .map((t) => `${t.table}: ${t.inserted} new, ${t.updated} updated, ${t.unchanged} unchanged, ${t.rejected} rejected`)
    .join('; ');
}

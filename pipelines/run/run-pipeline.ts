import { configuredSources, type SourceDefinition } from '../extract/sources.ts';
import type { BatchSummary } from '../raw/load-batch.ts';
import { loadConfig, type CrmConfig } from '../../shared/config.ts';
import { envValue } from '../../shared/env.ts';
import { DbtSessionScope, type DbtOutcome, type DbtTarget } from '../transform/dbt-cli.ts';
import { resolvePseudonymKey } from '../transform/pseudonym-key.ts';
import { executeRun, newRunId, type RunSummary } from './execute-run.ts';
import {
  clvScoreStep,
  dbtBuildStep,
  extractStep,
  preAggregationsStep,
  resetStateStep,
  type PipelineStep,
  type RollupBuilder,
} from './steps.ts';

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
  /** Run dbt's unit tests in the builds (default: config transform.unitTests). */
  unitTests?: boolean;
  /** false leaves dbt's data tests out of the builds (tests/e2e/spark-equal-answers.test.ts in CI); default true. */
  dataTests?: boolean;
  /** dbt profile target: duckdb (default) or spark (docs/spark.md: Spark computes, DuckDB serves). */
  target?: DbtTarget;
  /** Sources whose state is reset in the build first, so they are re-read in full (backfill). */
  reextract?: string[];
  /**
   * The semantic layer's rollup builder, run last (cli/pipeline.ts passes it). Without one the run
   * builds no rollups and the API answers from the marts.
   */
  rollups?: RollupBuilder;
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
 * The whole DAG, as data: reset state (backfill only), extract every source, the transform (dbt
 * build, CLV scoring, dbt build of what depends on it; see transformSteps), Cube's
 * pre-aggregations. To add a stage, add a PipelineStep here: execute-run.ts records, retries and
 * publishes it alike.
 */
export function pipelineSteps(options: PipelineOptions, config: CrmConfig): PipelineStep[] {
  const sources = options.sources ?? configuredSources();
  return [
    ...(options.reextract ?? []).map((name) => resetStateStep(name)),
    ...sources.map((source) =>
      extractStep(source, { retries: config.extract.retries, retryDelaySeconds: config.extract.retryDelaySeconds }),
    ),
    ...transformSteps({
      ...(options.select ? { select: options.select } : {}),
      ...(options.dbtVars ? { vars: options.dbtVars } : {}),
      // A backfill rewrites history: the CLV model is fitted again on it.
      refitEveryDays: options.dbtVars?.['backfill_from'] !== undefined ? 0 : config.clv.refitEveryDays,
      clvModel: config.clv.model,
      unitTests: options.unitTests ?? config.transform.unitTests,
      ...(options.dataTests === false ? { dataTests: false } : {}),
      shop: config.shop,
      ...(options.target ? { target: options.target } : {}),
    }),
    ...(options.rollups ? [preAggregationsStep(options.rollups)] : []),
  ];
}

/** dbt's selector for everything built from the TypeScript models' tables (customer_value and its descendants). */
export const ML_DOWNSTREAM = 'source:ml+';

/**
 * The transform as three steps, because a TypeScript model sits in the middle of the dbt DAG:
 *   1. `dbt:build`    dbt build of everything NOT downstream of source ml (--exclude source:ml+)
 *   2. `clv:score`    fit BG/NBD + Gamma-Gamma on fct_orders (or reuse a fit younger than
 *                     refitEveryDays of history), write ml.clv_predictions
 *   3. `dbt:build:ml` dbt build of source:ml+ (the ml source tests, stg_ml__*, customer_value and
 *                     every mart built on it)
 * A user selection narrows both builds the same way: step 1 builds `select` minus source:ml+, step
 * 3 builds `select` intersected with source:ml+ (dbt's `a,b` intersection), and `exclude` applies to
 * both; either may then have nothing to do, which dbt reports as success. Scoring always runs (it
 * reads whatever fct_orders the run's copy holds), so `--select customer_value` re-scores and
 * rebuilds customer_value from the published fct_orders.
 */
export function transformSteps(
  options: {
    select?: string[];
    exclude?: string[];
    vars?: Record<string, unknown>;
    fullRefresh?: boolean;
    refitEveryDays?: number;
    /** config clv.model: 'auto' or a pinned repeat-purchase model. */
    clvModel?: CrmConfig['clv']['model'];
    unitTests?: boolean;
    dataTests?: boolean;
    /** config shop: its time zone and reporting currency reach dbt as vars (a caller's vars win). */
    shop?: CrmConfig['shop'];
    /** spark: both builds run on dbt-spark through the Parquet boundary (raw, then raw + ml). */
    target?: DbtTarget;
  } = {},
): PipelineStep[] {
  const select = options.select?.flatMap((s) => s.split(/\s+/)).filter(Boolean);
  const vars = { ...(options.shop ? shopDbtVars(options.shop) : {}), ...options.vars };
  const common = {
    ...(Object.keys(vars).length > 0 ? { vars } : {}),
    ...(options.fullRefresh ? { fullRefresh: true } : {}),
    ...(options.unitTests !== undefined ? { unitTests: options.unitTests } : {}),
    ...(options.dataTests === false ? { dataTests: false } : {}),
  };
  const asOf = options.vars?.['as_of_date'];
  // Titles (the `step` of every log line) name the user's selection, as before the split; the
  // args dbt really ran are in each step's ledger detail.
  const userArgs = [
    ...(select?.length ? ['--select', ...select] : []),
    ...(options.exclude?.length ? ['--exclude', ...options.exclude] : []),
    ...(options.fullRefresh ? ['--full-refresh'] : []),
  ];
  const onSpark = options.target === 'spark';
  // Both dbt builds run in one persistent dbt process (DuckDB): the second skips start-up and parse.
  const session = onSpark || envValue('CRM_DBT_SESSION') === 'off' ? undefined : new DbtSessionScope();
  const sparkTitle = onSpark ? ['--target', 'spark'] : [];
  return [
    dbtBuildStep({
      ...common,
      ...(onSpark ? { spark: { sourceSchemas: ['raw'] } } : { session }),
      title: ['dbt', 'build', ...sparkTitle, ...userArgs].join(' '),
      ...(select?.length ? { select } : {}),
      exclude: [...(options.exclude ?? []), ML_DOWNSTREAM],
    }),
    // config clv.refitEveryDays: score with the last fit until that much new history; --full-refresh always fits.
    clvScoreStep({
      asOf: typeof asOf === 'string' ? asOf : null,
      reuseFitWithinDays: options.fullRefresh ? 0 : (options.refitEveryDays ?? 0),
      ...(options.clvModel ? { model: options.clvModel } : {}),
      ...(options.shop ? { timezone: options.shop.timezone } : {}),
    }),
    dbtBuildStep({
      ...common,
      id: 'dbt:build:ml',
      ...(onSpark ? { spark: { sourceSchemas: ['raw', 'ml'] } } : { session }),
      title: ['dbt', 'build', ...sparkTitle, ...userArgs, `(${ML_DOWNSTREAM}, after clv:score)`].join(' '),
      select: select?.length ? select.map((s) => `${s},${ML_DOWNSTREAM}`) : [ML_DOWNSTREAM],
      ...(options.exclude?.length ? { exclude: options.exclude } : {}),
    }),
  ];
}

/** The dbt vars config `shop` sets: reporting_currency and shop_timezone (dbt_project.yml has the same defaults). */
export function shopDbtVars(shop: CrmConfig['shop']): Record<string, string> {
  return { reporting_currency: shop.reportingCurrency, shop_timezone: shop.timezone };
}

/** Runs a list of steps as one ledgered, locked, atomically published run. */
export async function runSteps(
  options: PipelineOptions,
  steps: PipelineStep[],
  config: CrmConfig = options.config ?? loadConfig(),
): Promise<RunSummary> {
  // A run that builds with dbt needs the pseudonym key: refuse before extracting anything rather
  // than at the dbt step (ConfigError: CRM_ENV=production without CRM_PSEUDONYM_KEY, a short key).
  if (steps.some((step) => step.kind === 'dbt')) resolvePseudonymKey();
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
  // The transform is several dbt builds (before and after the CLV scoring step): count them together.
  const dbtOutcomes = run.steps.filter((s) => s.kind === 'dbt' && s.output).map((s) => s.output as DbtOutcome);
  const dbtOutcome =
    dbtOutcomes.length === 0
      ? undefined
      : {
          elapsedSeconds: dbtOutcomes.reduce((n, o) => n + o.elapsedSeconds, 0),
          results: dbtOutcomes.flatMap((o) => o.results),
        };
  const count = (prefix: string) => dbtOutcome?.results.filter((r) => r.uniqueId.startsWith(prefix)).length ?? 0;
  return {
    runId: run.runId,
    warehousePath: run.publishedPath,
    startedAt: run.startedAt,
    seconds: run.seconds,
    status: run.status,
    published: run.published,
    extracts,
    dbt: dbtOutcome
      ? { elapsedSeconds: dbtOutcome.elapsedSeconds, models: count('model.'), tests: count('test.'), unitTests: count('unit_test.') }
      : null,
    run,
  };
}

export function describeBatch(summary: BatchSummary): string {
  return summary.tables
    .map((t) => `${t.table}: ${t.inserted} new, ${t.updated} updated, ${t.unchanged} unchanged, ${t.rejected} rejected`)
    .join('; ');
}

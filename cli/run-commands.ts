import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { EXIT, ExitCodeError, UsageError } from './exit-codes.ts';
import { printResult } from './output.ts';
import { configuredSources, findSource, type SourceDefinition } from '../pipelines/extract/sources.ts';
import { runSteps, toPipelineSummary, describeBatch, transformSteps } from '../pipelines/run/run-pipeline.ts';
import { extractStep, type PipelineStep } from '../pipelines/run/steps.ts';
import { pipelineSteps, refreshSteps } from './pipeline.ts';
import type { RunSummary } from '../pipelines/run/execute-run.ts';
import { CONFIG_FILES, ConfigError, loadConfig, type CrmConfig } from '../shared/config.ts';
import { projectRoot } from '../shared/paths.ts';
import { PythonSetupError } from '../pipelines/transform/python-venv.ts';
import type { BatchSummary } from '../pipelines/raw/load-batch.ts';
import type { DbtTarget } from '../pipelines/transform/dbt-cli.ts';

/**
 * The commands that write the warehouse: extract, transform, refresh, run, backfill. Each is one
 * run of execute-run.ts: locked, built in a private copy, recorded in the ledger, and published
 * atomically only when it passed.
 */
export { configOption, jsonOption, landingOption, waitOption, warehouseOption } from './options.ts';
import { configOption, jsonOption, landingOption, waitOption, warehouseOption } from './options.ts';

function isoDate(raw: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(raw) || Number.isNaN(Date.parse(`${raw}T00:00:00Z`)))
    throw new InvalidArgumentError('must be a date YYYY-MM-DD.');
  return raw;
}

export interface RunCommandOptions {
  warehouse: string;
  landing: string;
  config: string;
  wait: number;
  json?: boolean;
}

export function readConfig(file: string): CrmConfig {
  // Only the default location may be absent (every default applies); a named file must exist.
  const isDefault = CONFIG_FILES.some((name) => path.resolve(file) === path.join(projectRoot, name));
  if (!fs.existsSync(file) && !isDefault) {
    throw new UsageError(`config file not found: ${path.resolve(file)} (from --config or $CRM_CONFIG)`);
  }
  try {
    return loadConfig(path.resolve(file));
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

function pickSources(names: string[]): SourceDefinition[] {
  if (names.length === 0) return configuredSources();
  return names.map((name) => {
    try {
      return findSource(name);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  });
}

/** One locked, ledgered run of `steps` that publishes when it passed; prints it and sets the exit code. */
export async function execute(
  command: string,
  args: string[],
  opts: RunCommandOptions,
  steps: (config: CrmConfig) => PipelineStep[],
): Promise<void> {
  const config = readConfig(opts.config);
  const run = await runSteps(
    { warehousePath: path.resolve(opts.warehouse), landingDir: path.resolve(opts.landing), command, args, waitSeconds: opts.wait },
    steps(config),
    config,
  );
  reportRun(run, Boolean(opts.json));
}

/** Prints a run's outcome and ends with its exit code (0 succeeded, 5 partial, 1/3 failed). */
export function reportRun(run: RunSummary, json: boolean): void {
  const pipeline = toPipelineSummary(run);
  const { run: _run, ...rest } = pipeline;
  const machine = {
    ...rest,
    error: run.error,
    steps: run.steps.map(({ output: _o, ...s }) => s),
    alerts: run.alerts,
    cleanedUp: run.cleanedUp,
  };
  printResult(json, machine, () => describeRun(run, pipeline.extracts));
  if (run.status === 'succeeded') return;
  if (run.status === 'partial')
    throw new ExitCodeError(EXIT.partial, `run ${run.runId} partial (${run.published ? 'published' : 'not published'}): ${run.error}`);
  throw new ExitCodeError(
    run.failure instanceof PythonSetupError ? EXIT.environment : EXIT.stepFailed,
    `run ${run.runId} failed, nothing published: ${run.error}`,
  );
}

function describeRun(run: RunSummary, extracts: BatchSummary[]): string {
  const lines = [
    `Run ${run.runId} (${run.command}) ${run.status} in ${run.seconds.toFixed(1)}s; ${run.published ? `published ${run.publishedPath}` : 'nothing published'}`,
  ];
  for (const step of run.steps) {
    const counts = [
      step.rowsIn !== null ? `${step.rowsIn} in` : '',
      step.rowsOut !== null ? `${step.rowsOut} out` : '',
      step.rejects ? `${step.rejects} rejected` : '',
    ]
      .filter(Boolean)
      .join(', ');
    lines.push(
      `  ${step.id.padEnd(28)} ${step.status.padEnd(9)} ${step.seconds.toFixed(1).padStart(6)}s ${counts}${step.attempts > 1 ? ` (${step.attempts} attempts)` : ''}${step.skipped ? ` (${step.skipped})` : ''}`,
    );
    if (step.error && step.status === 'failed') lines.push(...step.error.split('\n').map((l) => `      ${l}`));
  }
  for (const e of extracts) if (e.tables.some((t) => t.read > 0)) lines.push(`  ${e.source}: ${describeBatch(e)}`);
  return lines.join('\n');
}

/** --target: where dbt builds (docs/spark.md); the served file is DuckDB either way. */
function targetOption(): Option {
  return new Option(
    '--target <target>',
    'dbt target: duckdb (the embedded default) or spark (dbt-spark + Delta in .venv-spark, `crm setup spark`; marts are loaded back into the DuckDB file the API serves)',
  )
    .choices(['duckdb', 'spark'])
    .default('duckdb');
}

/** --unit-tests / --no-unit-tests: run dbt's unit tests in this build (default: config transform.unitTests). */
function unitTestsOption(): Option {
  return new Option('--unit-tests', "also run dbt's unit tests (default: config transform.unitTests, false)");
}

/**
 * The configured sources' names for a help text. Help is built when the command is registered,
 * before any command runs: a config or mapping the schema rejects must not crash it there; the
 * command that reads the sources reports the error (exit 2).
 */
function sourceNamesForHelp(): string {
  try {
    return configuredSources()
      .map((s) => s.name)
      .join(', ');
  } catch (error) {
    if (error instanceof ConfigError) return `unknown: the config has an error (${error.message.split('\n')[0]})`;
    throw error;
  }
}

export function registerRunCommands(program: Command): void {
  program
    .command('extract')
    .description(`Load sources into raw tables and publish (all configured sources when none is named: ${sourceNamesForHelp()}).`)
    .argument('[sources...]', 'source names')
    .addOption(landingOption())
    .addOption(warehouseOption())
    .addOption(configOption())
    .addOption(waitOption())
    .addOption(jsonOption())
    .action(async (names: string[], opts: RunCommandOptions) => {
      const sources = pickSources(names);
      await execute('extract', names, opts, (config) =>
        sources.map((s) => extractStep(s, { retries: config.extract.retries, retryDelaySeconds: config.extract.retryDelaySeconds })),
      );
    });

  program
    .command('transform')
    .description(
      'Run `dbt build` (models, snapshots, seeds and tests) on a copy of the warehouse, in two parts around the CLV scoring step (everything but source:ml+, clv:score writing ml.clv_predictions, then source:ml+); publish it when every node passed.',
    )
    .option('--select <selector...>', 'dbt node selection, e.g. marts or +customer_value (split the same way around the scoring step)')
    .option('--exclude <selector...>', 'dbt nodes to leave out')
    .option('--full-refresh', 'rebuild incremental models from scratch')
    .addOption(unitTestsOption())
    .addOption(landingOption().hideHelp())
    .addOption(warehouseOption())
    .addOption(configOption())
    .addOption(waitOption())
    .addOption(jsonOption())
    .action(async (opts: RunCommandOptions & { select?: string[]; exclude?: string[]; fullRefresh?: boolean; unitTests?: boolean }) => {
      await execute(
        'transform',
        [...(opts.select ? ['--select', ...opts.select] : []), ...(opts.exclude ? ['--exclude', ...opts.exclude] : [])],
        opts,
        (config) =>
          transformSteps({
            ...(opts.select ? { select: opts.select } : {}),
            ...(opts.exclude ? { exclude: opts.exclude } : {}),
            ...(opts.fullRefresh ? { fullRefresh: true } : {}),
            refitEveryDays: config.clv.refitEveryDays,
            clvModel: config.clv.model,
            unitTests: opts.unitTests ?? config.transform.unitTests,
            shop: config.shop,
          }),
      );
    });

  program
    .command('refresh')
    .description("Rebuild the semantic layer's pre-aggregation (rollup) tables in a copy of the warehouse and publish it.")
    .addOption(landingOption().hideHelp())
    .addOption(warehouseOption())
    .addOption(configOption())
    .addOption(waitOption())
    .addOption(jsonOption())
    .action(async (opts: RunCommandOptions) => {
      await execute('refresh', [], opts, (config) => refreshSteps(config));
    });

  program
    .command('run')
    .description(
      'Run the whole DAG: extract every source, dbt build, CLV scoring, dbt build of source:ml+, pre-aggregations; publish when it passed.',
    )
    .option('--select <selector...>', 'dbt node selection for the build step')
    .addOption(unitTestsOption())
    .addOption(targetOption())
    .addOption(landingOption())
    .addOption(warehouseOption())
    .addOption(configOption())
    .addOption(waitOption())
    .addOption(jsonOption())
    .action(async (opts: RunCommandOptions & { select?: string[]; unitTests?: boolean; target: DbtTarget }) => {
      const args = [...(opts.select ? ['--select', ...opts.select] : []), ...(opts.target === 'spark' ? ['--target', 'spark'] : [])];
      await execute('run', args, opts, (config) =>
        pipelineSteps(
          {
            warehousePath: opts.warehouse,
            landingDir: opts.landing,
            ...(opts.select ? { select: opts.select } : {}),
            ...(opts.unitTests !== undefined ? { unitTests: opts.unitTests } : {}),
            ...(opts.target === 'spark' ? { target: 'spark' as const } : {}),
          },
          config,
        ),
      );
    });

  program
    .command('backfill')
    .description(
      'Rebuild a date window: re-read the named sources in full (upserts keep raw free of duplicates), then dbt build with vars backfill_from/backfill_to.',
    )
    .requiredOption('--from <date>', 'first day of the window (YYYY-MM-DD, inclusive)', isoDate)
    .requiredOption('--to <date>', 'last day of the window (YYYY-MM-DD, inclusive)', isoDate)
    .option(
      '--reextract <sources...>',
      'sources whose state is reset first so they are re-read (default: none; every source is still loaded incrementally)',
    )
    .option('--select <selector...>', 'dbt node selection for the build step')
    .addOption(landingOption())
    .addOption(warehouseOption())
    .addOption(configOption())
    .addOption(waitOption())
    .addOption(jsonOption())
    .action(async (opts: RunCommandOptions & { from: string; to: string; reextract?: string[]; select?: string[] }) => {
      if (opts.from > opts.to) throw new UsageError(`--from ${opts.from} is after --to ${opts.to}`);
      for (const name of opts.reextract ?? []) pickSources([name]);
      const args = ['--from', opts.from, '--to', opts.to, ...(opts.reextract ? ['--reextract', ...opts.reextract] : [])];
      await execute('backfill', args, opts, (config) =>
        pipelineSteps(
          {
            warehousePath: opts.warehouse,
            landingDir: opts.landing,
            dbtVars: { backfill_from: opts.from, backfill_to: opts.to },
            ...(opts.reextract ? { reextract: opts.reextract } : {}),
            ...(opts.select ? { select: opts.select } : {}),
          },
          config,
        ),
      );
    });
}

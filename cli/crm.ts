#!/usr/bin/env -S npx tsx
/**
 * `crm`: the one entry point for the warehouse's pipelines. Every sub-command has --help, the
 * ones a machine reads have --json, and exit codes are those of cli/exit-codes.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { EXIT, ExitCodeError, UsageError } from './exit-codes.ts';
import { printResult } from './output.ts';
import { DEFAULT_GENERATE_OPTIONS, generateSampleData } from '../pipelines/sources/sample-data/generate.ts';
import { SourceUnavailableError } from '../pipelines/extract/sources.ts';
import { DbtFailedError } from '../pipelines/transform/dbt-cli.ts';
import { RunLockedError } from '../pipelines/publish/run-lock.ts';
import { ConfigError, loadConfig } from '../shared/config.ts';
import { registerRunCommands } from './run-commands.ts';
import { PythonSetupError, ensurePythonVenv, ensureSparkVenv, sparkVenv } from '../pipelines/transform/python-venv.ts';
import { resolveLandingDir } from '../shared/paths.ts';
import { logger } from '../shared/logger.ts';
import { runQuickstart } from './quickstart.ts';
import { envValue } from '../shared/env.ts';
import { warehouseOption } from './options.ts';

const wholeNumber = (name: string) => (raw: string) => {
  const value = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(value) || value < 0) throw new InvalidArgumentError(`${name} must be a whole number >= 0.`);
  return value;
};
const rate = (raw: string) => {
  const value = Number(raw);
  if (!(value >= 0 && value <= 1)) throw new InvalidArgumentError('must be a number from 0 to 1.');
  return value;
};

const landingOption = () =>
  new Option('--landing <dir>', 'folder the extractors read').default(resolveLandingDir(), '$CRM_LANDING_DIR or data/landing');
const jsonOption = () => new Option('--json', 'print the result as one JSON document on stdout');

const program = new Command('crm')
  .description('Customer-value warehouse pipelines: generate sample data, extract, transform (dbt), serve.')
  .showHelpAfterError()
  .exitOverride()
  .addHelpText(
    'after',
    `
Exit codes:
  0  success
  1  a pipeline step failed (dbt model or test, a source that could not be loaded)
  2  usage or configuration error (including crm.config.json)
  3  environment error (Python venv or dependencies could not be set up)
  4  another run holds the warehouse lock (nothing done; retry, or pass --wait)
  5  partial run: some sources failed after retries, the rest loaded (published only if publish.publishPartial)`,
  );

program
  .command('setup')
  .description(
    'Create the project venv with the pinned dbt-core, dbt-duckdb and duckdb, and build the dashboard (each a no-op when current). ' +
      '`setup spark` creates .venv-spark instead: dbt-spark, pyspark and delta-spark for the spark target (needs Java 17 or 21; docs/spark.md).',
  )
  .addArgument(new Argument('[target]', 'what to set up').choices(['duckdb', 'spark']).default('duckdb'))
  .option('--quiet', 'print nothing when already set up')
  .addOption(jsonOption())
  .action(async (target: 'duckdb' | 'spark', opts: { quiet?: boolean; json?: boolean }) => {
    const log = (message: string) => (opts.quiet ? undefined : logger.info({ event: 'setup' }, message));
    if (target === 'spark') {
      const spark = ensureSparkVenv(log);
      if (!opts.quiet || opts.json) {
        printResult(
          Boolean(opts.json),
          { target, ...spark, venv: sparkVenv.dir },
          () => `${spark.installed ? 'Spark venv installed' : 'Spark venv is up to date'} (${sparkVenv.dir}; ${spark.java}).`,
        );
      }
      return;
    }
    const result = ensurePythonVenv(log);
    const { ensureDashboardBuilt } = await import('../dashboard/build.ts');
    const dashboard = await ensureDashboardBuilt({ log });
    if (!opts.quiet || opts.json) {
      printResult(
        Boolean(opts.json),
        { ...result, dashboard },
        () =>
          `${result.installed ? 'Python venv installed.' : 'Python venv is up to date.'} ${dashboard.built ? `Dashboard built in ${dashboard.seconds.toFixed(1)} s.` : 'Dashboard build is up to date.'}`,
      );
    }
  });

program
  .command('generate')
  .description('Write a seeded, deterministic sample shop (profiles, orders, tickets, opinion posts) to the landing folder.')
  .addOption(new Option('--out <dir>', 'landing folder to write').default(resolveLandingDir(), '$CRM_LANDING_DIR or data/landing'))
  .option('--seed <n>', 'random seed (same seed, same files)', wholeNumber('seed'), DEFAULT_GENERATE_OPTIONS.seed)
  .option('--customers <n>', 'number of customers', wholeNumber('customers'), DEFAULT_GENERATE_OPTIONS.customers)
  .option('--orders <n>', 'number of orders', wholeNumber('orders'), DEFAULT_GENERATE_OPTIONS.orders)
  .option('--malformed-rate <r>', 'share of records written malformed on purpose', rate, DEFAULT_GENERATE_OPTIONS.malformedRate)
  .addOption(jsonOption())
  .action(async (opts: { out: string; seed: number; customers: number; orders: number; malformedRate: number; json?: boolean }) => {
    const truth = await generateSampleData({ ...DEFAULT_GENERATE_OPTIONS, ...opts, outDir: path.resolve(opts.out) });
    printResult(
      Boolean(opts.json),
      { outDir: path.resolve(opts.out), counts: truth.counts },
      () =>
        `Wrote ${Object.entries(truth.counts)
          .map(([k, v]) => `${v} ${k}`)
          .join(', ')} to ${path.resolve(opts.out)}`,
    );
  });

program
  .command('quickstart')
  .description('Set up, generate sample data (unless present), run the pipeline, print a KPI answer from the API, then keep serving.')
  .option('--regenerate', 'regenerate the sample data even if the landing folder has it')
  .option('--no-serve', 'exit after printing the KPI answer instead of serving the API')
  .option('--port <n>', 'API port', wholeNumber('port'), 4000)
  .addOption(landingOption())
  .addOption(warehouseOption('DuckDB warehouse file'))
  .action(async (opts: { regenerate?: boolean; serve: boolean; port: number; landing: string; warehouse: string }) => {
    await runQuickstart({ ...opts, warehousePath: path.resolve(opts.warehouse), landingDir: path.resolve(opts.landing) });
  });

program
  .command('serve')
  .description('Serve the API (Cube REST contract over the warehouse) on 127.0.0.1. Needs CRM_API_SECRET.')
  .option('--port <n>', 'port', wholeNumber('port'), 4000)
  .option('--host <host>', 'interface to bind', '127.0.0.1')
  .option(
    '--sql-port <n>',
    'also serve the SQL door (Postgres wire protocol, JWT as password: docs/sql-api.md) on this port',
    wholeNumber('sql-port'),
  )
  .addOption(warehouseOption('DuckDB warehouse file'))
  .action(async (opts: { port: number; host: string; warehouse: string; sqlPort?: number }) => {
    const secret = envValue('CRM_API_SECRET');
    if (!secret) throw new UsageError('CRM_API_SECRET is not set: the API signs and verifies JWTs (HS256) with it.');
    if (!fs.existsSync(opts.warehouse)) throw new UsageError(`warehouse not found: ${opts.warehouse} (run \`npm run crm -- run\` first)`);
    const { startApiServer } = await import('../api/server.ts');
    const { ensureDashboardBuilt } = await import('../dashboard/build.ts');
    await ensureDashboardBuilt({ log: (message) => logger.info({ event: 'setup' }, message) });
    const server = await startApiServer({
      warehousePath: path.resolve(opts.warehouse),
      jwtSecret: secret,
      // Queries that name no zone are read in the shop's (config shop.timezone).
      defaultTimezone: loadConfig().shop.timezone,
      port: opts.port,
      host: opts.host,
      ...(opts.sqlPort !== undefined ? { sqlPort: opts.sqlPort } : {}),
    });
    process.stdout.write(`API listening on ${server.url}\n`);
    if (server.sql) {
      process.stdout.write(
        `SQL door listening on ${server.sql.host}:${server.sql.port} (psql "host=${server.sql.host} port=${server.sql.port} dbname=crm user=analyst", password: a JWT)\n`,
      );
    }
    process.stdout.write(`Dashboard: ${server.url}/dashboard/#token=<a JWT signed with CRM_API_SECRET> (see docs/dashboard.md)\n`);
  });

// Command registration: one line per command module (other stages add theirs here).
registerRunCommands(program); // extract, transform, refresh, run, backfill
(await import('./status-command.ts')).registerStatusCommands(program); // status, history
(await import('./rollback-command.ts')).registerRollbackCommands(program); // versions, rollback
(await import('./schedule-command.ts')).registerScheduleCommand(program);
(await import('./state-command.ts')).registerStateCommand(program);
(await import('./sources-command.ts')).registerSourcesCommand(program); // sources list, check
(await import('./seed-postgres-command.ts')).registerSeedPostgresCommand(program);
(await import('./serve-sample-sources-command.ts')).registerServeSampleSourcesCommand(program);
(await import('./clv-command.ts')).registerClvCommand(program); // clv backtest
(await import('./config-command.ts')).registerConfigCommand(program); // config show, schema
(await import('./sentiment-command.ts')).registerSentimentCommand(program); // sentiment train, score, eval, adapt, rescore

async function main(): Promise<number> {
  try {
    await program.parseAsync(process.argv);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage; // --help and --version exit 0
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`crm: ${message}\n`);
    if (error instanceof ExitCodeError) return error.exitCode;
    if (error instanceof RunLockedError) return EXIT.locked;
    if (error instanceof UsageError || error instanceof ConfigError) return EXIT.usage;
    if (error instanceof PythonSetupError) return EXIT.environment;
    if (error instanceof DbtFailedError || error instanceof SourceUnavailableError) return EXIT.stepFailed;
    logger.error({ err: error }, 'unexpected failure');
    return EXIT.stepFailed;
  }
}

const code = await main();
// serve and quickstart keep the process alive through their listening socket.
if (code !== EXIT.ok) process.exit(code);

import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { cubeModelDir } from '../shared/paths.ts';
import { ApiConfigError, startApiServer } from '../api/server.ts';
import { envValue } from '../shared/env.ts';
import { ConfigError, loadConfig } from '../shared/config.ts';
import { warehouseOption } from './options.ts';

/**
 * CLI entry of the API: `tsx cli/api-main.ts --port 4000 --host 127.0.0.1`.
 * Exit codes: 0 stopped by a signal, 1 could not serve (e.g. the port is taken), 2 bad configuration
 * (missing CRM_API_SECRET, bad option, missing warehouse, model that does not compile).
 */

const EXIT_RUNTIME = 1;
const EXIT_CONFIG = 2;

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65_535) throw new InvalidArgumentError('port must be a whole number from 0 to 65535');
  return n;
}

const program = new Command('crm-api')
  .description("Serve Cube's REST API (/cubejs-api/v1/meta, /load, /sql, /dry-run) and /health over the DuckDB warehouse, read-only.")
  .option('--port <n>', 'port to listen on (0 picks a free one)', port, 4000)
  .option('--host <host>', 'interface to bind', '127.0.0.1')
  .option('--sql-port <n>', 'also serve the SQL door (Postgres wire protocol, docs/sql-api.md) on this port (0 picks one)', port)
  .addOption(warehouseOption('DuckDB warehouse file'))
  .option('--model-dir <path>', 'Cube model folder', cubeModelDir)
  .addOption(
    new Option('--timezone <tz>', 'time zone of queries that name none (default: config shop.timezone)').env('CRM_DEFAULT_TIMEZONE'),
  )
  .addHelpText(
    'after',
    `
Environment:
  CRM_API_SECRET       HS256 secret the JWTs are verified with (required)
  CRM_WAREHOUSE_PATH   default for --warehouse
  CRM_LOG_LEVEL        log level of the JSON request log on stderr (default info)
  CRM_API_QUERY_TIMEOUT_MS  time limit of each warehouse query in ms (default 30000, 0: none)
  CRM_API_CACHE_ENTRIES     size of the /load result cache and of the front cache (default 500, 0: off)
  CRM_API_RESPONSE_CACHE_TTL_MS  longest life of a front-cache entry, ms (default 60000, 0: off)
  CRM_API_IDLE_CLOSE_MS     let go of the warehouse file after this long without a query, ms (default 300000, 0: never)
  CRM_API_DUCKDB_THREADS    threads of the API's DuckDB instance (default 1; 0: one per core)

Exit codes: 0 stopped by SIGINT/SIGTERM, 1 could not serve, 2 bad configuration.`,
  )
  .exitOverride()
  .configureOutput({ writeErr: (text) => process.stderr.write(text) });

async function main(argv: string[]): Promise<number | undefined> {
  try {
    program.parse(argv);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_CONFIG; // --help exits 0
    throw error;
  }
  const opts = program.opts<{ port: number; host: string; warehouse: string; modelDir: string; timezone?: string; sqlPort?: number }>();
  const fail = (message: string, code: number) => {
    process.stderr.write(`crm-api: ${message}\n`);
    return code;
  };

  const secret = envValue('CRM_API_SECRET');
  if (!secret) return fail('CRM_API_SECRET is not set: the API verifies JWTs (HS256) with it.', EXIT_CONFIG);
  const warehousePath = path.resolve(opts.warehouse);
  if (!fs.existsSync(warehousePath)) return fail(`warehouse not found: ${warehousePath} (run \`npm run crm -- run\` first)`, EXIT_CONFIG);

  try {
    const server = await startApiServer({
      warehousePath,
      cubeModelDir: path.resolve(opts.modelDir),
      jwtSecret: secret,
      defaultTimezone: opts.timezone ?? loadConfig().shop.timezone,
      port: opts.port,
      host: opts.host,
      ...(opts.sqlPort !== undefined ? { sqlPort: opts.sqlPort } : {}),
      logger: { level: envValue('CRM_LOG_LEVEL') ?? 'info', stream: process.stderr },
    });
    process.stdout.write(`API listening on ${server.url}\n`);
    if (server.sql) process.stdout.write(`SQL door listening on ${server.sql.host}:${server.sql.port}\n`);
    const stop = () => {
      server.close().then(
        () => process.exit(0),
        () => process.exit(EXIT_RUNTIME),
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    return undefined; // keep serving
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return fail(message, error instanceof ApiConfigError || error instanceof ConfigError ? EXIT_CONFIG : EXIT_RUNTIME);
  }
}

const code = await main(process.argv);
if (code !== undefined) process.exit(code);

import path from 'node:path';
import { Command, Option } from 'commander';
import { UsageError } from './exit-codes.ts';
import { printResult } from './output.ts';
import { POSTGRES_ORDERS_ENV } from '../pipelines/extract/postgres/postgres-orders-source.ts';
import { populatePostgresShop } from '../pipelines/sources/sample-data/postgres-shop.ts';
import { resolveLandingDir } from '../shared/paths.ts';
import { envValue } from '../shared/env.ts';

/**
 * `crm seed-postgres`: fill a PostgreSQL database (schema `shop`) with the generated sample shop's
 * orders, items, payments, refunds and cancellations, so the `orders_pg` source has an OLTP
 * database to read. Run `crm generate` first.
 */
export function registerSeedPostgresCommand(program: Command): void {
  program
    .command('seed-postgres')
    .description(`Load the generated sample orders into a PostgreSQL "shop" schema (the OLTP database the orders_pg source reads).`)
    .addOption(new Option('--url <url>', `PostgreSQL connection string`).default(envValue(POSTGRES_ORDERS_ENV), `$${POSTGRES_ORDERS_ENV}`))
    .addOption(
      new Option('--landing <dir>', 'generated landing folder to read').default(resolveLandingDir(), '$CRM_LANDING_DIR or data/landing'),
    )
    .option('--schema <name>', 'schema to create and fill', 'shop')
    .option('--json', 'print the result as one JSON document on stdout')
    .action(async (opts: { url?: string; landing: string; schema: string; json?: boolean }) => {
      if (!opts.url) throw new UsageError(`no PostgreSQL connection string: pass --url or set ${POSTGRES_ORDERS_ENV}`);
      const summary = await populatePostgresShop({
        connectionString: opts.url,
        landingDir: path.resolve(opts.landing),
        schema: opts.schema,
      });
      printResult(Boolean(opts.json), summary, () =>
        Object.entries(summary.tables)
          .map(([table, t]) => `${opts.schema}.${table}: ${t.rowsWritten} rows written (${t.rejected} invalid skipped)`)
          .join('\n'),
      );
    });
}

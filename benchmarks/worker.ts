/**
 * One measured benchmark task per process: `node --import tsx benchmarks/worker.ts <task> '<json args>'`.
 * Prints one JSON line: the task's figures plus seconds and the process's peak RSS.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { DEFAULT_EXTRACT_MEMORY_LIMIT } from '../pipelines/extract/run-extract.ts';

type Args = Record<string, unknown>;
const [task, rawArgs] = process.argv.slice(2) as [string, string | undefined];
const args = JSON.parse(rawArgs ?? '{}') as Args;

const tasks: Record<string, (args: Args) => Promise<Record<string, unknown>>> = {
  async generate(a) {
    const { generateSampleData, DEFAULT_GENERATE_OPTIONS } = await import('../pipelines/sources/sample-data/generate.ts');
    const truth = await generateSampleData({
      ...DEFAULT_GENERATE_OPTIONS,
      outDir: String(a.outDir),
      orders: Number(a.orders),
      customers: Number(a.customers),
      seed: Number(a.seed ?? DEFAULT_GENERATE_OPTIONS.seed),
    });
    return { counts: truth.counts };
  },

  /** The project's extractor: parse, validate with zod, quarantine, dedupe, upsert, commit. */
  async extract(a) {
    const { findSource } = await import('../pipelines/extract/sources.ts');
    const { extractSource } = await import('../pipelines/extract/run-extract.ts');
    const summary = await extractSource(findSource(String(a.source)), {
      warehousePath: String(a.warehousePath),
      landingDir: String(a.landingDir),
      batchId: `bench-${Date.now()}`,
    });
    const sum = (k: 'read' | 'inserted' | 'updated' | 'rejected') => summary.tables.reduce((n, t) => n + t[k], 0);
    return { records: sum('read'), loaded: sum('inserted') + sum('updated'), rejected: sum('rejected') };
  },

  /** The practical upper bound: DuckDB's own readers into plain tables, same files, same memory limit. */
  async 'duckdb-read'(a) {
    const instance = await DuckDBInstance.create(String(a.warehousePath));
    const connection = await instance.connect();
    await connection.run(`SET memory_limit = '${process.env.CRM_EXTRACT_MEMORY_LIMIT?.trim() || DEFAULT_EXTRACT_MEMORY_LIMIT}'`);
    await connection.run('SET preserve_insertion_order = false');
    let records = 0;
    for (const file of a.files as { table: string; path: string }[]) {
      const reader = file.path.endsWith('.csv')
        ? `read_csv('${file.path}', header = true)`
        : `read_json('${file.path}', format = 'newline_delimited', ignore_errors = true)`;
      await connection.run(`CREATE OR REPLACE TABLE "${file.table}" AS SELECT * FROM ${reader}`);
      const result = await connection.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM "${file.table}"`);
      records += Number(result.getRowObjects()[0]!.n);
    }
    connection.closeSync();
    instance.closeSync();
    return { records };
  },

  /**
   * New and changed orders for an incremental run: `fraction` of the orders, half of them existing
   * orders refunded a day after their last update, half new orders (copies of existing baskets
   * under new ids, ordered after the latest order). Written as delta files of a landing folder.
   */
  async 'orders-delta'(a) {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    await connection.run("SET TimeZone = 'UTC'");
    const from = (name: string) => `read_csv('${path.join(String(a.landingDir), 'orders', name)}', header = true, all_varchar = true)`;
    const outDir = path.join(String(a.outDir), 'orders');
    fs.mkdirSync(outDir, { recursive: true });
    const every = Math.max(2, Math.round(1 / Number(a.fraction)));
    const iso = (expr: string) => `strftime(${expr}, '%Y-%m-%dT%H:%M:%SZ')`;
    await connection.run(
      `CREATE TABLE orders AS SELECT *, row_number() OVER () AS n FROM ${from('orders.csv')} WHERE TRY_CAST(updated_at AS TIMESTAMPTZ) IS NOT NULL AND TRY_CAST(ordered_at AS TIMESTAMPTZ) IS NOT NULL`,
    );
    await connection.run(`CREATE TABLE latest AS SELECT max(CAST(ordered_at AS TIMESTAMPTZ)) AS latest_at FROM orders`);
    await connection.run(
      `CREATE TABLE changed AS SELECT * EXCLUDE (n) REPLACE ('refunded' AS status, ${iso('CAST(updated_at AS TIMESTAMPTZ) + INTERVAL 1 DAY')} AS updated_at) FROM orders WHERE n % ${every * 2} = 1`,
    );
    const prefix = String(a.prefix ?? 'N');
    await connection.run(`CREATE TABLE added AS SELECT * EXCLUDE (n) REPLACE ('${prefix}' || order_id AS order_id,
        ${iso(`(SELECT latest_at FROM latest) + to_minutes(CAST(n % 1440 AS BIGINT))`)} AS ordered_at,
        ${iso(`(SELECT latest_at FROM latest) + to_minutes(CAST(n % 1440 AS BIGINT) + 5)`)} AS updated_at,
        'paid' AS status), order_id AS source_order_id FROM orders WHERE n % ${every * 2} = 0`);
    await connection.run(`COPY changed TO '${path.join(outDir, 'orders_delta_changed.csv')}' (HEADER)`);
    await connection.run(`COPY (SELECT * EXCLUDE (source_order_id) FROM added) TO '${path.join(outDir, 'orders_delta_new.csv')}' (HEADER)`);
    await connection.run(`COPY (SELECT items.* REPLACE (added.order_id AS order_id) FROM ${from('order_items.csv')} AS items JOIN added ON items.order_id = added.source_order_id)
        TO '${path.join(outDir, 'order_items_delta_new.csv')}' (HEADER)`);
    const count = async (table: string) =>
      Number((await connection.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM ${table}`)).getRowObjects()[0]!.n);
    const figures = { changed: await count('changed'), added: await count('added') };
    connection.closeSync();
    instance.closeSync();
    return figures;
  },

  /**
   * A copy of a warehouse without its rollup tables (schema pre_aggregations dropped), so the API
   * serving it answers every query from the marts: the "without pre-aggregations" side.
   */
  async 'strip-pre-aggregations'(a) {
    const to = String(a.to);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.rmSync(to, { force: true });
    fs.rmSync(`${to}.wal`, { force: true });
    fs.copyFileSync(String(a.from), to);
    const instance = await DuckDBInstance.create(to);
    const connection = await instance.connect();
    const count = async () =>
      Number(
        (
          await connection.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM duckdb_tables() WHERE schema_name = 'pre_aggregations'`)
        ).getRowObjects()[0]!.n,
      );
    const dropped = await count();
    await connection.run('DROP SCHEMA IF EXISTS pre_aggregations CASCADE');
    await connection.run('CHECKPOINT');
    const left = await count();
    connection.closeSync();
    instance.closeSync();
    return { dropped, left };
  },

  /** The CLV repeat-purchase fits on simulated customers (benchmarks/clv-fit.ts), CPU-bound, in a process of their own. */
  async 'clv-fit'(a) {
    const { runClvFitBench } = await import('./clv-fit.ts');
    const result = runClvFitBench(Number(a.customers), a.previousCustomers === null ? null : Number(a.previousCustomers), (line) =>
      process.stderr.write(`[clv-fit] ${line}\n`),
    );
    return { ...result };
  },

  /** Writes NDJSON copies of CSV files (values kept as the CSV's text), for the NDJSON variant. */
  async 'csv-to-ndjson'(a) {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    for (const file of a.files as { from: string; to: string }[]) {
      fs.mkdirSync(path.dirname(file.to), { recursive: true });
      await connection.run(
        `COPY (SELECT * FROM read_csv('${file.from}', header = true, all_varchar = true)) TO '${file.to}' (FORMAT json)`,
      );
    }
    connection.closeSync();
    instance.closeSync();
    return {};
  },
};

const run = tasks[task];
if (!run) {
  process.stderr.write(`unknown task '${task}': ${Object.keys(tasks).join(', ')}\n`);
  process.exit(2);
}
const started = performance.now();
const figures = await run(args);
process.stdout.write(
  JSON.stringify({
    ...figures,
    seconds: (performance.now() - started) / 1000,
    maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  }) + '\n',
);

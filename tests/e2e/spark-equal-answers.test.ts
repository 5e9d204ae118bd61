import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_GENERATE_OPTIONS, generateSampleData } from '../../pipelines/sources/sample-data/generate.ts';
import { openWarehouse, quoteIdent } from '../../pipelines/raw/warehouse-connection.ts';
import { ensureSparkVenv, javaVersion } from '../../pipelines/transform/python-venv.ts';
import { runPipeline } from '../../cli/pipeline.ts';
import { loadConfig } from '../../shared/config.ts';

/**
 * Equal answers on both targets (issue 28, docs/spark.md): one generated shop is extracted and
 * built on DuckDB (`crm run`), then a copy of that warehouse, its marts dropped, is built again by
 * `crm run --target spark` (dbt-spark with Delta through the Parquet boundary, then loaded back into
 * DuckDB). Every mart of the two files is then compared:
 *   * the same set of marts, each with the same row count;
 *   * key sums: revenue, orders, customers per segment, KPI periods, trigger counts;
 *   * every mart row by row (EXCEPT ALL in both directions on all columns), doubles rounded to
 *     DOUBLE_DECIMALS (4) places: Spark and DuckDB sum and divide floating-point numbers in different
 *     orders, so the last bits of a double can differ. Decimals, integers, strings (pseudonyms
 *     included), dates and timestamps must be equal exactly.
 * The copy keeps the raw tables (so load times are the same); the Spark run fits the CLV model
 * again (clv.refitEveryDays 0: the fit is deterministic, so its parameters and predictions must be
 * equal, and dim_clv_model says "fitted", not "reused"). Left out: the run's own bookkeeping
 * (run_id, fit_run_id, fitted_at, scored_at, seconds) and the snapshot's dbt_* validity columns (the
 * moment each build ran).
 * SPARK_TEST_CUSTOMERS / SPARK_TEST_ORDERS size the shop and SPARK_TEST_DATA_TESTS=1 runs dbt's data
 * tests on Spark too: CI runs the reduced comparison (the small default, every model and the
 * snapshot on Spark, data tests on the DuckDB build only: they cost Spark about 1.3 s each, 45 % of
 * its build); `npm run test:spark` runs the sample shop's 2,000 customers and 20,000 orders with
 * every data test on Spark.
 */
const CUSTOMERS = Number(process.env['SPARK_TEST_CUSTOMERS'] ?? 150);
const ORDERS = Number(process.env['SPARK_TEST_ORDERS'] ?? 800);
const SPARK_DATA_TESTS = process.env['SPARK_TEST_DATA_TESTS'] === '1';
const DOUBLE_DECIMALS = 4;
const RUN_DEPENDENT_COLUMNS = new Set([
  'run_id',
  'fit_run_id',
  'fitted_at',
  'scored_at',
  'seconds',
  'dbt_valid_from',
  'dbt_valid_to',
  'dbt_updated_at',
  'dbt_scd_id',
]);

/** JSON for messages: DuckDB's counts are BigInts. */
const json = (value: unknown) => JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? Number(v) : v));

const java = javaVersion();
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-spark-equal-'));
afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

if (!java) process.stdout.write('spark-equal-answers: skipped, no Java runtime (Spark needs Java 17 or 21)\n');

describe.skipIf(!java)('the spark target', () => {
  it('builds every mart with the answers DuckDB gives', { timeout: 1_800_000 }, async () => {
    const started = Date.now();
    ensureSparkVenv();
    const landingDir = path.join(workDir, 'landing');
    const duckPath = path.join(workDir, 'duckdb', 'crm.duckdb');
    const sparkPath = path.join(workDir, 'spark', 'crm.duckdb');
    await generateSampleData({ ...DEFAULT_GENERATE_OPTIONS, outDir: landingDir, seed: 28, customers: CUSTOMERS, orders: ORDERS });
    const duck = await runPipeline({ warehousePath: duckPath, landingDir });
    expect(duck.status).toBe('succeeded');
    const duckSeconds = (Date.now() - started) / 1000;

    // The Spark run starts from the same raw tables and no marts at all, so a mart Spark did not
    // build cannot pass as DuckDB's.
    fs.mkdirSync(path.dirname(sparkPath), { recursive: true });
    fs.copyFileSync(duckPath, sparkPath);
    {
      const wh = await openWarehouse(sparkPath);
      for (const schema of ['marts', 'snapshots', 'intermediate', 'staging', 'pre_aggregations'])
        await wh.connection.run(`drop schema if exists ${schema} cascade`);
      wh.close();
    }
    const config = loadConfig();
    const spark = await runPipeline({
      warehousePath: sparkPath,
      landingDir,
      target: 'spark',
      config: { ...config, clv: { ...config.clv, refitEveryDays: 0 } },
      ...(SPARK_DATA_TESTS ? {} : { dataTests: false }),
    });
    expect(spark.status).toBe('succeeded');
    const sparkSeconds = (Date.now() - started) / 1000 - duckSeconds;

    const wh = await openWarehouse(sparkPath);
    try {
      await wh.connection.run(`attach '${duckPath}' as duck (read_only)`);
      const rows = async (sql: string) => (await wh.connection.runAndReadAll(sql)).getRowObjectsJS();
      const tablesOf = async (catalog: string, schema: string) =>
        (
          await rows(
            `select table_name from information_schema.tables where table_catalog = '${catalog}' and table_schema = '${schema}' order by 1`,
          )
        ).map((r) => String(r['table_name']));
      const [self] = (await rows('select current_database() as db')).map((r) => String(r['db']));
      const duckMarts = await tablesOf('duck', 'marts');
      expect(duckMarts.length).toBeGreaterThanOrEqual(17);
      expect(await tablesOf(self!, 'marts')).toEqual(duckMarts);

      const differences: string[] = [];
      const counts: Record<string, number> = {};
      for (const [schema, table] of [...duckMarts.map((t) => ['marts', t] as const), ['snapshots', 'snp_customer_profiles'] as const]) {
        const columns = await rows(
          `select column_name, data_type from information_schema.columns
           where table_catalog = 'duck' and table_schema = '${schema}' and table_name = '${table}' order by ordinal_position`,
        );
        const select = columns
          .filter((c) => !RUN_DEPENDENT_COLUMNS.has(String(c['column_name'])))
          .map((c) => {
            const name = quoteIdent(String(c['column_name']));
            return String(c['data_type']) === 'DOUBLE' ? `round(${name}, ${DOUBLE_DECIMALS}) as ${name}` : name;
          })
          .join(', ');
        const a = `select ${select} from duck.${schema}.${quoteIdent(table)}`;
        const b = `select ${select} from ${quoteIdent(self!)}.${schema}.${quoteIdent(table)}`;
        const [stat] = await rows(`select
            (select count(*) from (${a})) as duck_rows,
            (select count(*) from (${b})) as spark_rows,
            (select count(*) from (${a} except all ${b})) as only_duck,
            (select count(*) from (${b} except all ${a})) as only_spark`);
        counts[`${schema}.${table}`] = Number(stat!['duck_rows']);
        if (Number(stat!['duck_rows']) !== Number(stat!['spark_rows']) || Number(stat!['only_duck']) || Number(stat!['only_spark'])) {
          const sample = await rows(`(${a} except all ${b}) limit 2`);
          differences.push(
            `${schema}.${table}: duckdb ${stat!['duck_rows']} rows, spark ${stat!['spark_rows']}; ${stat!['only_duck']} only on duckdb, ${stat!['only_spark']} only on spark; e.g. ${json(sample)}`,
          );
        }
      }
      expect(differences).toEqual([]);
      // Every mart holds rows (an empty mart on both sides would compare equal and prove nothing),
      // except the triggers, which a small shop may not fire.
      for (const [name, n] of Object.entries(counts)) if (!name.includes('trigger')) expect(n, name).toBeGreaterThan(0);

      // Key sums, stated for the record (equal by the row-by-row comparison above).
      const sums = async (catalog: string) =>
        (
          await rows(`select
            (select sum(net_revenue_reporting) from ${catalog}.marts.fct_orders) as revenue,
            (select count(*) from ${catalog}.marts.fct_orders) as orders,
            (select string_agg(rfm_segment || '=' || n, ',' order by rfm_segment) from
              (select rfm_segment, count(*) as n from ${catalog}.marts.customer_value group by all)) as segments,
            (select count(*) from ${catalog}.marts.fct_kpi_periods) as kpi_periods,
            (select count(*) from ${catalog}.marts.fct_customer_triggers) as triggers`)
        )[0];
      const duckSums = await sums('duck');
      expect(await sums(quoteIdent(self!))).toEqual(duckSums);
      process.stdout.write(
        `spark-equal-answers: ${CUSTOMERS} customers, ${ORDERS} orders, Spark data tests ${SPARK_DATA_TESTS ? 'on' : 'off'}; ` +
          `${Object.keys(counts).length} tables equal; ` +
          `duckdb run ${duckSeconds.toFixed(0)} s, spark run ${sparkSeconds.toFixed(0)} s; sums ${json(duckSums)}\n`,
      );
    } finally {
      wh.close();
    }
  });
});

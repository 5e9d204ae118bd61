/**
 * A quick look at the dashboard's queries on a warehouse that is already built (e.g. the one the
 * bench's dbt or semantic stage left in .bench/work/seed-42-1m/dbt/crm.duckdb), while iterating on
 * the model or the panels: one API process, each query's SQL from /sql (after access control and
 * rollup routing), its /load latency (result cache bypassed) and DuckDB's time on the same SQL in
 * this process, and optionally DuckDB's EXPLAIN ANALYZE. Not a benchmark (no baseline process, no
 * interleaving): `npm run bench -- --stages semantic` is the judge. After a change to cube/model,
 * rebuild the rollups first (`npm run crm -- refresh --warehouse <file>`), or every query reads the
 * marts (the manifest's hashes no longer match).
 *
 *   npx tsx benchmarks/semantic-probe.ts --warehouse <file> [--queries id,id] [--runs 10] [--explain] [--json]
 *
 * Exit codes: 0 done, 1 a query failed or the warehouse cannot be read, 2 usage.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { startApiProcess } from './api-process.ts';
import { dashboardQueries } from './dashboard-queries.ts';
import { percentile } from './stages/semantic-stage.ts';

const USAGE = `Usage: npx tsx benchmarks/semantic-probe.ts --warehouse <file> [options]

Each dashboard query (default selection, Asia/Shanghai) on a built warehouse: /load p50/p95, DuckDB's
time on the SQL the API runs, rows, and the rollups or marts read.

Options:
  --warehouse <file>  a built warehouse (required)
  --queries <ids>     comma-separated query ids (default: all), e.g. kpi_period_trend,rfm
  --runs <n>          timed runs per query (default 10, after 2 warm-up runs)
  --timezone <zone>   the queries' zone (default Asia/Shanghai)
  --explain           print each statement's SQL and DuckDB's EXPLAIN ANALYZE
  --json              print the results as JSON
  -h, --help          this text

Exit codes: 0 done, 1 a query failed or the warehouse cannot be read, 2 usage.`;

interface ProbeRow {
  id: string;
  loadP50: number;
  loadP95: number;
  duckdbP50: number;
  rows: number;
  reads: string[];
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        warehouse: { type: 'string' },
        queries: { type: 'string' },
        runs: { type: 'string', default: '10' },
        timezone: { type: 'string', default: 'Asia/Shanghai' },
        explain: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }).values;
  } catch (error) {
    process.stderr.write(`semantic-probe: ${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const runs = Number(args.runs);
  if (!args.warehouse || !Number.isInteger(runs) || runs < 1) {
    process.stderr.write(`semantic-probe: --warehouse is required and --runs must be a positive integer\n\n${USAGE}\n`);
    return 2;
  }
  if (!fs.existsSync(args.warehouse)) {
    process.stderr.write(`semantic-probe: no warehouse at ${args.warehouse}\n`);
    return 1;
  }
  const only = args.queries ? new Set(args.queries.split(',')) : null;
  const api = await startApiProcess(args.warehouse);
  const allLoads: number[][] = []; // every query's /load samples: the dashboard's p50/p95 as the bench's stage counts them
  const instance = await DuckDBInstance.create(args.warehouse, { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  const results: ProbeRow[] = [];
  try {
    await connection.run(`SET TimeZone = 'UTC'`);
    const asOf = String(
      (await connection.runAndReadAll(`SELECT strftime(max(ordered_at), '%Y-%m-%d') AS d FROM marts.fct_orders`)).getRowObjects()[0]!.d,
    );
    const post = async (route: string, body: unknown) => {
      const response = await fetch(`${api.url}/cubejs-api/v1/${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: api.token },
        body: JSON.stringify(body),
      });
      const parsed = (await response.json()) as Record<string, unknown>;
      if (!response.ok) throw new Error(`${route} ${response.status}: ${JSON.stringify(parsed).slice(0, 300)}`);
      return parsed;
    };
    for (const q of dashboardQueries({ asOf, timezone: args.timezone })) {
      if (only && !only.has(q.id)) continue;
      const sqlBody = (await post('sql', { query: q.query })) as unknown;
      const statements = (Array.isArray(sqlBody) ? sqlBody : [sqlBody]) as {
        sql: { sql: [string, unknown[]]; usedPreAggregations: Record<string, unknown> };
      }[];
      const reads = statements.map((b) => Object.keys(b.sql.usedPreAggregations).join('+') || 'marts');
      const loads: number[] = [];
      let rows = 0;
      allLoads.push(loads);
      for (let i = 0; i < runs + 2; i++) {
        const started = performance.now();
        const body = (await post('load', { query: { ...q.query, renewQuery: true }, queryType: 'multi' })) as {
          results: { data: unknown[] }[];
        };
        rows = body.results.reduce((n, r) => n + r.data.length, 0);
        if (i >= 2) loads.push(performance.now() - started);
      }
      const duckdb: number[] = [];
      for (let i = 0; i < runs + 1; i++) {
        const started = performance.now();
        for (const b of statements) {
          const prepared = await connection.prepare(b.sql.sql[0]);
          prepared.bind(b.sql.sql[1] as never);
          await prepared.runAndReadAll();
        }
        if (i >= 1) duckdb.push(performance.now() - started);
      }
      const row = {
        id: q.id,
        loadP50: percentile(loads, 0.5),
        loadP95: percentile(loads, 0.95),
        duckdbP50: percentile(duckdb, 0.5),
        rows,
        reads,
      };
      results.push(row);
      if (!args.json)
        process.stdout.write(
          `${q.id.padEnd(36)} /load p50 ${row.loadP50.toFixed(1)} p95 ${row.loadP95.toFixed(1)} ms | DuckDB p50 ${row.duckdbP50.toFixed(1)} ms | ${rows} rows | ${reads.join(' | ')}\n`,
        );
      if (args.explain && !args.json)
        for (const b of statements) {
          const prepared = await connection.prepare(`EXPLAIN ANALYZE ${b.sql.sql[0]}`);
          prepared.bind(b.sql.sql[1] as never);
          const plan = await prepared.runAndReadAll();
          process.stdout.write(
            `${b.sql.sql[0]}\n${JSON.stringify(b.sql.sql[1])}\n${plan
              .getRows()
              .map((r) => String(r[1]))
              .join('\n')}\n`,
          );
        }
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
    await api.stop();
  }
  const samples = allLoads.flat();
  const all = { samples: samples.length, p50: percentile(samples, 0.5), p95: percentile(samples, 0.95) };
  if (args.json)
    process.stdout.write(
      `${JSON.stringify({ warehouse: args.warehouse, timezone: args.timezone, runs, all, queries: results }, null, 2)}\n`,
    );
  else
    process.stdout.write(
      `all queries                          /load p50 ${all.p50.toFixed(1)} p95 ${all.p95.toFixed(1)} ms over ${all.samples} samples\n`,
    );
  return 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  process.stderr.write(`semantic-probe: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}

/**
 * Load test of the decision API on loopback: `npx tsx benchmarks/api-load.ts [--warehouse file]
 * [--connections 50] [--seconds 10]`. Runs autocannon against the KPI scorecard and the customer
 * lookup (by key and by e-mail) of the real API, and against a no-op route of a bare Fastify app
 * (same framework, same process, same client settings) as the baseline; prints requests/s, latency,
 * errors and non-2xx per endpoint and each endpoint's throughput as a ratio of the baseline.
 * Without --warehouse it builds the test fixture warehouse (tests/support/decision-fixture.ts) in
 * a temp folder. A benchmark, not a test: it never fails on a figure, only on errors it reports.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { Command } from 'commander';
import Fastify from 'fastify';
import { signDevToken } from '../api/auth.ts';
import { startApiServer } from '../api/server.ts';
import { createDecisionWarehouse } from '../tests/support/decision-fixture.ts';

const program = new Command('api-load')
  .option('--warehouse <file>', 'a published warehouse (default: the fixture warehouse in a temp folder)')
  .option('--connections <n>', 'concurrent clients', (v) => Number(v), 50)
  .option('--seconds <n>', 'duration of each run', (v) => Number(v), 10)
  .option('--lookup-key <key>', 'customer_key to look up', 'c1')
  .option('--lookup-email <email>', 'e-mail to look up (needs dim_customers)', 'alice@example.com')
  .option('--from <date>', 'scorecard period start', '2025-02-01')
  .option('--to <date>', 'scorecard period end', '2025-02-28')
  .option('--json', 'print the results as JSON');
program.parse();
const opts = program.opts<{
  warehouse?: string;
  connections: number;
  seconds: number;
  lookupKey: string;
  lookupEmail: string;
  from: string;
  to: string;
  json?: boolean;
}>();

interface Row {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  timeouts: number;
  requests: number;
  ratio?: number;
}

async function run(name: string, url: string, headers: Record<string, string> = {}): Promise<Row> {
  const result = await autocannon({ url, connections: opts.connections, duration: opts.seconds, headers });
  return {
    name,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
    timeouts: result.timeouts,
    requests: result.requests.total,
  };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-api-load-'));
const secret = 'api-load-secret-0123456789abcdef';
process.env.CRM_API_RATE_LIMIT = String(1e9); // the per-caller limit would otherwise answer 429s
try {
  const warehousePath = opts.warehouse ? path.resolve(opts.warehouse) : await createDecisionWarehouse(path.join(tmp, 'warehouse.duckdb'));
  const api = await startApiServer({ warehousePath, jwtSecret: secret, port: 0 });
  const noop = Fastify();
  noop.get('/noop', async () => ({ ok: true }));
  await noop.listen({ port: 0, host: '127.0.0.1' });
  const noopAddress = noop.server.address() as { port: number };
  const headers = { authorization: `Bearer ${await signDevToken(secret, { sub: 'bench', roles: ['executive', 'service_agent'] })}` };
  const scorecard = `${api.url}/api/v1/kpis/scorecard?from=${opts.from}&to=${opts.to}&timezone=UTC&kpis=revenue,orders,buyers,avg_order_value`;
  // One warm-up call each (compiles the model, opens the file, fills Cube's result cache).
  for (const url of [scorecard, `${api.url}/api/v1/customers/lookup?key=${opts.lookupKey}`]) await fetch(url, { headers });
  const rows: Row[] = [];
  rows.push(await run('no-op (bare Fastify)', `http://127.0.0.1:${noopAddress.port}/noop`));
  rows.push(await run('KPI scorecard', scorecard, headers));
  rows.push(await run('customer lookup by key', `${api.url}/api/v1/customers/lookup?key=${encodeURIComponent(opts.lookupKey)}`, headers));
  rows.push(
    await run('customer lookup by e-mail', `${api.url}/api/v1/customers/lookup?email=${encodeURIComponent(opts.lookupEmail)}`, headers),
  );
  const base = rows[0]!.rps;
  for (const row of rows) row.ratio = row.rps / base;
  await api.close();
  await noop.close();
  if (opts.json) {
    console.log(
      JSON.stringify({ connections: opts.connections, seconds: opts.seconds, warehouse: opts.warehouse ?? 'fixture', rows }, null, 2),
    );
  } else {
    console.log(
      `${opts.connections} connections, ${opts.seconds} s each, loopback, server and client in one process (${os.cpus().length} cores)`,
    );
    console.log(
      'endpoint'.padEnd(28),
      'req/s'.padStart(9),
      'vs no-op'.padStart(9),
      'p50 ms'.padStart(8),
      'p99 ms'.padStart(8),
      'requests'.padStart(9),
      'errors'.padStart(7),
      'non-2xx'.padStart(8),
      'timeouts'.padStart(9),
    );
    for (const r of rows) {
      console.log(
        r.name.padEnd(28),
        r.rps.toFixed(0).padStart(9),
        `${(r.ratio! * 100).toFixed(1)}%`.padStart(9),
        String(r.p50).padStart(8),
        String(r.p99).padStart(8),
        String(r.requests).padStart(9),
        String(r.errors).padStart(7),
        String(r.non2xx).padStart(8),
        String(r.timeouts).padStart(9),
      );
    }
  }
  process.exitCode = rows.some((r) => r.errors || r.non2xx || r.timeouts) ? 1 : 0;
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

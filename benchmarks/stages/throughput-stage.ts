import os from 'node:os';
import autocannon from 'autocannon';
import { startApiProcess, startBaselineProcess } from '../api-process.ts';
import { dashboardQueries } from '../dashboard-queries.ts';
import type { BenchDataset } from '../dataset.ts';
import { servedWarehouse } from '../served-warehouse.ts';
import { round, type StageResult } from '../stage-result.ts';

const CONNECTIONS = 50;
const GOAL_RATIO = 0.3;

interface Load {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  non2xx: number;
  timeouts: number;
}

async function hammer(name: string, url: string, seconds: number, headers: Record<string, string> = {}): Promise<Load> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: seconds, headers });
  return {
    name,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors,
    non2xx: result.non2xx,
    timeouts: result.timeouts,
  };
}

/**
 * Stage 4: API throughput under 50 concurrent clients on loopback (autocannon in the harness, the
 * API in its own process over the bench warehouse), against a no-op route of a bare Fastify process
 * (same framework, same shape) as the ceiling. Endpoints: the KPI scorecard and a dashboard KPI
 * query through /cubejs-api/v1/load (both answered from the result cache after a warm-up call:
 * the "cached KPI requests" of the goal), and the customer lookup by key (uncached DuckDB reads).
 * benchmarks/api-load.ts is the same measurement as a standalone script over a fixture warehouse.
 */
export async function throughputStage(
  dataset: BenchDataset,
  workDir: string,
  log: (line: string) => void,
  seconds: number,
): Promise<StageResult> {
  const warehouse = await servedWarehouse(dataset, workDir, log);
  // The per-caller rate limit would answer 429s to a load generator using one token.
  const [api, noop] = await Promise.all([
    startApiProcess(warehouse, { CRM_API_RATE_LIMIT: String(1e9) }, 'analyst'),
    startBaselineProcess(),
  ]);
  try {
    const headers = { authorization: `Bearer ${api.token}` };
    const post = async (route: string, query: unknown) => {
      const response = await fetch(`${api.url}${route}`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ query }),
      });
      const body = (await response.json()) as { data: Record<string, unknown>[]; error?: string };
      if (!response.ok) throw new Error(`${route} ${response.status}: ${body.error}`);
      return body.data;
    };
    const [latest] = await post('/cubejs-api/v1/load', {
      dimensions: ['executive_kpis.ordered_at'],
      order: { 'executive_kpis.ordered_at': 'desc' },
      limit: 1,
      timezone: 'UTC',
    });
    const asOf = String(latest?.['executive_kpis.ordered_at'] ?? '').slice(0, 10);
    const [customer] = await post('/cubejs-api/v1/load', {
      dimensions: ['customer_value.customer_key'],
      segments: ['customer_value.buyers'],
      limit: 1,
    });
    const key = String(customer?.['customer_value.customer_key']);
    const from = new Date(Date.parse(`${asOf}T00:00:00Z`) - 29 * 86_400_000).toISOString().slice(0, 10);
    const scorecard = `${api.url}/api/v1/kpis/scorecard?from=${from}&to=${asOf}&timezone=Asia/Shanghai&kpis=revenue,orders,buyers,avg_order_value`;
    const kpiQuery = dashboardQueries({ asOf }).find((q) => q.id === 'kpi_monthly_compare')!.query;
    const kpiLoad = `${api.url}/cubejs-api/v1/load?queryType=multi&query=${encodeURIComponent(JSON.stringify(kpiQuery))}`;
    const lookup = `${api.url}/api/v1/customers/lookup?key=${encodeURIComponent(key)}`;
    // Warm-up: compiles the model, opens the file, fills the result cache; each must answer 200.
    for (const url of [scorecard, kpiLoad, lookup]) {
      const response = await fetch(url, { headers });
      if (!response.ok) throw new Error(`warm-up ${new URL(url).pathname} ${response.status}: ${(await response.text()).slice(0, 300)}`);
    }

    log(`${CONNECTIONS} connections, ${seconds} s per endpoint: no-op, KPI scorecard, KPI /load, customer lookup ...`);
    const base = await hammer('no-op route (bare Fastify process)', `${noop.url}/noop`, seconds);
    const loads = [
      await hammer('KPI scorecard (cached)', scorecard, seconds, headers),
      await hammer('KPI query via /cubejs-api/v1/load (cached)', kpiLoad, seconds, headers),
      await hammer('customer lookup by key', lookup, seconds, headers),
    ];
    const failures = [base, ...loads].reduce((n, l) => n + l.errors + l.non2xx + l.timeouts, 0);
    const scorecardRatio = loads[0]!.rps / base.rps;
    return {
      stage: 'throughput',
      title: `API throughput: ${CONNECTIONS} concurrent clients on loopback`,
      goal: `cached KPI requests at least ${GOAL_RATIO} of a no-op route's requests/s, zero errors`,
      met: scorecardRatio >= GOAL_RATIO && failures === 0,
      rows: [
        { label: `${base.name}: requests/s`, value: round(base.rps, 0), unit: 'req/s' },
        ...loads.map((l) => ({
          label: `${l.name}: requests/s (baseline: no-op)`,
          value: round(l.rps, 0),
          unit: 'req/s',
          baseline: round(base.rps, 0),
          ratio: round(l.rps / base.rps, 3),
        })),
        ...loads.flatMap((l) => [
          { label: `${l.name}: latency p50 (baseline: no-op)`, value: l.p50, unit: 'ms', baseline: base.p50 },
          { label: `${l.name}: latency p99 (baseline: no-op)`, value: l.p99, unit: 'ms', baseline: base.p99 },
        ]),
        { label: 'errors + non-2xx + timeouts (all endpoints)', value: failures, unit: 'responses' },
      ],
      notes: [
        `${seconds} s per endpoint; autocannon runs in the harness process, each server in its own Node process, on the same ${os.cpus().length}-core machine, so the client competes with the server for CPU`,
        `scorecard ratio ${round(scorecardRatio, 3)} ${scorecardRatio >= GOAL_RATIO ? 'meets' : 'misses'} ${GOAL_RATIO}; ${failures} failed responses`,
        `lookup of customer ${key}: several small DuckDB reads per request, never cached (the decision API's read path)`,
      ],
    };
  } finally {
    await Promise.all([api.stop(), noop.stop()]);
  }
}

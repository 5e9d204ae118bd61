import os from 'node:os';
import autocannon from 'autocannon';
import { startApiProcess, startBaselineProcess } from '../api-process.ts';
import { dashboardQueries } from '../dashboard-queries.ts';
import type { BenchDataset } from '../dataset.ts';
import { servedWarehouse } from '../served-warehouse.ts';
import { round, type StageResult } from '../stage-result.ts';

const CONNECTIONS = 50;
const GOAL_RATIO = 0.3;
/** Customer keys the uncached lookups cycle through (a 10 s run at the goal's 2,000 req/s asks 20,000). */
const DISTINCT_KEYS = 50_000;
/** How long the harness waits for the customer store of the served version to be built. */
const STORE_WAIT_MS = 600_000;
const LOOKUP_GOAL = { p50: 10, rps: 2_000 };

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

async function hammer(
  name: string,
  url: string,
  seconds: number,
  headers: Record<string, string> = {},
  paths?: () => string,
): Promise<Load> {
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    headers,
    // A fresh path per request (distinct keys), else the same URL every time.
    ...(paths ? { requests: [{ setupRequest: (request: autocannon.Request) => ({ ...request, path: paths() }) }] } : {}),
  });
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
 * the "cached KPI requests" of the goal), and the customer lookup by key: one key asked again and
 * again (served from the front cache after the first answer, as an agent's repeated lookups of the
 * customer on the line are) and a different key on every request, in processes without the front
 * cache: read from the customer store (api/decision/customer-store.ts, built first and waited for),
 * and with the store off (five DuckDB statements).
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
  // Uncached lookups run in processes without the front cache: the customer store's, and DuckDB's
  // statements alone (store off), so every request of those rows reads the customer afresh.
  const unlimited = { CRM_API_RATE_LIMIT: String(1e9) };
  const uncached = { ...unlimited, CRM_API_RESPONSE_CACHE_TTL_MS: '0' };
  const [api, storeApi, duckApi, noop] = await Promise.all([
    startApiProcess(warehouse, unlimited, 'analyst'),
    startApiProcess(warehouse, uncached, 'analyst'),
    startApiProcess(warehouse, { ...uncached, CRM_API_CUSTOMER_STORE: 'off' }, 'analyst'),
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
    const customers = await post('/cubejs-api/v1/load', {
      dimensions: ['customer_value.customer_key'],
      segments: ['customer_value.buyers'],
      limit: DISTINCT_KEYS,
    });
    const keys = customers.map((c) => String(c['customer_value.customer_key']));
    const key = keys[0]!;
    let next = 0;
    const distinctKeyPath = () => `/api/v1/customers/lookup?key=${encodeURIComponent(keys[next++ % keys.length]!)}`;
    // The store's first lookup of the version starts its build; nothing is measured until it is done.
    const storeStarted = Date.now();
    let storeRead = '';
    while (storeRead !== 'store' && Date.now() - storeStarted < STORE_WAIT_MS) {
      const probe = await fetch(`${storeApi.url}/api/v1/customers/lookup?key=${encodeURIComponent(key)}`, { headers });
      if (!probe.ok) throw new Error(`customer store probe ${probe.status}: ${(await probe.text()).slice(0, 300)}`);
      storeRead = probe.headers.get('x-crm-read') ?? '';
      await probe.arrayBuffer();
      if (storeRead !== 'store') await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const storeSeconds = (Date.now() - storeStarted) / 1000;
    log(
      `customer store ${storeRead === 'store' ? `ready after ${storeSeconds.toFixed(1)} s` : `not ready after ${storeSeconds.toFixed(0)} s`}`,
    );
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
      await hammer('customer lookup, one key repeated (front cache)', lookup, seconds, headers),
    ];
    // The server's CPU over the uncached lookups: what one costs it, whatever else shares the cores.
    const loadAverage = os.loadavg()[0]!;
    const cpuBefore = storeApi.cpuSeconds();
    loads.push(await hammer('customer lookup, a new key each request (customer store)', storeApi.url, seconds, headers, distinctKeyPath));
    const cpuAfter = storeApi.cpuSeconds();
    loads.push(
      await hammer('customer lookup, a new key each request (DuckDB reads, store off)', duckApi.url, seconds, headers, distinctKeyPath),
    );
    const distinct = loads[3]!;
    const cpuPerLookupUs =
      cpuBefore !== undefined && cpuAfter !== undefined && distinct.requests > 0
        ? ((cpuAfter - cpuBefore) / distinct.requests) * 1e6
        : undefined;
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
        ...(cpuPerLookupUs !== undefined
          ? [
              {
                label: 'customer lookup, a new key each request (customer store): API process CPU per lookup',
                value: round(cpuPerLookupUs, 0),
                unit: 'µs',
              },
            ]
          : []),
        { label: 'errors + non-2xx + timeouts (all endpoints)', value: failures, unit: 'responses' },
      ],
      notes: [
        `${seconds} s per endpoint; autocannon runs in the harness process, each server in its own Node process, on the same ${os.cpus().length}-core machine, so the client competes with the server for CPU`,
        `scorecard ratio ${round(scorecardRatio, 3)} ${scorecardRatio >= GOAL_RATIO ? 'meets' : 'misses'} ${GOAL_RATIO}; ${failures} failed responses`,
        `lookup of customer ${key} repeated: the front cache's answer after the first; distinct keys: ${keys.length.toLocaleString('en-US')} buyers cycled through by ${next.toLocaleString('en-US')} requests in two API processes without the front cache: one reading the customer store (five LMDB reads: profile, value, latest orders, tickets and mentions), one with the store off (five DuckDB statements)`,
        `customer store (built by the API from the published file, the first time it serves a lookup of the version): ${storeRead === 'store' ? `ready ${round(storeSeconds, 1)} s after the first lookup` : `NOT ready after ${round(storeSeconds, 0)} s, so its row measured DuckDB reads`}`,
        `API process CPU per uncached lookup: its CPU seconds (/proc) over the customer-store run divided by its requests (load average ${round(loadAverage, 1)} when it started; the figure does not grow with other work the way latency does)`,
        `uncached lookup goal (p50 < ${LOOKUP_GOAL.p50} ms, >= ${LOOKUP_GOAL.rps.toLocaleString('en-US')} req/s): ${distinct.p50 < LOOKUP_GOAL.p50 && distinct.rps >= LOOKUP_GOAL.rps ? 'met' : 'missed'} (p50 ${distinct.p50} ms, ${round(distinct.rps, 0)} req/s)`,
      ],
    };
  } finally {
    await Promise.all([api.stop(), storeApi.stop(), duckApi.stop(), noop.stop()]);
  }
}

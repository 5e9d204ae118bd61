/**
 * `npx tsx benchmarks/lookup-cpu.ts --warehouse <file> [--requests 20000] [--role analyst]
 * [--claims '{"regions":["Shanghai"]}'] [--connections 50]`: the API process's CPU per uncached
 * customer lookup (a new key each request, front cache off, read from the customer store once it is
 * built), from its CPU seconds in /proc over a fixed number of lookups: a load-independent figure
 * beside the requests/s and latency, which other work on the machine moves. With --cpu-prof <dir> the
 * server writes a CPU profile (node --cpu-prof) into that folder when it stops.
 */
import autocannon from 'autocannon';
import { Command } from 'commander';
import { signDevToken } from '../api/auth.ts';
import { startApiProcess } from './api-process.ts';

const opts = new Command('lookup-cpu')
  .requiredOption('--warehouse <file>', 'a published warehouse')
  .option('--requests <n>', 'lookups to measure', (v) => Number(v), 20_000)
  .option('--connections <n>', 'concurrent clients', (v) => Number(v), 50)
  .option('--role <role>', 'the token role', 'analyst')
  .option('--claims <json>', 'more token claims (brands, regions)', '{}')
  .option('--cpu-prof <dir>', "write the server's CPU profile into this folder when it stops")
  .option('--keys <n>', 'distinct customer keys to cycle through', (v) => Number(v), 50_000)
  .parse()
  .opts<{ warehouse: string; requests: number; connections: number; role: string; claims: string; keys: number; cpuProf?: string }>();

const api = await startApiProcess(opts.warehouse, { CRM_API_RATE_LIMIT: String(1e9), CRM_API_RESPONSE_CACHE_TTL_MS: '0' }, opts.role, {
  nodeArgs: opts.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProf}`] : [],
});
try {
  // The keys come from an unscoped token of the same process (buyers, as the bench stage asks).
  const lister = await signDevToken('bench-secret-not-for-production', { sub: 'bench', role: 'analyst' });
  const listed = await fetch(`${api.url}/cubejs-api/v1/load`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${lister}` },
    body: JSON.stringify({ query: { dimensions: ['customer_value.customer_key'], segments: ['customer_value.buyers'], limit: opts.keys } }),
  });
  const keys = ((await listed.json()) as { data: Record<string, unknown>[] }).data.map((r) => String(r['customer_value.customer_key']));
  const token = await signDevToken('bench-secret-not-for-production', { sub: 'bench', role: opts.role, ...JSON.parse(opts.claims) });
  const headers = { authorization: `Bearer ${token}` };
  for (let i = 0; i < 2400; i++) {
    const probe = await fetch(`${api.url}/api/v1/customers/lookup?key=${encodeURIComponent(keys[0]!)}`, { headers });
    await probe.arrayBuffer();
    if (probe.headers.get('x-crm-read') === 'store') break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  let next = 0;
  const path = () => `/api/v1/customers/lookup?key=${encodeURIComponent(keys[next++ % keys.length]!)}`;
  // A warm-up of the same shape, so the JIT has compiled the handler before the measured run.
  await autocannon({
    url: api.url,
    connections: opts.connections,
    amount: 5_000,
    headers,
    requests: [{ setupRequest: (r: autocannon.Request) => ({ ...r, path: path() }) }],
  });
  const before = api.cpuSeconds()!;
  const started = performance.now();
  const result = await autocannon({
    url: api.url,
    connections: opts.connections,
    amount: opts.requests,
    headers,
    requests: [{ setupRequest: (r: autocannon.Request) => ({ ...r, path: path() }) }],
  });
  const cpu = api.cpuSeconds()! - before;
  const seconds = (performance.now() - started) / 1000;
  console.log(
    JSON.stringify({
      requests: result.requests.total,
      non2xx: result.non2xx,
      errors: result.errors,
      cpuPerLookupUs: Math.round((cpu / result.requests.total) * 1e6),
      rps: Math.round(result.requests.total / seconds),
      p50: result.latency.p50,
      p99: result.latency.p99,
      bytesPerLookup: Math.round(result.throughput.total / result.requests.total),
    }),
  );
} finally {
  await api.stop();
}

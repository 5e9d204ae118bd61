/**
 * Child process for tests/e2e/decision-export.test.ts: serves the API on a free loopback port with
 * a small V8 heap (set by the parent with --max-old-space-size), prints its URL on stdout, and
 * prints its peak heap on SIGTERM before it exits.
 */
import { buildApiServer } from '../../api/server.ts';

const [warehousePath, secret] = process.argv.slice(2) as [string, string];
const app = buildApiServer({ warehousePath, jwtSecret: secret });
let peak = 0;
const timer = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().heapUsed);
}, 10);
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address() as { port: number };
console.log(`http://127.0.0.1:${address.port}`);
process.on('SIGTERM', async () => {
  clearInterval(timer);
  console.log(JSON.stringify({ peakHeapUsed: peak }));
  await app.close();
  process.exit(0);
});

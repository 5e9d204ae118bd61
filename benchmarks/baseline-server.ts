/**
 * The baselines of the API benchmarks, as a server process of the same shape as the API (Node,
 * Fastify, loopback HTTP, JSON), doing the least work possible:
 *   GET  /noop  answers {ok:true} (the ceiling of the HTTP framework, for the throughput stage);
 *   POST /sql   {sql, params} (or {statements: [...]}) runs the SQL on the warehouse with DuckDB directly (one read-only
 *               instance and one connection kept open) and returns the rows as JSON (the semantic
 *               stage's baseline: the SQL Cube wrote, without the semantic layer around it).
 * `node --import tsx benchmarks/baseline-server.ts [warehouse.duckdb]`; prints "baseline listening on <url>".
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { convertDuckDBParams } from '@cubejs-backend/duckdb-driver/dist/src/Transform.js';
import Fastify from 'fastify';

const warehousePath = process.argv[2];
let connection: DuckDBConnection | undefined;
if (warehousePath) {
  const instance = await DuckDBInstance.create(warehousePath, { access_mode: 'READ_ONLY' });
  connection = await instance.connect();
  // As the API's reader does: Cube's SQL reads naive UTC timestamps in the session zone.
  await connection.run("SET TimeZone = 'UTC'");
}

const app = Fastify();
app.get('/noop', async () => ({ ok: true }));
app.post('/sql', async (request, reply) => {
  if (!connection) return reply.code(503).send({ error: 'no warehouse given' });
  // One statement, or several run one after the other (a compareDateRange query is one per range).
  const body = request.body as { sql?: string; params?: unknown[]; statements?: { sql: string; params?: unknown[] }[] };
  const statements = body.statements ?? [{ sql: body.sql ?? '', params: body.params }];
  const results = [];
  for (const statement of statements) {
    const result = await connection.runAndReadAll(statement.sql, convertDuckDBParams(statement.params ?? []) as never);
    results.push(result.getRowObjectsJson());
  }
  return body.statements ? { results } : { data: results[0] };
});
const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`baseline listening on ${address}\n`);
const stop = () => void app.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

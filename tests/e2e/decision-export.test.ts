import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signDevToken } from '../../api/auth.ts';
import { startApiServer, type RunningApiServer } from '../../api/server.ts';
import { createDecisionWarehouse } from '../support/decision-fixture.ts';

/**
 * A campaign export streams: 400,000 generated trigger rows (143 MB of NDJSON, 71 MB of CSV) go
 * to a real HTTP client from a server process whose V8 heap is capped at 128 MB (about 50 MB of it is the idle server)
 * (--max-old-space-size), so a server that buffered the list would die of "heap out of memory";
 * the server's sampled peak heap is printed. A second, in-process server checks that an
 * abandoned download lets go of the warehouse.
 */
const SECRET = 'decision-export-secret-0123456789abcdef';
const ROWS = 400_000;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-decision-export-'));
const HEAP_MB = 128; // the idle server (fastify, Cube's compiler, tsx) holds about 50 MB
let server: RunningApiServer;
let child: ChildProcess;
let childUrl: string;
let childOutput: AsyncIterator<string>;

beforeAll(async () => {
  const warehousePath = await createDecisionWarehouse(path.join(tmp, 'warehouse.duckdb'), { bulkTriggers: ROWS });
  server = await startApiServer({ warehousePath, jwtSecret: SECRET, port: 0 });
  child = spawn(
    process.execPath,
    [
      `--max-old-space-size=${HEAP_MB}`,
      '--import',
      'tsx',
      path.join(import.meta.dirname, '../support/decision-export-server.ts'),
      warehousePath,
      SECRET,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  childOutput = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  childUrl = (await childOutput.next()).value as string;
});

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await server?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function download(format: 'csv' | 'ndjson') {
  const token = await signDevToken(SECRET, { sub: 'marketing@example.com', roles: ['marketing'] });
  {
    const response = await fetch(`${childUrl}/api/v1/lists/triggers/export?format=${format}&brand=BulkBrand`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    let bytes = 0;
    let lines = 0;
    let first = '';
    const decoder = new TextDecoder();
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.byteLength;
      const text = decoder.decode(chunk, { stream: true });
      if (!first.includes('\n') && first.length < 65_536) first += text.slice(0, 65_536); // up to the first whole row
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines += 1;
    }
    return { bytes, lines, first };
  }
}

it(`streams a 400,000-row list as NDJSON and CSV from a server with a ${HEAP_MB} MB heap`, async () => {
  const ndjson = await download('ndjson');
  expect(ndjson.lines).toBe(ROWS);
  expect(JSON.parse(ndjson.first.split('\n')[0]!)).toMatchObject({
    trigger_type: 'cross_sell',
    brand: 'BulkBrand',
    reason: expect.stringMatching(/^Bought item/),
  });
  expect(ndjson.bytes).toBeGreaterThan(60 * 1024 * 1024);
  expect(ndjson.bytes).toBeGreaterThan(HEAP_MB * 1024 * 1024);

  const csv = await download('csv');
  expect(csv.lines).toBe(ROWS + 1);
  child.kill('SIGTERM');
  const report = JSON.parse((await childOutput.next()).value as string) as { peakHeapUsed: number };
  await once(child, 'exit').catch(() => undefined);
  console.log(
    `export: ndjson ${(ndjson.bytes / 1048576).toFixed(1)} MB, csv ${(csv.bytes / 1048576).toFixed(1)} MB; server peak heap ${(report.peakHeapUsed / 1048576).toFixed(1)} MB (cap ${HEAP_MB} MB)`,
  );
  expect(report.peakHeapUsed).toBeLessThan(HEAP_MB * 1024 * 1024);
});

it('lets go of the warehouse when a client abandons an export half way', async () => {
  const token = await signDevToken(SECRET, { sub: 'marketing@example.com', roles: ['marketing'] });
  const headers = { authorization: `Bearer ${token}` };
  const controller = new AbortController();
  const response = await fetch(`${server.url}/api/v1/lists/triggers/export?format=ndjson`, { headers, signal: controller.signal });
  const reader = response.body!.getReader();
  await reader.read();
  controller.abort();
  await reader.read().catch(() => undefined);
  // The server keeps answering, and a full export afterwards is complete.
  const page = await fetch(`${server.url}/api/v1/lists/triggers?limit=1`, { headers });
  expect(page.status).toBe(200);
  const again = await fetch(`${server.url}/api/v1/lists/triggers/export?format=csv&trigger_type=retain_at_risk`, { headers });
  expect((await again.text()).trimEnd().split('\r\n')).toHaveLength(2); // header + c3 (c2 has no consent)
});

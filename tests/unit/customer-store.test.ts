import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../api/auth.ts';
import { startApiServer, type RunningApiServer } from '../../api/server.ts';
import { createDecisionWarehouse } from '../support/decision-fixture.ts';

/**
 * The customer store's life over published versions (api/decision/customer-store.ts), on a real
 * server and real DuckDB and LMDB files: a lookup is answered from the store only once the store of
 * the published version is complete, a new publish is never answered from the previous version's
 * store, and the superseded store file is removed.
 */
const SECRET = 'customer-store-test-secret-0123456789';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-customer-store-'));
const warehousePath = path.join(tmp, 'crm.duckdb');
let api: RunningApiServer;
let duckOnly: RunningApiServer;
let analyst: string;

async function lookup(server: RunningApiServer, key: string) {
  const response = await fetch(`${server.url}/api/v1/customers/lookup?key=${key}&recent=5`, {
    headers: { authorization: `Bearer ${analyst}` },
  });
  return { status: response.status, body: (await response.json()) as Record<string, any>, read: response.headers.get('x-crm-read') };
}

/** Asks until the store answers (the first lookup of a version starts its build). */
async function untilStore(key: string, seen: (answer: Awaited<ReturnType<typeof lookup>>) => void) {
  for (let i = 0; i < 200; i++) {
    const answer = await lookup(api, key);
    seen(answer);
    if (answer.read === 'store') return answer;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the customer store was not ready after 10 s');
}

const storeFiles = () =>
  fs.existsSync(`${warehousePath}.serving`) ? fs.readdirSync(`${warehousePath}.serving`).filter((n) => n.endsWith('.mdb')) : [];

/** Publishes as the pipeline does: a new file renamed over the served one, here with c1 renamed. */
async function publishWithName(name: string) {
  const next = path.join(tmp, `next-${Date.now()}.duckdb`);
  await createDecisionWarehouse(next);
  const instance = await DuckDBInstance.create(next);
  const connection = await instance.connect();
  await connection.run(`UPDATE marts.dim_customers SET full_name = '${name}' WHERE customer_key = 'c1'`);
  connection.closeSync();
  instance.closeSync();
  fs.renameSync(next, warehousePath);
}

beforeAll(async () => {
  await createDecisionWarehouse(warehousePath);
  process.env.CRM_API_RATE_LIMIT = '100000';
  const common = { warehousePath, jwtSecret: SECRET, port: 0, dashboardDir: false as const, logger: false, responseCacheTtlMs: 0 };
  api = await startApiServer(common);
  duckOnly = await startApiServer({ ...common, customerStore: false });
  delete process.env.CRM_API_RATE_LIMIT;
  analyst = await signDevToken(SECRET, { sub: 'analyst@example.com', roles: ['analyst'] });
}, 120_000);

afterAll(async () => {
  await api?.close();
  await duckOnly?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('customer store', () => {
  it('answers from the store once built, as DuckDB does; never with another version; the old file is removed', async () => {
    const first = await untilStore('c1', () => undefined);
    const fromDuck = await lookup(duckOnly, 'c1');
    expect(fromDuck.read).toBe('warehouse');
    expect(first.body).toEqual(fromDuck.body);
    expect(first.body.basic.full_name).toBe('Alice Wang');
    expect((await lookup(api, 'nobody')).status).toBe(404);
    expect(storeFiles()).toHaveLength(1);
    const firstFile = storeFiles()[0];

    await publishWithName('Alice Li');
    // Every answer after the publish is the new version's, from DuckDB until the new store is complete.
    const names = new Set<string>();
    const second = await untilStore('c1', (answer) => names.add(answer.body.basic.full_name));
    expect([...names]).toEqual(['Alice Li']);
    expect(second.body).toEqual((await lookup(duckOnly, 'c1')).body);
    expect(storeFiles()).toHaveLength(1);
    expect(storeFiles()[0]).not.toBe(firstFile);

    // The store-off server never reads one.
    expect((await lookup(duckOnly, 'c2')).read).toBe('warehouse');
  }, 60_000);
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractSource } from '../../pipelines/extract/run-extract.ts';
import { fileDropSources, mappedSource } from '../../pipelines/extract/sources.ts';
import type { SourceDefinition } from '../../pipelines/extract/source-contract.ts';
import { DEFAULT_GENERATE_OPTIONS, generateSampleData } from '../../pipelines/sources/sample-data/generate.ts';
import { queryWarehouse } from '../support/warehouse-query.ts';

/**
 * The generated sample shop's orders folder loads through the `landing` preset (a mapped source,
 * validated in SQL) into the same raw rows and quarantine as through the built-in orders source
 * (its bulk path).
 */

let dir: string;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-landing-preset-'));
  await generateSampleData({
    ...DEFAULT_GENERATE_OPTIONS,
    outDir: path.join(dir, 'landing'),
    customers: 150,
    orders: 1500,
    malformedRate: 0.03,
  });
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const TABLES = ['orders', 'order_items', 'order_payments', 'order_refunds', 'order_cancellations'];

async function load(name: string, source: SourceDefinition) {
  const warehousePath = path.join(dir, `${name}.duckdb`);
  const summary = await extractSource(source, { warehousePath, landingDir: path.join(dir, 'landing'), batchId: 'b1' });
  const query = (sql: string) => queryWarehouse(warehousePath, sql);
  const tables: Record<string, unknown[][]> = {};
  for (const table of TABLES) tables[table] = await query(`SELECT * EXCLUDE (_batch_id, _loaded_at) FROM raw.${table} ORDER BY ALL`);
  return {
    counts: summary.tables.map((t) => [t.table, t.read, t.rejected, t.inserted]),
    tables,
    quarantine: await query(`SELECT source, raw_table, location, record_key, reason FROM raw._quarantine ORDER BY ALL`),
  };
}

describe('the landing preset', () => {
  it('loads the generated orders folder into the same raw rows and quarantine as the built-in orders source', async () => {
    const builtIn = await load(
      'built-in',
      fileDropSources().find((s) => s.name === 'orders')!,
    );
    const mapped = await load('mapped', mappedSource('orders', 'preset:landing'));
    expect(builtIn.tables.orders!.length).toBeGreaterThan(1000);
    expect(builtIn.quarantine.length).toBeGreaterThan(10);
    expect(mapped.tables).toEqual(builtIn.tables);
    expect(mapped.quarantine).toEqual(builtIn.quarantine);
    expect(mapped.counts).toEqual(builtIn.counts);
  });
});

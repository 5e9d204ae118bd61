import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { extractSource } from '../../pipelines/extract/run-extract.ts';
import { fileDropSources } from '../../pipelines/extract/sources.ts';
import { queryWarehouse } from '../support/warehouse-query.ts';

/**
 * A mapped source whose DuckDB runs out of memory fails its load: the file is not quarantined as
 * one that "does not fit the mapping", nothing is committed, and the next run (with memory) loads it.
 */

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-mapped-oom-'));
});
afterEach(() => {
  delete process.env.CRM_MAPPED_MEMORY_LIMIT;
  delete process.env.CRM_EXTRACT_THREADS;
  fs.rmSync(dir, { recursive: true, force: true });
});

function profileLine(i: number): string {
  const id = `C${String(i).padStart(7, '0')}`;
  return JSON.stringify({
    customer_id: id,
    full_name: `Customer ${i} with a name long enough to take some room`,
    email: `${id.toLowerCase()}@example.com`,
    phone: `138${String(i).padStart(8, '0')}`,
    city: 'Hangzhou',
    lang: 'zh',
    signup_at: '2024-07-27T10:33:06+08:00',
    preferred_categories: 'shoes|knitwear|outerwear|accessories',
    membership_tier: 'gold',
    points_balance: i % 5000,
    marketing_consent: i % 2 === 0,
    updated_at: '2024-07-27T10:33:06+08:00',
  });
}

describe('a mapped source out of memory', () => {
  it('fails the load instead of quarantining the file, and the next run loads it', async () => {
    const landing = path.join(dir, 'landing');
    fs.mkdirSync(path.join(landing, 'profiles'), { recursive: true });
    const lines = Array.from({ length: 60_000 }, (_, i) => profileLine(i + 1));
    fs.writeFileSync(path.join(landing, 'profiles', 'customers.ndjson'), lines.join('\n') + '\n');
    const warehousePath = path.join(dir, 'wh.duckdb');
    const profiles = () => fileDropSources().find((s) => s.name === 'profiles')!;

    process.env.CRM_EXTRACT_THREADS = '1';
    process.env.CRM_MAPPED_MEMORY_LIMIT = '64MB';
    await expect(extractSource(profiles(), { warehousePath, landingDir: landing, batchId: 'b1' })).rejects.toThrow(
      /Out of Memory|allocate/,
    );
    const after = async (sql: string) => (fs.existsSync(warehousePath) ? await queryWarehouse(warehousePath, sql) : [[0n]]);
    expect(await after(`SELECT count(*) FROM raw._quarantine`).catch(() => [[0n]])).toEqual([[0n]]);

    delete process.env.CRM_MAPPED_MEMORY_LIMIT;
    const summary = await extractSource(profiles(), { warehousePath, landingDir: landing, batchId: 'b2' });
    expect(summary.tables.find((t) => t.table === 'customers')).toMatchObject({ read: 60_000, rejected: 0, inserted: 60_000 });
    expect(await queryWarehouse(warehousePath, `SELECT count(*) FROM raw._quarantine`)).toEqual([[0n]]);
  }, 120_000);
});

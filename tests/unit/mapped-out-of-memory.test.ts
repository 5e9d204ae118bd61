import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { extractSource } from '../../pipelines/extract/run-extract.ts';
import { mappedSource } from '../../pipelines/extract/sources.ts';
import { isEnvironmentError } from '../../pipelines/extract/mapped/mapped-file-source.ts';
import { DuckDBInstance } from '@duckdb/node-api';
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
    // A mapped source's own DuckDB (the sandbox): the built-in profiles source loads in the warehouse's.
    const profiles = () => mappedSource('profiles', 'preset:landing-profiles', { executor: 'sandbox' });
    const landing = path.join(dir, 'landing');
    fs.mkdirSync(path.join(landing, 'profiles'), { recursive: true });
    const lines = Array.from({ length: 60_000 }, (_, i) => profileLine(i + 1));
    fs.writeFileSync(path.join(landing, 'profiles', 'customers.ndjson'), lines.join('\n') + '\n');
    const warehousePath = path.join(dir, 'wh.duckdb');

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

  it("tells DuckDB's own out-of-memory error from a mapping that does not fit the file", async () => {
    const instance = await DuckDBInstance.create(':memory:', { memory_limit: '8MB', threads: '1' });
    const connection = await instance.connect();
    const errorOf = async (sql: string) => {
      try {
        await connection.run(sql);
        return null;
      } catch (error) {
        return error;
      }
    };
    try {
      await connection.run(`CREATE TABLE t AS SELECT range AS id, repeat('x', 40) || range AS v FROM range(200000)`);
      // Out of memory: a mapped source's step fails, the file is not quarantined.
      const oom = await errorOf(
        `CREATE TABLE s AS SELECT v, string_agg(v, ',') OVER (ORDER BY id ROWS BETWEEN 5000 PRECEDING AND CURRENT ROW) AS w FROM t`,
      );
      expect(String(oom)).toMatch(/Out of Memory/);
      expect(isEnvironmentError(oom)).toBe(true);
      // A mapping that does not fit the file: its reason rejects the file.
      for (const sql of [`SELECT missing_column FROM t`, `SELECT CAST(v AS INTEGER) FROM t`, `SELECT FROM WHERE`]) {
        const error = await errorOf(sql);
        expect(error, sql).toBeInstanceOf(Error);
        expect(isEnvironmentError(error), sql).toBe(false);
      }
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
});

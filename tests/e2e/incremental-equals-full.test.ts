import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_GENERATE_OPTIONS, generateSampleData } from '../../pipelines/sources/sample-data/generate.ts';
import { SOURCES } from '../../pipelines/extract/sources.ts';
import { extractSource } from '../../pipelines/extract/run-extract.ts';
import { openWarehouse, sqlString } from '../../pipelines/raw/warehouse-connection.ts';
import { runDbt } from '../../pipelines/transform/dbt-cli.ts';

/**
 * The incremental marts (fct_orders, fct_order_items, fct_opinion_mentions) must give exactly what a
 * full refresh gives on the same data. Build, then change raw data the way later loads do (new
 * orders and posts, an order cancelled after the fact, a new profile version that merges two
 * accounts into one person, which re-keys OLD orders), build incrementally, and compare every marts
 * table with a --full-refresh build of a copy, row by row with EXCEPT in both directions.
 */
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-incremental-'));
afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

const LATER = "TIMESTAMPTZ '2030-01-01 00:00:00+00'";

describe('incremental marts', () => {
  it('equal a full refresh after new, changed and re-keyed rows', async () => {
    const landingDir = path.join(workDir, 'landing');
    const incremental = path.join(workDir, 'incremental', 'wh.duckdb');
    const full = path.join(workDir, 'full', 'wh.duckdb');
    await generateSampleData({ ...DEFAULT_GENERATE_OPTIONS, outDir: landingDir, seed: 5, customers: 150, orders: 1_000, malformedRate: 0 });
    for (const source of SOURCES) await extractSource(source, { warehousePath: incremental, landingDir, batchId: `t:${source.name}` });
    await runDbt({ args: ['build'], warehousePath: incremental });

    const wh = await openWarehouse(incremental);
    const one = async (sql: string) => (await wh.connection.runAndReadAll(sql)).getRowObjectsJS()[0] as Record<string, unknown>;
    // Two single-account persons who have both ordered: the second gets a new profile version with
    // the first one's phone, so they become one person and the second's old orders must be re-keyed.
    const pair = await one(`
      with singles as (
        select customer_id from intermediate.int_identity__customer_keys where account_count = 1
          and customer_id in (select customer_id from raw.orders) order by customer_id limit 2)
      select min(customer_id) as a, max(customer_id) as b from singles`);
    const [a, b] = [String(pair.a), String(pair.b)];
    const cancelled = String((await one(`select min(order_id) as id from marts.fct_orders where is_valid_sale`)).id);
    await wh.connection.run(`
      insert into raw.customer_versions by name
        select * replace ((select phone from raw.customers where customer_id = ${sqlString(a)}) as phone, ${LATER} as updated_at)
        from raw.customers where customer_id = ${sqlString(b)};
      update raw.customers set phone = (select phone from raw.customers where customer_id = ${sqlString(a)}), updated_at = ${LATER}
        where customer_id = ${sqlString(b)};
      update raw.orders set status = 'cancelled', updated_at = ${LATER} where order_id = ${sqlString(cancelled)};
      insert into raw.order_cancellations by name
        select ${sqlString(cancelled)} as order_id, ${LATER} as cancelled_at, 'customer' as cancelled_by, 'changed mind' as reason,
               ${LATER} as updated_at, 'test' as _source_file, 1 as _source_line, 'test' as _batch_id, ${LATER} as _loaded_at;
      insert into raw.orders by name
        select * replace ('N' || order_id as order_id, ${LATER} as updated_at, ${LATER} as _loaded_at)
        from raw.orders where order_id in (select order_id from raw.orders order by order_id limit 20);
      insert into raw.order_items by name
        select * replace ('N' || order_id as order_id, ${LATER} as _loaded_at)
        from raw.order_items where order_id in (select order_id from raw.orders where order_id not like 'N%' order by order_id limit 20);
      insert into raw.opinion_posts by name
        select * replace ('N' || post_id as post_id, ${LATER} as _loaded_at)
        from raw.opinion_posts where post_id in (select post_id from raw.opinion_posts order by post_id limit 10);
    `);
    wh.close();

    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.copyFileSync(incremental, full);
    await runDbt({ args: ['build'], warehousePath: incremental });
    await runDbt({ args: ['build', '--full-refresh'], warehousePath: full });

    const check = await openWarehouse(incremental, { readOnly: true });
    const rows = async (sql: string) => (await check.connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
    await check.connection.run(`attach ${sqlString(full)} as full_refresh (read_only)`);
    const tables = (await rows(`select table_name from information_schema.tables
        where table_catalog = 'wh' and table_schema = 'marts' and table_type = 'BASE TABLE' order by 1`)).map((r) => String(r.table_name));
    expect(tables).toEqual(expect.arrayContaining(['fct_orders', 'fct_order_items', 'fct_opinion_mentions', 'customer_value']));
    const differences: Record<string, { onlyIncremental: number; onlyFull: number; rows: number }> = {};
    for (const table of tables) {
      const [counts] = await rows(`select
          (select count(*) from (select * from wh.marts.${table} except all select * from full_refresh.marts.${table})) as only_incremental,
          (select count(*) from (select * from full_refresh.marts.${table} except all select * from wh.marts.${table})) as only_full,
          (select count(*) from wh.marts.${table}) as n`);
      differences[table] = { onlyIncremental: Number(counts!.only_incremental), onlyFull: Number(counts!.only_full), rows: Number(counts!.n) };
    }
    // The changes really reached the incremental tables.
    const [merged] = await rows(`select count(distinct customer_key) as keys, bool_or(order_id like 'N%') as new_orders,
        bool_or(order_id = ${sqlString(cancelled)} and is_cancelled) as cancelled
        from wh.marts.fct_orders where customer_id in (${sqlString(a)}, ${sqlString(b)}) or order_id like 'N%' or order_id = ${sqlString(cancelled)}`);
    const [mergedKeys] = await rows(`select count(distinct customer_key) as keys from wh.marts.fct_orders where customer_id in (${sqlString(a)}, ${sqlString(b)})`);
    check.close();
    console.log(`[incremental-equals-full] ${JSON.stringify(differences)}`);
    expect(Number(mergedKeys!.keys)).toBe(1);
    expect(merged!.new_orders).toBe(true);
    expect(merged!.cancelled).toBe(true);
    for (const [table, diff] of Object.entries(differences)) {
      expect({ table, onlyIncremental: diff.onlyIncremental, onlyFull: diff.onlyFull }).toEqual({ table, onlyIncremental: 0, onlyFull: 0 });
    }
  }, 600_000);
});

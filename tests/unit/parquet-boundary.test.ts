import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openWarehouse } from '../../pipelines/raw/warehouse-connection.ts';
import { exportSchemaToParquet, importParquetSchemas, manifestIndexes } from '../../pipelines/transform/spark/parquet-boundary.ts';

/** The DuckDB side of the Spark target's Parquet boundary (docs/spark.md), on a real DuckDB file. */
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-parquet-boundary-'));
afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

describe('the Parquet boundary', () => {
  it('exports a schema without the loader bookkeeping, and loads Spark folders back with UTC wall times and indexes', async () => {
    const warehousePath = path.join(workDir, 'wh.duckdb');
    const dir = path.join(workDir, 'boundary');
    {
      const wh = await openWarehouse(warehousePath);
      await wh.connection.run(`create schema raw; create schema marts;
        create table raw.orders as select 'o1' as order_id, timestamptz '2025-03-01 23:30:00+00' as ordered_at, 12.50::decimal(18,2) as amount;
        create table raw._load_batches as select 1 as batch_id;
        create view marts.stale as select 1 as x;`);
      wh.close();
    }
    const exported = await exportSchemaToParquet(warehousePath, 'raw', dir);
    expect(exported).toEqual([{ schema: 'raw', table: 'orders', rows: 1 }]);
    expect(fs.readdirSync(path.join(dir, 'raw'))).toEqual(['orders.parquet']);

    // What Spark's `insert overwrite directory ... using parquet` leaves: a folder of part files whose
    // timestamps are UTC instants (read by DuckDB as TIMESTAMPTZ).
    const sparkOut = path.join(dir, 'export');
    fs.mkdirSync(path.join(sparkOut, 'marts', 'stale'), { recursive: true });
    {
      const wh = await openWarehouse(path.join(workDir, 'scratch.duckdb'));
      await wh.connection.run(
        `copy (select 'k1' as customer_key, timestamptz '2025-03-01 23:30:00+00' as last_order_at, 3 as orders, 1.5::double as score
         union all select 'k2', null, 0, null) to '${path.join(sparkOut, 'marts', 'stale', 'part-00000.parquet')}' (format parquet)`,
      );
      wh.close();
    }
    const manifest = path.join(workDir, 'manifest.json');
    fs.writeFileSync(
      manifest,
      JSON.stringify({
        nodes: {
          'model.p.stale': {
            resource_type: 'model',
            schema: 'marts',
            alias: 'stale',
            config: { indexes: [{ columns: ['customer_key'] }] },
          },
          'model.p.other': { resource_type: 'model', schema: 'marts', alias: 'other', config: {} },
        },
      }),
    );
    const indexes = manifestIndexes(manifest);
    expect(indexes).toEqual([{ schema: 'marts', table: 'stale', columns: ['customer_key'], unique: false }]);
    const loaded = await importParquetSchemas(warehousePath, sparkOut, ['marts', 'snapshots'], indexes);
    expect(loaded).toEqual([{ schema: 'marts', table: 'stale', rows: 2 }]);

    const wh = await openWarehouse(warehousePath, { readOnly: true });
    try {
      const read = async (sql: string) => (await wh.connection.runAndReadAll(sql)).getRowObjectsJS();
      expect(
        await read(`select column_name, data_type from information_schema.columns where table_name = 'stale' order by ordinal_position`),
      ).toEqual([
        { column_name: 'customer_key', data_type: 'VARCHAR' },
        { column_name: 'last_order_at', data_type: 'TIMESTAMP' },
        { column_name: 'orders', data_type: 'INTEGER' },
        { column_name: 'score', data_type: 'DOUBLE' },
      ]);
      expect(await read(`select cast(last_order_at as varchar) as t from marts.stale where customer_key = 'k1'`)).toEqual([
        { t: '2025-03-01 23:30:00' },
      ]);
      expect(await read(`select index_name from duckdb_indexes() where table_name = 'stale'`)).toEqual([
        { index_name: 'stale__customer_key__idx' },
      ]);
      // The view of the same name is gone, replaced by the table.
      expect(await read(`select table_type from information_schema.tables where table_name = 'stale'`)).toEqual([
        { table_type: 'BASE TABLE' },
      ]);
    } finally {
      wh.close();
    }
  });
});

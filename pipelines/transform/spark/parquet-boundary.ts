import fs from 'node:fs';
import path from 'node:path';
import { openWarehouse, quoteIdent, sqlString } from '../../raw/warehouse-connection.ts';

/**
 * The Parquet boundary between the DuckDB warehouse file and the Spark target (docs/spark.md,
 * DECISIONLOG "Spark computes, DuckDB serves"):
 *   * DuckDB -> Spark: each table of a schema (raw, ml) is written with DuckDB's COPY to
 *     <dir>/<schema>/<table>.parquet, which dbt's on-run-start hook registers as a Spark source
 *     (macros/spark_adapter.sql, register_parquet_sources);
 *   * Spark -> DuckDB: each mart or snapshot Spark built is written by dbt's on-run-end hook to the
 *     folder <dir>/<schema>/<table>/ (part files), and loaded here into the run's DuckDB copy,
 *     replacing the table of that name, so the API, Cube and the CLV scorer read it unchanged.
 */

export interface ParquetTable {
  schema: string;
  table: string;
  rows: number;
}

/**
 * Writes every table of `schema` in the warehouse file to <dir>/<schema>/<table>.parquet (the
 * loader's own bookkeeping tables, named with a leading underscore, stay out). Replaces the folder.
 */
export async function exportSchemaToParquet(warehousePath: string, schema: string, dir: string): Promise<ParquetTable[]> {
  const out = path.join(dir, schema);
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const warehouse = await openWarehouse(warehousePath, { readOnly: true });
  try {
    const tables = await warehouse.connection.runAndReadAll(
      `select table_name from information_schema.tables
       where table_catalog = current_database() and table_schema = ${sqlString(schema)} and table_type = 'BASE TABLE'
         and not starts_with(table_name, '_')
       order by table_name`,
    );
    const exported: ParquetTable[] = [];
    for (const [name] of tables.getRows()) {
      const table = String(name);
      const file = path.join(out, `${table}.parquet`);
      const copied = await warehouse.connection.runAndReadAll(
        `copy ${quoteIdent(schema)}.${quoteIdent(table)} to ${sqlString(file)} (format parquet)`,
      );
      exported.push({ schema, table, rows: Number(copied.getRows()[0]?.[0] ?? 0) });
    }
    return exported;
  } finally {
    warehouse.close();
  }
}

/** An `indexes` config of a model (DuckDB indexes; Spark has none), re-created on the served table. */
export interface ModelIndex {
  schema: string;
  table: string;
  columns: string[];
  unique: boolean;
}

/** The `indexes` configs of the models in dbt's manifest.json (empty when it cannot be read). */
export function manifestIndexes(manifestPath: string): ModelIndex[] {
  if (!fs.existsSync(manifestPath)) return [];
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as {
    nodes?: Record<string, { resource_type?: string; schema?: string; alias?: string; config?: { indexes?: unknown } }>;
  };
  return Object.values(manifest.nodes ?? {}).flatMap((node) => {
    if (node.resource_type !== 'model' || !Array.isArray(node.config?.indexes)) return [];
    return (node.config.indexes as Array<{ columns?: string[]; unique?: boolean }>)
      .filter((i) => Array.isArray(i.columns) && i.columns.length > 0)
      .map((i) => ({ schema: node.schema ?? '', table: node.alias ?? '', columns: i.columns!, unique: Boolean(i.unique) }));
  });
}

/**
 * Loads each folder <dir>/<schema>/<table>/ that Spark wrote into the warehouse file as table
 * <schema>.<table> (created or replaced, in one transaction). Spark writes its timestamps as UTC
 * instants (Parquet isAdjustedToUTC), which DuckDB reads as TIMESTAMPTZ; the marts hold UTC wall
 * time (TIMESTAMP), so such columns are cast back with timezone('UTC', ...). Every other type reads
 * as the one DuckDB builds (varchar, integer, bigint, double, decimal(p,s), date, boolean).
 */
export async function importParquetSchemas(
  warehousePath: string,
  dir: string,
  schemas: readonly string[],
  indexes: readonly ModelIndex[] = [],
): Promise<ParquetTable[]> {
  const found: Array<{ schema: string; table: string; folder: string }> = [];
  for (const schema of schemas) {
    const schemaDir = path.join(dir, schema);
    if (!fs.existsSync(schemaDir)) continue;
    for (const entry of fs.readdirSync(schemaDir, { withFileTypes: true })) {
      if (entry.isDirectory()) found.push({ schema, table: entry.name, folder: path.join(schemaDir, entry.name) });
    }
  }
  if (found.length === 0) return [];
  const warehouse = await openWarehouse(warehousePath);
  const imported: ParquetTable[] = [];
  try {
    await warehouse.connection.run('begin transaction');
    for (const { schema, table, folder } of found.sort((a, b) => `${a.schema}.${a.table}`.localeCompare(`${b.schema}.${b.table}`))) {
      const files = sqlString(path.join(folder, '*.parquet'));
      const described = await warehouse.connection.runAndReadAll(`describe select * from read_parquet(${files})`);
      const columns = described
        .getRows()
        .map(([name, type]) =>
          String(type) === 'TIMESTAMP WITH TIME ZONE'
            ? `timezone('UTC', ${quoteIdent(String(name))}) as ${quoteIdent(String(name))}`
            : quoteIdent(String(name)),
        );
      await warehouse.connection.run(`create schema if not exists ${quoteIdent(schema)}`);
      // A view of that name (a DuckDB-built intermediate, say) would block the table: drop either.
      await warehouse.connection.run(`drop view if exists ${quoteIdent(schema)}.${quoteIdent(table)}`);
      await warehouse.connection.run(
        `create or replace table ${quoteIdent(schema)}.${quoteIdent(table)} as select ${columns.join(', ')} from read_parquet(${files})`,
      );
      for (const index of indexes.filter((i) => i.schema === schema && i.table === table)) {
        // The names macros/indexes.sql gives them on DuckDB, so the served file matches a DuckDB build.
        const name = quoteIdent(`${table}__${index.columns.join('__')}__idx`);
        await warehouse.connection.run(
          `create ${index.unique ? 'unique ' : ''}index ${name} on ${quoteIdent(schema)}.${quoteIdent(table)} (${index.columns.map(quoteIdent).join(', ')})`,
        );
      }
      const count = await warehouse.connection.runAndReadAll(`select count(*) from ${quoteIdent(schema)}.${quoteIdent(table)}`);
      imported.push({ schema, table, rows: Number(count.getRows()[0]![0]) });
    }
    await warehouse.connection.run('commit');
  } catch (error) {
    await warehouse.connection.run('rollback').catch(() => undefined);
    throw error;
  } finally {
    warehouse.close();
  }
  return imported;
}

import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

export interface WarehouseHandle {
  connection: DuckDBConnection;
  close(): void;
}

/**
 * Opens the DuckDB warehouse file. Writers hold it only for the length of one step and then close
 * it, because DuckDB allows one writing process per file and dbt (Python) writes next.
 */
export async function openWarehouse(filePath: string, options: { readOnly?: boolean } = {}): Promise<WarehouseHandle> {
  if (!options.readOnly) fs.mkdirSync(path.dirname(filePath), { recursive: true });
  const instance = await DuckDBInstance.create(filePath, {
    access_mode: options.readOnly ? 'READ_ONLY' : 'READ_WRITE',
  });
  const connection = await instance.connect();
  // ICU is statically linked but cannot be configured before the instance exists, so set it here:
  // every TIMESTAMPTZ is read and written as UTC regardless of the machine's zone.
  await connection.run("SET TimeZone = 'UTC'");
  return {
    connection,
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** Double-quotes an identifier for DuckDB SQL. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

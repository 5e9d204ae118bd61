import { openWarehouse, sqlString } from '../../pipelines/raw/warehouse-connection.ts';

/** Rows of one table found in only one of two warehouses (EXCEPT ALL both ways), and its row count. */
export interface TableDifference {
  onlyIncremental: number;
  onlyFull: number;
  rows: number;
}

/**
 * Compare every marts and intermediate table of an incrementally built warehouse with a
 * --full-refresh build of the same data, row by row (duplicates count: EXCEPT ALL).
 */
export async function tableDifferences(incremental: string, full: string): Promise<Record<string, TableDifference>> {
  const check = await openWarehouse(incremental, { readOnly: true });
  try {
    const rows = async (sql: string) => (await check.connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
    await check.connection.run(`attach ${sqlString(full)} as full_refresh (read_only)`);
    const tables = (
      await rows(`select table_schema || '.' || table_name as name from information_schema.tables
        where table_catalog = 'wh' and table_schema in ('marts', 'intermediate') and table_type = 'BASE TABLE' order by 1`)
    ).map((r) => String(r.name));
    const found: Record<string, TableDifference> = {};
    for (const table of tables) {
      const [counts] = await rows(`select
          (select count(*) from (select * from wh.${table} except all select * from full_refresh.${table})) as only_incremental,
          (select count(*) from (select * from full_refresh.${table} except all select * from wh.${table})) as only_full,
          (select count(*) from wh.${table}) as n`);
      found[table] = { onlyIncremental: Number(counts!.only_incremental), onlyFull: Number(counts!.only_full), rows: Number(counts!.n) };
    }
    return found;
  } finally {
    check.close();
  }
}

import { openWarehouse } from '../../pipelines/raw/warehouse-connection.ts';

/** Rows of one SQL statement against a warehouse file, opened and closed around it (tests' raw-table checks). */
export async function queryWarehouse(warehousePath: string, sql: string) {
  const wh = await openWarehouse(warehousePath);
  try {
    return (await wh.connection.runAndReadAll(sql)).getRows();
  } finally {
    wh.close();
  }
}

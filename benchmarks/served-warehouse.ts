import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { runCrm } from './child-process.ts';
import type { BenchDataset } from './dataset.ts';

/** Marts the dashboard's queries read (benchmarks/dashboard-queries.ts). */
const SERVED_MARTS = ['fct_orders', 'fct_order_items', 'customer_value', 'fct_service_tickets', 'fct_opinion_mentions', 'fct_cohort_retention', 'fct_customer_activity_monthly'];

async function missingMarts(warehouse: string): Promise<string[]> {
  const instance = await DuckDBInstance.create(warehouse, { access_mode: 'READ_ONLY' });
  try {
    const connection = await instance.connect();
    const rows = (await connection.runAndReadAll(`SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'`)).getRowObjects();
    connection.closeSync();
    const present = new Set(rows.map((r) => String(r.table_name)));
    return SERVED_MARTS.filter((name) => !present.has(name));
  } finally {
    instance.closeSync();
  }
}

/**
 * The warehouse the API stages serve: the one the dbt stage built (workDir/dbt/crm.duckdb), or a
 * fresh `crm run` of the scale's data set when there is none. A reused warehouse built before a
 * mart the dashboard reads existed gets a `crm transform` first; its pre-aggregations are then
 * rebuilt (`crm refresh`) so they match the current cube/model: rollups built from an older model
 * are never read, and the "pre-aggregated" figures would silently come from the marts.
 */
export async function servedWarehouse(dataset: BenchDataset, workDir: string, log: (line: string) => void): Promise<string> {
  const warehouse = path.join(workDir, 'dbt', 'crm.duckdb');
  const env = { CRM_LOG_LEVEL: 'warn' };
  if (!fs.existsSync(warehouse)) {
    log('no warehouse from the dbt stage: building one (crm run) ...');
    await runCrm(['run', '--landing', dataset.landingDir, '--warehouse', warehouse], env);
    return warehouse; // the run built its pre-aggregations
  }
  const missing = await missingMarts(warehouse);
  if (missing.length) {
    log(`the dbt stage warehouse has no ${missing.join(', ')}: crm transform ...`);
    await runCrm(['transform', '--warehouse', warehouse], env);
  }
  log('rebuilding the pre-aggregations of the dbt stage warehouse for the current model (crm refresh) ...');
  await runCrm(['refresh', '--warehouse', warehouse], env);
  return warehouse;
}

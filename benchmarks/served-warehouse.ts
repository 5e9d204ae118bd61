import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { DEFAULT_PRE_AGGREGATION_TIMEZONES, MANIFEST_TABLE, rollupStructureHash, rollupsOf } from '../semantic/rollup-descriptions.ts';
import { compileSemanticModel } from '../semantic/semantic-model.ts';
import { warehouseLayout } from '../pipelines/publish/layout.ts';
import { cubeModelDir } from '../shared/paths.ts';
import { runCrm } from './child-process.ts';
import type { BenchDataset } from './dataset.ts';

type CompiledModel = Awaited<ReturnType<typeof compileSemanticModel>>;

/**
 * Marts the API stages read: the sql_table of every cube of cube/model (the dashboard's queries,
 * the KPI scorecard and the lookup read them through the views), so the list cannot fall behind
 * the model (a hand-written one lacked fct_opinion_daily, fct_kpi_periods and the service marts).
 */
export function servedMarts(model: CompiledModel): string[] {
  const evaluator = model.compilers.cubeEvaluator as unknown as {
    cubeNames(): string[];
    cubeFromPath(name: string): { isView?: boolean; sqlTable?: () => string };
  };
  const marts = new Set<string>();
  for (const name of evaluator.cubeNames()) {
    const cube = evaluator.cubeFromPath(name);
    const table = !cube.isView && typeof cube.sqlTable === 'function' ? cube.sqlTable().trim() : '';
    if (table.startsWith('marts.')) marts.add(table.slice('marts.'.length));
  }
  return [...marts].sort();
}

/** The rows of one statement on a DuckDB file opened read-only for it. */
async function readOnce(file: string, sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  try {
    const connection = await instance.connect();
    const rows = (await connection.runAndReadAll(sql)).getRowObjects();
    connection.closeSync();
    return rows;
  } finally {
    instance.closeSync();
  }
}

async function missingMarts(warehouse: string, model: CompiledModel): Promise<string[]> {
  const rows = await readOnce(warehouse, `SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'`);
  const present = new Set(rows.map((r) => String(r.table_name)));
  return servedMarts(model).filter((name) => !present.has(name));
}

/**
 * Whether the warehouse's rollups are those of its marts and of the current cube/model: the last
 * published run built them (its preaggregations step succeeded: `crm run` and `crm refresh` have
 * one, `crm transform` alone does not), and the manifest holds every rollup and zone of the model
 * with the structure hash the model gives it now. Then a refresh would rebuild the same tables.
 */
async function rollupsCurrent(warehouse: string, model: CompiledModel): Promise<boolean> {
  const { ledger } = warehouseLayout(warehouse);
  if (!fs.existsSync(ledger)) return false;
  const last = await readOnce(
    ledger,
    `
    SELECT (SELECT count(*) FROM steps s WHERE s.run_id = r.run_id AND s.kind = 'preaggregations' AND s.status = 'succeeded') AS built
    FROM runs r WHERE r.published ORDER BY r.finished_at DESC LIMIT 1`,
  );
  if (Number(last[0]?.built ?? 0) === 0) return false;
  const manifest = await readOnce(warehouse, `SELECT DISTINCT pre_aggregation_id, timezone, structure_hash FROM ${MANIFEST_TABLE}`).catch(
    () => [],
  );
  const built = new Set(manifest.map((m) => `${String(m.pre_aggregation_id)}@${String(m.timezone)}#${String(m.structure_hash)}`));
  return rollupsOf(model).every((rollup) =>
    DEFAULT_PRE_AGGREGATION_TIMEZONES.every((zone) => built.has(`${rollup.id}@${zone}#${rollupStructureHash(model, rollup.id, zone)}`)),
  );
}

/**
 * The warehouse the API stages serve: the one the dbt stage built (workDir/dbt/crm.duckdb), or a
 * fresh `crm run` of the scale's data set when there is none. A reused warehouse built before a
 * mart the dashboard reads existed gets a `crm transform` first; its pre-aggregations are then
 * rebuilt (`crm refresh`) so they match the current cube/model: rollups built from an older model
 * are never read, and the "pre-aggregated" figures would silently come from the marts. Rollups
 * already current (the last published run built them from this model) are kept.
 */
export async function servedWarehouse(dataset: BenchDataset, workDir: string, log: (line: string) => void): Promise<string> {
  const warehouse = path.join(workDir, 'dbt', 'crm.duckdb');
  const env = { CRM_LOG_LEVEL: 'warn' };
  if (!fs.existsSync(warehouse)) {
    log('no warehouse from the dbt stage: building one (crm run) ...');
    await runCrm(['run', '--landing', dataset.landingDir, '--warehouse', warehouse], env);
    return warehouse; // the run built its pre-aggregations
  }
  const model = await compileSemanticModel(cubeModelDir);
  const missing = await missingMarts(warehouse, model);
  if (missing.length) {
    log(`the dbt stage warehouse has no ${missing.join(', ')}: crm transform ...`);
    await runCrm(['transform', '--warehouse', warehouse], env);
  }
  if (await rollupsCurrent(warehouse, model)) {
    log('the pre-aggregations of the dbt stage warehouse match its marts and the current model: no refresh');
    return warehouse;
  }
  log('rebuilding the pre-aggregations of the dbt stage warehouse for the current model (crm refresh) ...');
  await runCrm(['refresh', '--warehouse', warehouse], env);
  return warehouse;
}

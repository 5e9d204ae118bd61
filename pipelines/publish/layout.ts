import path from 'node:path';

/**
 * Where a warehouse's versions live, all derived from the published file's path P
 * (e.g. warehouse/crm.duckdb). See docs/contracts/publish.md.
 *
 * - P                          the published version: the only file the API and `crm status` read
 * - <dir>/<stem>.builds/<run>/<name>  a run's private copy while it builds (never read by the API)
 * - <dir>/<stem>.versions/<run>.duckdb  previous published versions kept for rollback (retention)
 * - <dir>/<stem>.ledger.duckdb the run ledger (every run and step, including failed ones)
 * - <dir>/<stem>.lock          the run lock: JSON with the holder's pid and run id
 */
export interface WarehouseLayout {
  published: string;
  buildsDir: string;
  versionsDir: string;
  ledger: string;
  lock: string;
}

export function warehouseLayout(publishedPath: string): WarehouseLayout {
  const published = path.resolve(publishedPath);
  const dir = path.dirname(published);
  const stem = path.basename(published, path.extname(published));
  return {
    published,
    buildsDir: path.join(dir, `${stem}.builds`),
    versionsDir: path.join(dir, `${stem}.versions`),
    ledger: path.join(dir, `${stem}.ledger.duckdb`),
    lock: path.join(dir, `${stem}.lock`),
  };
}

/**
 * A run's build: <stem>.builds/<run>/<same file name as the published one>. DuckDB names a file's
 * catalog after its file name and dbt-duckdb writes that name into every view it creates, so the
 * build must carry the published name: views built in it keep working once it is renamed into
 * place, and a later partial build (crm transform --select) can still read them.
 */
export function buildPath(layout: WarehouseLayout, runId: string): string {
  return path.join(layout.buildsDir, runId, path.basename(layout.published));
}

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { envValue } from './env.ts';

/** Repository root: every default path is resolved from here, never from the caller's cwd. */
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Environment variable naming the DuckDB warehouse file (shared with profiles.yml). */
export const WAREHOUSE_ENV = 'CRM_WAREHOUSE_PATH';

/** The DuckDB warehouse file: $CRM_WAREHOUSE_PATH, else warehouse/crm.duckdb under the project. */
export function resolveWarehousePath(env: NodeJS.ProcessEnv = process.env): string {
  const configured = envValue(WAREHOUSE_ENV, env);
  return path.resolve(projectRoot, configured && configured.trim() !== '' ? configured : 'warehouse/crm.duckdb');
}

/** Where the sample-data generator writes and the extractors read by default. */
export function resolveLandingDir(env: NodeJS.ProcessEnv = process.env): string {
  const configured = envValue('CRM_LANDING_DIR', env);
  return path.resolve(projectRoot, configured && configured.trim() !== '' ? configured : 'data/landing');
}

export const cubeModelDir = path.join(projectRoot, 'cube', 'model');

/** The dashboard's production build (dashboard/build.ts writes it, the API serves it). */
export const dashboardDistDir = path.join(projectRoot, 'dashboard', 'dist');

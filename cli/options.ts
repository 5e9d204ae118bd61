import { InvalidArgumentError, Option } from 'commander';
import { resolveConfigPath } from '../shared/config.ts';
import { resolveLandingDir, resolveWarehousePath } from '../shared/paths.ts';

/** Options several commands share, defined once (names, defaults and help text stay alike). */

/** --warehouse: the DuckDB warehouse file; `what` says what the command does with it. */
export const warehouseOption = (what = 'published DuckDB warehouse file') =>
  new Option('--warehouse <path>', what).default(resolveWarehousePath(), '$CRM_WAREHOUSE_PATH or warehouse/crm.duckdb');
export const landingOption = () =>
  new Option('--landing <dir>', 'folder the extractors read').default(resolveLandingDir(), '$CRM_LANDING_DIR or data/landing');
export const jsonOption = () => new Option('--json', 'print the result as one JSON document on stdout');
export const configOption = () =>
  new Option('--config <file>', 'project config (shop, sources, schedules, freshness, alerts, publish, retries)').default(
    resolveConfigPath(),
    '$CRM_CONFIG, else crm.config.yml or crm.config.json',
  );
export const waitOption = () =>
  new Option('--wait <seconds>', 'wait this long for a running run to finish instead of exiting 4').argParser(seconds).default(0);

function seconds(raw: string): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new InvalidArgumentError('must be a number of seconds >= 0.');
  return value;
}

import fs from 'node:fs';
import { openWarehouse } from '../raw/warehouse-connection.ts';
import type { CrmConfig } from '../../shared/config.ts';
import type { RunLedger, RunRecord } from './ledger.ts';
import { warehouseLayout } from '../publish/layout.ts';

/** A run the ledger says is running but that holds no lock died (kill -9, crash); show it so before the next run records it. */
function showDeadRuns(runs: RunRecord[], publishedPath: string): RunRecord[] {
  let holder: string | null = null;
  try {
    holder = (JSON.parse(fs.readFileSync(warehouseLayout(publishedPath).lock, 'utf8')) as { runId?: string }).runId ?? null;
  } catch {
    holder = null;
  }
  return runs.map((r) =>
    r.status === 'running' && r.runId !== holder
      ? {
          ...r,
          status: 'interrupted',
          error: r.error ?? 'its process died before finishing (no lock held); the next run records it as interrupted',
        }
      : r,
  );
}

export interface FreshnessEntry {
  name: string;
  /** When it was last loaded (source) or built (mart) by a published run; null when never. */
  lastAt: string | null;
  ageHours: number | null;
  maxAgeHours: number;
  stale: boolean;
}

export interface WarehouseStatus {
  warehouse: string;
  published: boolean;
  lastRuns: RunRecord[];
  sources: FreshnessEntry[];
  marts: FreshnessEntry[];
  /** True when a source or mart is stale or the newest run failed. */
  unhealthy: boolean;
  problems: string[];
}

function entry(name: string, lastAt: string | undefined, maxAgeHours: number, now: number): FreshnessEntry {
  const ageHours = lastAt ? (now - Date.parse(lastAt)) / 3_600_000 : null;
  return {
    name,
    lastAt: lastAt ?? null,
    ageHours: ageHours === null ? null : Math.round(ageHours * 100) / 100,
    maxAgeHours,
    stale: ageHours === null || ageHours > maxAgeHours,
  };
}

/** Marts of the published warehouse: tables in a schema whose name ends in "marts". */
async function publishedMarts(publishedPath: string): Promise<string[]> {
  if (!fs.existsSync(publishedPath)) return [];
  const warehouse = await openWarehouse(publishedPath, { readOnly: true });
  try {
    return (
      await warehouse.connection.runAndReadAll(
        `SELECT DISTINCT table_name FROM information_schema.tables WHERE table_schema LIKE '%marts' ORDER BY 1`,
      )
    )
      .getRows()
      .map((r) => String(r[0]));
  } finally {
    warehouse.close();
  }
}

/**
 * Freshness of each source (last successful extract of a published run) and each mart (last
 * successful dbt build of it in a published run) against crm.config.json's limits.
 */
export async function warehouseStatus(options: {
  publishedPath: string;
  ledger: RunLedger;
  config: CrmConfig;
  sourceNames: string[];
  limit?: number;
  now?: number;
}): Promise<WarehouseStatus> {
  const now = options.now ?? Date.now();
  const freshness = options.config.freshness;
  const [ledgerRuns, loads, builds, marts] = await Promise.all([
    options.ledger.recentRuns(options.limit ?? 10),
    options.ledger.lastSourceLoads(),
    options.ledger.lastModelBuilds(),
    publishedMarts(options.publishedPath),
  ]);
  const lastRuns = showDeadRuns(ledgerRuns, options.publishedPath);
  const names = [...new Set([...options.sourceNames, ...Object.keys(freshness.sources)])];
  const sources = names.map((name) => entry(name, loads.get(name), freshness.sources[name] ?? freshness.defaultMaxAgeHours, now));
  const martNames = [...new Set([...marts, ...Object.keys(freshness.marts)])];
  const martEntries = martNames.map((name) => entry(name, builds.get(name), freshness.marts[name] ?? freshness.defaultMaxAgeHours, now));
  const problems = [
    ...sources
      .filter((s) => s.stale)
      .map(
        (s) =>
          `source ${s.name} is stale: ${s.lastAt ? `last loaded ${s.ageHours} h ago` : 'never loaded by a published run'} (limit ${s.maxAgeHours} h)`,
      ),
    ...martEntries
      .filter((m) => m.stale)
      .map(
        (m) =>
          `mart ${m.name} is stale: ${m.lastAt ? `last built ${m.ageHours} h ago` : 'never built by a published run'} (limit ${m.maxAgeHours} h)`,
      ),
  ];
  const newest = lastRuns[0];
  if (newest && (newest.status === 'failed' || newest.status === 'interrupted'))
    problems.push(`the last run ${newest.runId} ${newest.status}: ${newest.error ?? ''}`.trim());
  return {
    warehouse: options.publishedPath,
    published: fs.existsSync(options.publishedPath),
    lastRuns,
    sources,
    marts: martEntries,
    unhealthy: problems.length > 0,
    problems,
  };
}

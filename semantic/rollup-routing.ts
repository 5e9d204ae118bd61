import type { NormalizedQuery } from './query-types.ts';
import { MANIFEST_TABLE, type MatchedPreAggregation } from './rollup-descriptions.ts';
import type { BuildSqlOptions, SemanticModel, SemanticSql } from './semantic-model.ts';
import { buildSecuredSql } from './secured-sql.ts';

/**
 * The request side of rollups: given the SQL Cube wrote for a query and the rollup its matching
 * chose, read the built partition tables of the query's time zone (as Cube's orchestrator does),
 * or the marts when they are missing or were built from another model version.
 */

export interface ManifestRow {
  partition_table: string;
  range_start: string | null;
  range_end: string | null;
  structure_hash: string;
}

/** What the warehouse holds for one rollup and zone; an empty list when nothing (or no manifest) is there. */
export type ManifestLookup = (preAggregationId: string, timezone: string) => Promise<ManifestRow[]>;

/** How a query was answered from pre-aggregations (Cube's usedPreAggregations, keyed by logical table). */
export interface UsedPreAggregation {
  preAggregationId: string;
  targetTableName: string;
  partitions: string[];
}

export interface PreAggregationPlan {
  /** SQL with the rollup's logical name replaced by its partition tables; undefined: answer from the marts. */
  sql?: string;
  usedPreAggregations: Record<string, UsedPreAggregation>;
  /** Why a rollup Cube matched was not used (missing tables, model changed since the build). */
  skipped?: string;
}

const overlaps = (row: ManifestRow, range?: [string, string]) =>
  !range || row.range_start === null || row.range_end === null || (row.range_start <= range[1] && row.range_end >= range[0]);

/**
 * The orchestrator's part: given the SQL Cube wrote for a query and the pre-aggregations it matched,
 * swap each logical table name for the partition tables of the query's time zone that overlap the
 * query's date range. Any missing or stale table: no plan (the caller answers from the marts).
 */
export async function planPreAggregations(
  sql: string,
  descriptions: MatchedPreAggregation[],
  lookup: ManifestLookup,
): Promise<PreAggregationPlan> {
  let rewritten = sql;
  const used: Record<string, UsedPreAggregation> = {};
  for (const description of descriptions) {
    if (!rewritten.includes(description.tableName)) continue; // described but not read (e.g. a sub-query's)
    const rows = await lookup(description.preAggregationId, description.timezone);
    if (rows.length === 0)
      return { usedPreAggregations: {}, skipped: `${description.preAggregationId} is not built for time zone ${description.timezone}` };
    if (rows.some((row) => row.structure_hash !== description.structureHash)) {
      return {
        usedPreAggregations: {},
        skipped: `${description.preAggregationId} was built from a different model version (rebuild with \`crm refresh\`)`,
      };
    }
    const range = description.matchedTimeDimensionDateRange?.map((v) => v.slice(0, 23)) as [string, string] | undefined;
    const partitions = rows.filter((row) => overlaps(row, range)).map((row) => row.partition_table);
    const target =
      partitions.length === 1
        ? partitions[0]!
        : partitions.length > 1
          ? `(${partitions.map((t) => `SELECT * FROM ${t}`).join(' UNION ALL ')})`
          : `(SELECT * FROM ${rows[0]!.partition_table} WHERE false)`;
    rewritten = rewritten.split(description.tableName).join(target);
    used[description.tableName] = { preAggregationId: description.preAggregationId, targetTableName: target, partitions };
  }
  return { sql: rewritten, usedPreAggregations: used };
}

/** A ManifestLookup over any `query(sql, params)` (the API's WarehouseReader); no manifest = nothing built. */
export function manifestLookup(run: (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>): ManifestLookup {
  return async (preAggregationId, timezone) => {
    try {
      const rows = await run(
        `SELECT partition_table, range_start, range_end, structure_hash FROM ${MANIFEST_TABLE} WHERE pre_aggregation_id = ? AND timezone = ? ORDER BY partition_table`,
        [preAggregationId, timezone],
      );
      return rows as unknown as ManifestRow[];
    } catch {
      return []; // a warehouse built before pre-aggregations existed has no manifest
    }
  };
}

/**
 * A ManifestLookup that remembers what each rollup and zone has, per data version: the manifest
 * changes only when a new warehouse version is published (a new file identity), and reading it was
 * a warehouse round trip per query. Only found tables are remembered (an empty answer may be a
 * warehouse without rollups or one that could not be read; it is asked again next time).
 */
export function versionedManifestLookup(lookup: ManifestLookup, dataVersion: () => string | undefined): ManifestLookup {
  let version: string | undefined;
  let known = new Map<string, ManifestRow[]>();
  return async (preAggregationId, timezone) => {
    const current = dataVersion();
    if (current !== version) {
      version = current;
      known = new Map();
    }
    const key = `${preAggregationId}\u0000${timezone}`;
    const found = known.get(key);
    if (found) return found;
    const entries = known;
    const rows = await lookup(preAggregationId, timezone);
    if (rows.length > 0 && current !== undefined) entries.set(key, rows);
    return rows;
  };
}

export interface ResolvedSql extends SemanticSql {
  /** Rollup tables the SQL reads (Cube's usedPreAggregations); empty when it reads the marts. */
  usedPreAggregations: Record<string, UsedPreAggregation>;
  /** Why a rollup Cube matched was not used, if it was not. */
  preAggregationSkipped?: string;
}

/**
 * buildSql plus the orchestrator's step: the SQL reads the built rollup partitions when Cube's
 * matching picked a rollup and its tables for the query's zone are in the warehouse, else the marts.
 */
export async function resolveSql(
  model: SemanticModel,
  query: NormalizedQuery,
  options: BuildSqlOptions,
  lookup: ManifestLookup,
): Promise<ResolvedSql> {
  const built = buildSecuredSql(model, query, options);
  if (built.preAggregations.length === 0) return { ...built, usedPreAggregations: {} };
  const plan = await planPreAggregations(built.sql, built.preAggregations, lookup);
  if (plan.sql !== undefined) return { ...built, sql: plan.sql, usedPreAggregations: plan.usedPreAggregations };
  return {
    ...buildSecuredSql(model, query, { ...options, disablePreAggregations: true }),
    usedPreAggregations: {},
    preAggregationSkipped: plan.skipped,
  };
}

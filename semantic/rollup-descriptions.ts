import crypto from 'node:crypto';
import type { Compiler } from '@cubejs-backend/schema-compiler';
import { DuckDBDialectQuery } from './duckdb-dialect.ts';
import { cubeConfig } from './cube-config.ts';

/**
 * What identifies a rollup table, shared by building (pre-aggregations.ts, pipeline side) and
 * routing (rollup-routing.ts, request side): the schema, Cube's description of each rollup and the
 * hash of its load SQL. Depends only on Cube's compilers, so the model compiler can use it too.
 */

/** The compiled model's Cube compilers (SemanticModel has them). */
export interface CubeCompilers {
  compilers: Compiler;
}

export const PRE_AGGREGATIONS_SCHEMA = cubeConfig.preAggregationsSchema;
export const MANIFEST_TABLE = `${PRE_AGGREGATIONS_SCHEMA}._manifest`;
/** A preAggregationId no rollup has: Cube's rollup matching then picks none (the refresh worker's filter). */
export const NO_PRE_AGGREGATION = '__none__';
/** The time zones rollups are built for (a rollup's day buckets depend on the zone): cube/cube.js's. */
export const DEFAULT_PRE_AGGREGATION_TIMEZONES = cubeConfig.scheduledRefreshTimeZones;

/** The part of Cube's pre-aggregation description the build uses. */
export interface PreAggregationDescription {
  preAggregationId: string;
  tableName: string;
  timezone: string;
  loadSql: [string, unknown[]];
  partitionGranularity?: string;
  preAggregationStartEndQueries?: [[string, unknown[]], [string, unknown[]]];
  matchedTimeDimensionDateRange?: [string, string];
}

/**
 * The rollup Cube's matching chose for a query, as the query path needs it: which logical table
 * the SQL reads, for which zone and date range, and the structure hash of what the build wrote.
 * (Cube's full description also renders the load SQL, about 7 ms a query; the hash of that SQL
 * depends only on the rollup and the zone, so it is computed once per compiled model.)
 */
export interface MatchedPreAggregation {
  preAggregationId: string;
  tableName: string;
  timezone: string;
  matchedTimeDimensionDateRange?: [string, string];
  structureHash: string;
}

/** Hash of what makes a rollup table's content: its load SQL (partition bounds are parameters) and zone. */
export function structureHash(description: Pick<PreAggregationDescription, 'loadSql' | 'timezone'>): string {
  return crypto.createHash('sha256').update(`${description.timezone}\n${description.loadSql[0]}`).digest('hex').slice(0, 16);
}

const structureHashes = new WeakMap<CubeCompilers, Map<string, string>>();

/** structureHash of a rollup's description in a zone, computed once per compiled model. */
export function rollupStructureHash(model: CubeCompilers, preAggregationId: string, timezone: string): string {
  let hashes = structureHashes.get(model);
  if (!hashes) structureHashes.set(model, (hashes = new Map()));
  const key = `${preAggregationId}@${timezone}`;
  let hash = hashes.get(key);
  if (hash === undefined) {
    const rollup = rollupsOf(model).find((r) => r.id === preAggregationId);
    if (!rollup) throw new Error(`no rollup ${preAggregationId} in the model`);
    hash = structureHash(describeRollup(model, rollup, timezone));
    hashes.set(key, hash);
  }
  return hash;
}

interface RollupInfo {
  id: string;
  preAggregation: { type: string };
  references: { measures: string[]; dimensions: string[]; timeDimensions: { dimension: string; granularity?: string }[] };
}

/** Every rollup of the model (Cube's CubeEvaluator.preAggregations()). */
export function rollupsOf(model: CubeCompilers): RollupInfo[] {
  const evaluator = model.compilers.cubeEvaluator as unknown as { preAggregations(): RollupInfo[] };
  return evaluator.preAggregations().filter((info) => info.preAggregation.type === 'rollup');
}

/** Cube's description of one rollup as its refresh worker asks for it: a query of its own members. */
export function describeRollup(model: CubeCompilers, rollup: RollupInfo, timezone: string): PreAggregationDescription {
  const query = new DuckDBDialectQuery(model.compilers, {
    measures: rollup.references.measures,
    dimensions: rollup.references.dimensions,
    timeDimensions: rollup.references.timeDimensions.map((td) => ({ dimension: td.dimension, granularity: td.granularity })),
    timezone,
    preAggregationId: rollup.id,
    preAggregationsSchema: PRE_AGGREGATIONS_SCHEMA,
    useNativeSqlPlanner: false,
  });
  const descriptions = model.compilers.compiler.withQuery(query, () =>
    query.preAggregations.preAggregationsDescription(),
  ) as PreAggregationDescription[];
  const description = descriptions.find((d) => d.preAggregationId === rollup.id);
  if (!description) throw new Error(`Cube's compiler did not match rollup ${rollup.id} to a query of its own members`);
  return description;
}

import crypto from 'node:crypto';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { DuckDBQuery } from '@cubejs-backend/duckdb-driver/dist/src/DuckDBQuery.js';
import { convertDuckDBParams } from '@cubejs-backend/duckdb-driver/dist/src/Transform.js';
import type { Logger } from 'pino';
import { cubeModelDir as defaultCubeModelDir } from '../../pipelines/shared/paths.ts';
import { cubeConfig } from './cube-config.ts';
import type { NormalizedQuery } from './query-types.ts';
import { narrowWideNumberColumns } from './narrow-columns.ts';
import { compileSemanticModel, type BuildSqlOptions, type SemanticModel, type SemanticSql } from './semantic-model.ts';

/**
 * Cube's rollup pre-aggregations, built and used without Cube Store or Cube's query orchestrator.
 *
 * Build (after every pipeline run, in the run's copy of the warehouse): for each rollup in
 * cube/model, Cube's compiler describes it (PreAggregations.preAggregationsDescription(): table
 * name, load SQL, the min/max queries that bound its partitions); this module runs exactly that
 * SQL in DuckDB, one table per partition and time zone, as Cube's refresh worker would, and records
 * each table in pre_aggregations._manifest with a hash of its load SQL.
 *
 * Use (per query): Cube's compiler decides whether a rollup answers the query (its rollup matching,
 * JS planner) and writes SQL against the rollup's logical table name; like Cube's orchestrator this
 * module then replaces that name with the partition tables that cover the query's date range.
 * When the tables for the query's time zone are missing or were built from different SQL (the model
 * changed since), the query is answered from the marts instead, never from a stale table.
 */

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

const structureHashes = new WeakMap<SemanticModel, Map<string, string>>();

/** structureHash of a rollup's description in a zone, computed once per compiled model. */
export function rollupStructureHash(model: SemanticModel, preAggregationId: string, timezone: string): string {
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
export function rollupsOf(model: SemanticModel): RollupInfo[] {
  const evaluator = model.compilers.cubeEvaluator as unknown as { preAggregations(): RollupInfo[] };
  return evaluator.preAggregations().filter((info) => info.preAggregation.type === 'rollup');
}

/** Cube's description of one rollup as its refresh worker asks for it: a query of its own members. */
export function describeRollup(model: SemanticModel, rollup: RollupInfo, timezone: string): PreAggregationDescription {
  const query = new DuckDBQuery(model.compilers, {
    measures: rollup.references.measures,
    dimensions: rollup.references.dimensions,
    timeDimensions: rollup.references.timeDimensions.map((td) => ({ dimension: td.dimension, granularity: td.granularity })),
    timezone,
    preAggregationId: rollup.id,
    preAggregationsSchema: PRE_AGGREGATIONS_SCHEMA,
    useNativeSqlPlanner: false,
  });
  const descriptions = model.compilers.compiler.withQuery(query, () => query.preAggregations.preAggregationsDescription()) as PreAggregationDescription[];
  const description = descriptions.find((d) => d.preAggregationId === rollup.id);
  if (!description) throw new Error(`Cube's compiler did not match rollup ${rollup.id} to a query of its own members`);
  return description;
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
const slug = (value: string) => value.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');

/** Local (zone-less) partition bounds covering [min, max], as Cube's partition range loader makes them. */
export function partitionRanges(min: string, max: string, granularity: string): [string, string][] {
  const toDate = (s: string) => new Date(`${s.slice(0, 19).replace(' ', 'T')}Z`);
  const start = toDate(min);
  const end = toDate(max);
  const floor = (d: Date): Date => {
    const y = d.getUTCFullYear();
    const m = d.getUTCMonth();
    switch (granularity) {
      case 'year': return new Date(Date.UTC(y, 0, 1));
      case 'quarter': return new Date(Date.UTC(y, m - (m % 3), 1));
      case 'month': return new Date(Date.UTC(y, m, 1));
      case 'week': {
        const day = new Date(Date.UTC(y, m, d.getUTCDate()));
        day.setUTCDate(day.getUTCDate() - ((day.getUTCDay() + 6) % 7)); // ISO weeks start on Monday
        return day;
      }
      case 'day': return new Date(Date.UTC(y, m, d.getUTCDate()));
      case 'hour': return new Date(Date.UTC(y, m, d.getUTCDate(), d.getUTCHours()));
      default: throw new Error(`unsupported partition granularity "${granularity}"`);
    }
  };
  const next = (d: Date): Date => {
    const n = new Date(d);
    switch (granularity) {
      case 'year': n.setUTCFullYear(n.getUTCFullYear() + 1); break;
      case 'quarter': n.setUTCMonth(n.getUTCMonth() + 3); break;
      case 'month': n.setUTCMonth(n.getUTCMonth() + 1); break;
      case 'week': n.setUTCDate(n.getUTCDate() + 7); break;
      case 'day': n.setUTCDate(n.getUTCDate() + 1); break;
      case 'hour': n.setUTCHours(n.getUTCHours() + 1); break;
    }
    return n;
  };
  const fmt = (d: Date) => d.toISOString().slice(0, 23);
  const ranges: [string, string][] = [];
  for (let from = floor(start); from <= end; from = next(from)) {
    ranges.push([fmt(from), fmt(new Date(next(from).getTime() - 1))]);
    if (ranges.length > 10_000) throw new Error(`more than 10,000 ${granularity} partitions between ${min} and ${max}`);
  }
  return ranges;
}

async function scalar(connection: DuckDBConnection, sql: string, params: unknown[] = []): Promise<unknown> {
  const reader = await connection.runAndReadAll(sql, convertDuckDBParams(params) as never);
  return reader.getRows()[0]?.[0];
}

/** A local time in `timezone` as the UTC instant Cube's load SQL compares with (its inDbTimeZone). */
async function utcInstant(connection: DuckDBConnection, timezone: string, local: string): Promise<string> {
  const value = await scalar(connection, `SELECT strftime(timezone(?, ?::TIMESTAMP) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ')`, [timezone, local]);
  return String(value);
}

export interface BuiltTable {
  name: string;
  preAggregationId: string;
  timezone: string;
  partitions: number;
  rows: number;
  seconds: number;
}

export interface BuildPreAggregationsOptions {
  /** The run's writable warehouse copy (nobody else has it open). */
  warehousePath: string;
  log?: Pick<Logger, 'info' | 'debug'>;
  cubeModelDir?: string;
  timezones?: string[];
}

/**
 * Builds every rollup of cube/model into `pre_aggregations.*` of the warehouse (replacing what was
 * there), for each time zone, one table per partition; returns each logical table with its rows.
 * The pipeline's preAggregationsStep calls this after dbt build (a throw fails the run).
 */
export async function buildPreAggregations(options: BuildPreAggregationsOptions): Promise<{ tables: BuiltTable[] }> {
  const model = await compileSemanticModel(path.resolve(options.cubeModelDir ?? defaultCubeModelDir));
  const timezones = options.timezones ?? DEFAULT_PRE_AGGREGATION_TIMEZONES;
  const instance = await DuckDBInstance.create(options.warehousePath);
  const connection = await instance.connect();
  const tables: BuiltTable[] = [];
  try {
    await connection.run("SET TimeZone = 'UTC'");
    await connection.run('BEGIN TRANSACTION');
    await connection.run(`DROP SCHEMA IF EXISTS ${PRE_AGGREGATIONS_SCHEMA} CASCADE`);
    await connection.run(`CREATE SCHEMA ${PRE_AGGREGATIONS_SCHEMA}`);
    await connection.run(`CREATE TABLE ${MANIFEST_TABLE} (
      pre_aggregation_id VARCHAR NOT NULL, timezone VARCHAR NOT NULL, table_name VARCHAR NOT NULL,
      partition_table VARCHAR NOT NULL, range_start VARCHAR, range_end VARCHAR, structure_hash VARCHAR NOT NULL,
      row_count BIGINT NOT NULL, built_at TIMESTAMP NOT NULL)`);
    for (const rollup of rollupsOf(model)) {
      for (const timezone of timezones) {
        const started = performance.now();
        const description = describeRollup(model, rollup, timezone);
        const [loadSql, loadParams] = description.loadSql;
        const hash = structureHash(description);
        const base = `${description.tableName.split('.').pop()}__${slug(timezone)}`;
        let ranges: ([string, string] | null)[] = [null];
        if (description.partitionGranularity && description.preAggregationStartEndQueries) {
          const [[minSql, minParams], [maxSql, maxParams]] = description.preAggregationStartEndQueries;
          const min = await scalar(connection, `SELECT strftime((${minSql}), '%Y-%m-%dT%H:%M:%S')`, minParams);
          const max = await scalar(connection, `SELECT strftime((${maxSql}), '%Y-%m-%dT%H:%M:%S')`, maxParams);
          // No rows yet: one empty partition, so queries read an empty table rather than fail.
          ranges = min === null || max === null ? [['1970-01-01T00:00:00.000', '1970-01-01T00:00:00.000']] : partitionRanges(String(min), String(max), description.partitionGranularity);
        }
        let rows = 0;
        for (const range of ranges) {
          const partitionName = range ? `${base}_${range[0].slice(0, 10).replace(/-/g, '')}` : base;
          const partitionTable = `${PRE_AGGREGATIONS_SCHEMA}.${quoteIdent(partitionName)}`;
          const params = await Promise.all(
            loadParams.map(async (param) => {
              if (range && param === '__FROM_PARTITION_RANGE') return utcInstant(connection, timezone, range[0]);
              if (range && param === '__TO_PARTITION_RANGE') return utcInstant(connection, timezone, range[1]);
              return param;
            }),
          );
          if (!loadSql.includes(description.tableName)) throw new Error(`load SQL of ${rollup.id} does not create ${description.tableName}`);
          await connection.run(loadSql.replace(description.tableName, partitionTable), convertDuckDBParams(params) as never);
          await narrowWideNumberColumns(connection, PRE_AGGREGATIONS_SCHEMA, partitionName);
          const count = Number(await scalar(connection, `SELECT count(*) FROM ${partitionTable}`));
          rows += count;
          await connection.run(`INSERT INTO ${MANIFEST_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP)`, [
            rollup.id, timezone, description.tableName, partitionTable, range?.[0] ?? null, range?.[1] ?? null, hash, count,
          ] as never);
        }
        const built = { name: `${description.tableName}@${timezone}`, preAggregationId: rollup.id, timezone, partitions: ranges.length, rows, seconds: Math.round(performance.now() - started) / 1000 };
        tables.push(built);
        options.log?.info({ event: 'pre_aggregation_built', ...built }, `pre-aggregation ${built.name}: ${rows} rows in ${ranges.length} partition(s)`);
      }
    }
    await connection.run('COMMIT');
    await connection.run('CHECKPOINT');
  } catch (error) {
    await connection.run('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return { tables };
}

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
export async function planPreAggregations(sql: string, descriptions: MatchedPreAggregation[], lookup: ManifestLookup): Promise<PreAggregationPlan> {
  let rewritten = sql;
  const used: Record<string, UsedPreAggregation> = {};
  for (const description of descriptions) {
    if (!rewritten.includes(description.tableName)) continue; // described but not read (e.g. a sub-query's)
    const rows = await lookup(description.preAggregationId, description.timezone);
    if (rows.length === 0) return { usedPreAggregations: {}, skipped: `${description.preAggregationId} is not built for time zone ${description.timezone}` };
    if (rows.some((row) => row.structure_hash !== description.structureHash)) {
      return { usedPreAggregations: {}, skipped: `${description.preAggregationId} was built from a different model version (rebuild with \`crm refresh\`)` };
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
export async function resolveSql(model: SemanticModel, query: NormalizedQuery, options: BuildSqlOptions, lookup: ManifestLookup): Promise<ResolvedSql> {
  const built = model.buildSql(query, options);
  if (built.preAggregations.length === 0) return { ...built, usedPreAggregations: {} };
  const plan = await planPreAggregations(built.sql, built.preAggregations, lookup);
  if (plan.sql !== undefined) return { ...built, sql: plan.sql, usedPreAggregations: plan.usedPreAggregations };
  return { ...model.buildSql(query, { ...options, disablePreAggregations: true }), usedPreAggregations: {}, preAggregationSkipped: plan.skipped };
}

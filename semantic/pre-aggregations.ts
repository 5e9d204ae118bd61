import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { convertDuckDBParams } from '@cubejs-backend/duckdb-driver/dist/src/Transform.js';
import type { Logger } from 'pino';
import { cubeModelDir as defaultCubeModelDir } from '../shared/paths.ts';
import { narrowWideNumberColumns } from './narrow-columns.ts';
import {
  DEFAULT_PRE_AGGREGATION_TIMEZONES,
  MANIFEST_TABLE,
  PRE_AGGREGATIONS_SCHEMA,
  describeRollup,
  rollupsOf,
  structureHash,
} from './rollup-descriptions.ts';
import { compileSemanticModel } from './semantic-model.ts';

/**
 * Cube's rollup pre-aggregations, built and used without Cube Store or Cube's query orchestrator.
 *
 * Build (after every pipeline run, in the run's copy of the warehouse): for each rollup in
 * cube/model, Cube's compiler describes it (PreAggregations.preAggregationsDescription(): table
 * name, load SQL, the min/max queries that bound its partitions); this module runs exactly that
 * SQL in DuckDB, one table per partition and time zone, as Cube's refresh worker would, and records
 * each table in pre_aggregations._manifest with a hash of its load SQL.
 *
 * Use (per query, rollup-routing.ts): Cube's compiler decides whether a rollup answers the query (its rollup matching,
 * JS planner) and writes SQL against the rollup's logical table name; like Cube's orchestrator this
 * module then replaces that name with the partition tables that cover the query's date range.
 * When the tables for the query's time zone are missing or were built from different SQL (the model
 * changed since), the query is answered from the marts instead, never from a stale table.
 */

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
const slug = (value: string) =>
  value
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');

/** Local (zone-less) partition bounds covering [min, max], as Cube's partition range loader makes them. */
export function partitionRanges(min: string, max: string, granularity: string): [string, string][] {
  const toDate = (s: string) => new Date(`${s.slice(0, 19).replace(' ', 'T')}Z`);
  const start = toDate(min);
  const end = toDate(max);
  const floor = (d: Date): Date => {
    const y = d.getUTCFullYear();
    const m = d.getUTCMonth();
    switch (granularity) {
      case 'year':
        return new Date(Date.UTC(y, 0, 1));
      case 'quarter':
        return new Date(Date.UTC(y, m - (m % 3), 1));
      case 'month':
        return new Date(Date.UTC(y, m, 1));
      case 'week': {
        const day = new Date(Date.UTC(y, m, d.getUTCDate()));
        day.setUTCDate(day.getUTCDate() - ((day.getUTCDay() + 6) % 7)); // ISO weeks start on Monday
        return day;
      }
      case 'day':
        return new Date(Date.UTC(y, m, d.getUTCDate()));
      case 'hour':
        return new Date(Date.UTC(y, m, d.getUTCDate(), d.getUTCHours()));
      default:
        throw new Error(`unsupported partition granularity "${granularity}"`);
    }
  };
  const next = (d: Date): Date => {
    const n = new Date(d);
    switch (granularity) {
      case 'year':
        n.setUTCFullYear(n.getUTCFullYear() + 1);
        break;
      case 'quarter':
        n.setUTCMonth(n.getUTCMonth() + 3);
        break;
      case 'month':
        n.setUTCMonth(n.getUTCMonth() + 1);
        break;
      case 'week':
        n.setUTCDate(n.getUTCDate() + 7);
        break;
      case 'day':
        n.setUTCDate(n.getUTCDate() + 1);
        break;
      case 'hour':
        n.setUTCHours(n.getUTCHours() + 1);
        break;
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
  const value = await scalar(connection, `SELECT strftime(timezone(?, ?::TIMESTAMP) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ')`, [
    timezone,
    local,
  ]);
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
          ranges =
            min === null || max === null
              ? [['1970-01-01T00:00:00.000', '1970-01-01T00:00:00.000']]
              : partitionRanges(String(min), String(max), description.partitionGranularity);
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
          if (!loadSql.includes(description.tableName))
            throw new Error(`load SQL of ${rollup.id} does not create ${description.tableName}`);
          await connection.run(loadSql.replace(description.tableName, partitionTable), convertDuckDBParams(params) as never);
          await narrowWideNumberColumns(connection, PRE_AGGREGATIONS_SCHEMA, partitionName);
          const count = Number(await scalar(connection, `SELECT count(*) FROM ${partitionTable}`));
          rows += count;
          await connection.run(`INSERT INTO ${MANIFEST_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP)`, [
            rollup.id,
            timezone,
            description.tableName,
            partitionTable,
            range?.[0] ?? null,
            range?.[1] ?? null,
            hash,
            count,
          ] as never);
        }
        const built = {
          name: `${description.tableName}@${timezone}`,
          preAggregationId: rollup.id,
          timezone,
          partitions: ranges.length,
          rows,
          seconds: Math.round(performance.now() - started) / 1000,
        };
        tables.push(built);
        options.log?.info(
          { event: 'pre_aggregation_built', ...built },
          `pre-aggregation ${built.name}: ${rows} rows in ${ranges.length} partition(s)`,
        );
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

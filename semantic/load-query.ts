import { ApiError, BadRequestError, errorMessage } from '../shared/errors.ts';
import type { WarehouseQueryOptions, WarehouseReader } from './warehouse-reader.ts';
import { prepareAnnotation, type Annotation } from './annotation.ts';
import { checkQueryMembers } from './check-members.ts';
import { normalizeLoadRequest, parseQueryParam, type LoadQueryType } from './normalize-query.ts';
import { manifestLookup, resolveSql, versionedManifestLookup, type ManifestLookup, type UsedPreAggregation } from './rollup-routing.ts';
import type { NormalizedQuery } from './query-types.ts';
import { ResultCache } from './result-cache.ts';
import { TOTAL_COUNT_ALIAS, type SemanticModel } from './semantic-model.ts';
import { transformData } from './transform-data.ts';

/** The body of a successful /cubejs-api/v1/load, in Cube's REST shape. */
export interface LoadResponse {
  query: NormalizedQuery;
  data: Record<string, unknown>[];
  lastRefreshTime: string;
  annotation: Annotation;
  dataSource: 'default';
  dbType: 'duckdb';
  /** Cube's field: the type of the external (pre-aggregation) store; Cube answers 'cubestore'. */
  extDbType: 'cubestore';
  external: false;
  slowQuery: false;
  total: number | null;
  /** Cube's field: the rollup tables that answered the query (empty when the marts did). */
  usedPreAggregations: Record<string, UsedPreAggregation>;
}

/** The warehouse could not run Cube's SQL (a mart or column missing): not the client's fault. */
export class WarehouseQueryError extends ApiError {
  constructor(message: string, cause: unknown) {
    super(500, `The warehouse could not run the query: ${message}`, { cause });
    this.name = 'WarehouseQueryError';
  }
}

/** DuckDB errors caused by a value the client sent, e.g. filtering a number dimension by 'abc'. */
const CLIENT_VALUE_ERROR = /^(Conversion|Invalid Input|Out of Range) Error/;

async function run(warehouse: WarehouseReader, sql: string, params: unknown[], options: WarehouseQueryOptions) {
  try {
    return await warehouse.query(sql, params, options);
  } catch (error) {
    if (error instanceof ApiError) throw error; // warehouse missing or unreadable: already a 503
    // DuckDB appends the SQL around the error position; the first line says what went wrong.
    const message = errorMessage(error).split('\n')[0]!;
    if (CLIENT_VALUE_ERROR.test(message)) throw new BadRequestError(`Invalid value in the query: ${message}`, { cause: error });
    throw new WarehouseQueryError(message, error);
  }
}

/** The caller's security context (JWT claims) and everything a /load step needs. */
export interface LoadContext {
  model: SemanticModel;
  warehouse: WarehouseReader;
  securityContext: Record<string, unknown>;
  defaultTimezone: string;
  /** The result cache (absent: nothing is cached). */
  cache?: ResultCache<LoadResponse>;
  /** Time limit of each DuckDB statement in ms (0 or absent: none). */
  queryTimeoutMs?: number;
}

/** A whole /load request: Cube's queryType and one result per normalised query. */
export interface LoadRequestResult {
  queryType: LoadQueryType;
  results: LoadResponse[];
  /** Cube's getPivotQuery: the first query, with 'compareDateRange' as a dimension when comparing. */
  pivotQuery: Omit<NormalizedQuery, 'queryType'> & { queryType: LoadQueryType };
}

const manifestLookups = new WeakMap<WarehouseReader, ManifestLookup>();

/** The warehouse's rollup manifest, remembered per published version. */
function manifestOf(warehouse: WarehouseReader): ManifestLookup {
  let lookup = manifestLookups.get(warehouse);
  if (!lookup) {
    lookup = versionedManifestLookup(
      manifestLookup((sql, params) => warehouse.query(sql, params)),
      () => warehouse.dataVersion(),
    );
    manifestLookups.set(warehouse, lookup);
  }
  return lookup;
}

/** Step 4 (compile): Cube's SQL for the query and its total query; access control and rollup routing happen in here. */
export async function planQuery(
  model: SemanticModel,
  query: NormalizedQuery,
  securityContext: Record<string, unknown>,
  warehouse: WarehouseReader,
) {
  const options = { securityContext };
  const lookup = manifestOf(warehouse);
  const main = await resolveSql(model, query, options, lookup);
  const total = query.total ? await resolveSql(model, query, { ...options, totalQuery: true }, lookup) : undefined;
  return { main, total };
}

/** Step 3 (cache): the key of a query's result; the data version is applied by ResultCache itself. */
export function resultCacheKey(query: NormalizedQuery, securityContext: Record<string, unknown>): string {
  // A token's timing claims were checked when it was verified and decide nothing about the answer:
  // left out, a refreshed token of the same caller still finds its cached results.
  const { iat: _iat, exp: _exp, nbf: _nbf, jti: _jti, ...claims } = securityContext;
  const sorted = Object.fromEntries(Object.entries(claims).sort(([a], [b]) => a.localeCompare(b)));
  return ResultCache.key({ query, securityContext: sorted });
}

/**
 * One normalised query end to end: cache lookup, Cube's SQL (access control and pre-aggregation
 * routing inside), DuckDB with a time limit, and Cube's row and annotation shaping.
 */
export async function loadNormalizedQuery(
  query: NormalizedQuery,
  context: LoadContext,
  options: { queryType?: LoadQueryType; renewQuery?: boolean } = {},
): Promise<LoadResponse> {
  const started = performance.now();
  const dataVersion = context.warehouse.dataVersion();
  const key = resultCacheKey(query, context.securityContext);
  if (context.cache && !options.renewQuery) {
    const cached = context.cache.get(key, dataVersion);
    if (cached) {
      const response: LoadResponse = { ...cached.value, lastRefreshTime: cached.computedAt.toISOString() };
      const timings = loadTimings.get(cached.value);
      loadTimings.set(response, {
        planMs: 0,
        warehouseMs: 0,
        source: timings?.source ?? 'marts',
        cache: 'hit',
        totalMs: performance.now() - started,
      });
      return response;
    }
  }

  const { main, total } = await planQuery(context.model, query, context.securityContext, context.warehouse);
  const planned = performance.now();
  const limit = { timeoutMs: context.queryTimeoutMs };
  const [rows, totalRows] = await Promise.all([
    run(context.warehouse, main.sql, main.params, limit),
    total ? run(context.warehouse, total.sql, total.params, limit) : Promise.resolve(undefined),
  ]);
  const queried = performance.now();
  const annotation = prepareAnnotation(context.model.members, query);
  const computedAt = new Date();
  const response: LoadResponse = {
    query,
    data: transformData(rows, main.aliasNameToMember, annotation, query, options.queryType),
    lastRefreshTime: computedAt.toISOString(),
    annotation,
    dataSource: 'default',
    dbType: 'duckdb',
    extDbType: 'cubestore',
    external: false,
    slowQuery: false,
    total: totalRows ? Number(totalRows[0]?.[TOTAL_COUNT_ALIAS] ?? 0) : null,
    usedPreAggregations: main.usedPreAggregations,
  };
  loadTimings.set(response, {
    planMs: planned - started,
    warehouseMs: queried - planned,
    source: Object.keys(main.usedPreAggregations).length
      ? Object.values(main.usedPreAggregations)
          .map((u) => u.preAggregationId)
          .join(' ')
      : 'marts',
    ...(main.preAggregationSkipped ? { skipped: main.preAggregationSkipped } : {}),
    cache: context.cache && !options.renewQuery ? 'miss' : 'off',
    totalMs: performance.now() - started,
  });
  // Only when no new version was published while the query ran: the answer is then that version's.
  if (context.cache && context.warehouse.dataVersion() === dataVersion)
    context.cache.set(key, dataVersion, { value: response, computedAt });
  return response;
}

/**
 * A /load request end to end, in separate steps: (1) parse and normalise (a compareDateRange
 * becomes one query per range), (2) check members against the model, then per query (3) cache,
 * (4) compile with access control and rollup routing, (5) execute, (6) transform.
 */
export async function loadRequest(rawQuery: unknown, context: LoadContext): Promise<LoadRequestResult> {
  const parsed = parseQueryParam(rawQuery);
  const { queryType, queries } = normalizeLoadRequest(parsed, { defaultTimezone: context.defaultTimezone });
  for (const query of queries) checkQueryMembers(query, context.model.members);
  const renewQuery = typeof parsed === 'object' && parsed !== null && (parsed as { renewQuery?: unknown }).renewQuery === true;
  const results = await Promise.all(queries.map((query) => loadNormalizedQuery(query, context, { queryType, renewQuery })));
  const first = queries[0]!;
  const pivotQuery = {
    ...first,
    dimensions: queryType === 'compareDateRangeQuery' ? ['compareDateRange', ...first.dimensions] : first.dimensions,
    queryType,
  };
  return { queryType, results, pivotQuery };
}

/** One regular Cube REST query (no compareDateRange): the single result object. */
export async function loadQuery(rawQuery: unknown, context: LoadContext): Promise<LoadResponse> {
  const result = await loadRequest(rawQuery, context);
  if (result.queryType !== 'regularQuery') {
    throw new BadRequestError(`'${result.queryType}' query type is not supported by the client. Please update the client.`);
  }
  return result.results[0]!;
}

/** Where a /load answer came from and how long it took (sent as a Server-Timing header, not in the body). */
export interface LoadTimings {
  /** Access control, Cube's SQL and rollup matching, the pre-aggregation manifest lookup. */
  planMs: number;
  /** DuckDB running the SQL. */
  warehouseMs: number;
  /** 'marts', or the ids of the rollups that answered. */
  source: string;
  /** Why a matching rollup was not read. */
  skipped?: string;
  /** 'hit': answered from the result cache (plan and warehouse are then 0); 'off': cache bypassed (renewQuery) or disabled. */
  cache?: 'hit' | 'miss' | 'off';
  /** The whole query, cache lookup included. */
  totalMs?: number;
}

export const loadTimings = new WeakMap<LoadResponse, LoadTimings>();

/** The Server-Timing header value for a /load answer, e.g. `plan;dur=1.2, warehouse;dur=3.4;desc="orders.sales_daily"`. */
export function serverTimingHeader(timings: LoadTimings): string {
  const desc = (text: string) => `"${text.replace(/["\\]/g, '')}"`;
  return `plan;dur=${timings.planMs.toFixed(1)}, warehouse;dur=${timings.warehouseMs.toFixed(1)};desc=${desc(timings.source)}`;
}

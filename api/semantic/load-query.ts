import { ApiError, BadRequestError, errorMessage } from '../errors.ts';
import type { WarehouseReader } from '../warehouse/warehouse-reader.ts';
import { prepareAnnotation, type Annotation } from './annotation.ts';
import { checkQueryMembers } from './check-members.ts';
import { normalizeQuery, parseQueryParam } from './normalize-query.ts';
import type { NormalizedQuery } from './query-types.ts';
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
  external: false;
  slowQuery: false;
  total: number | null;
}

export interface LoadContext {
  model: SemanticModel;
  warehouse: WarehouseReader;
  securityContext: Record<string, unknown>;
  defaultTimezone: string;
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

async function run(warehouse: WarehouseReader, sql: string, params: unknown[]) {
  try {
    return await warehouse.query(sql, params);
  } catch (error) {
    if (error instanceof ApiError) throw error; // warehouse missing or unreadable: already a 503
    // DuckDB appends the SQL around the error position; the first line says what went wrong.
    const message = errorMessage(error).split('\n')[0]!;
    if (CLIENT_VALUE_ERROR.test(message)) throw new BadRequestError(`Invalid value in the query: ${message}`, { cause: error });
    throw new WarehouseQueryError(message, error);
  }
}

/**
 * One Cube REST query end to end: parse and normalise it, check its members against the model, let
 * Cube's compiler write the SQL, run it on DuckDB, and shape the rows and annotation as Cube does.
 */
export async function loadQuery(rawQuery: unknown, context: LoadContext): Promise<LoadResponse> {
  const query = normalizeQuery(parseQueryParam(rawQuery), { defaultTimezone: context.defaultTimezone });
  checkQueryMembers(query, context.model.members);
  const options = { securityContext: context.securityContext };
  const main = context.model.buildSql(query, options);
  const totalSql = query.total ? context.model.buildSql(query, { ...options, totalQuery: true }) : undefined;

  const [rows, totalRows] = await Promise.all([
    run(context.warehouse, main.sql, main.params),
    totalSql ? run(context.warehouse, totalSql.sql, totalSql.params) : Promise.resolve(undefined),
  ]);
  const annotation = prepareAnnotation(context.model.members, query);
  return {
    query,
    data: transformData(rows, main.aliasNameToMember, annotation, query),
    // Nothing is cached between requests: the data is as fresh as this query.
    lastRefreshTime: new Date().toISOString(),
    annotation,
    dataSource: 'default',
    dbType: 'duckdb',
    external: false,
    slowQuery: false,
    total: totalRows ? Number(totalRows[0]?.[TOTAL_COUNT_ALIAS] ?? 0) : null,
  };
}

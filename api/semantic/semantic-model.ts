import path from 'node:path';
import { prepareCompiler, type Compiler } from '@cubejs-backend/schema-compiler';
import { DuckDBQuery } from '@cubejs-backend/duckdb-driver/dist/src/DuckDBQuery.js';
import { BadRequestError, isCubeUserError } from '../errors.ts';
import { ModelFileRepository } from './file-repository.ts';
import { MemberIndex, visibleMeta, type MetaCube, type MetaResponse } from './meta.ts';
import { createNativeInstance } from './native-instance.ts';
import type { NormalizedQuery } from './query-types.ts';

/** SQL for one semantic query, straight from Cube's BaseQuery.buildSqlAndParams(). */
export interface SemanticSql {
  sql: string;
  params: unknown[];
  /** Column alias -> member ('orders__ordered_at_month' -> 'orders.ordered_at.month'). */
  aliasNameToMember: Record<string, string>;
}

export interface BuildSqlOptions {
  /** Claims of the caller, exposed to the model as SECURITY_CONTEXT (Cube's contextSymbols). */
  securityContext?: Record<string, unknown>;
  /** Cube's total query: count(*) over the unlimited query, for `total: true`. */
  totalQuery?: boolean;
}

/** The column Cube's total query returns (QueryAlias.TOTAL_COUNT). */
export const TOTAL_COUNT_ALIAS = 'total_count';

/**
 * A compiled Cube data model: Cube's own compiler (schema-compiler) run in-process over the YAML
 * in cube/model, with the DuckDB dialect from @cubejs-backend/duckdb-driver.
 */
export class SemanticModel {
  readonly modelDir: string;
  readonly members: MemberIndex;
  /** The /meta response; computed once, the model is immutable after compiling. */
  readonly meta: MetaResponse;
  private readonly compilers: Compiler;

  constructor(modelDir: string, compilers: Compiler) {
    this.modelDir = modelDir;
    this.compilers = compilers;
    const cubes = (compilers.metaTransformer.cubes as unknown as { config: MetaCube }[]).map((cube) => cube.config);
    this.members = new MemberIndex(cubes);
    this.meta = visibleMeta(cubes);
  }

  get cubeNames(): string[] {
    return this.meta.cubes.map((cube) => cube.name);
  }

  /**
   * SQL and parameters for a normalised query. All SQL comes from Cube's JavaScript planner
   * (useNativeSqlPlanner: false, since the Rust planner lives in the missing native binding);
   * Cube's UserErrors (unknown granularity, bad filter value, ...) become 400s.
   */
  buildSql(query: NormalizedQuery, options: BuildSqlOptions = {}): SemanticSql {
    const queryOptions: Record<string, unknown> = {
      measures: query.measures,
      dimensions: query.dimensions,
      segments: query.segments,
      timeDimensions: query.timeDimensions,
      filters: query.filters,
      timezone: query.timezone,
      limit: query.limit,
      rowLimit: query.rowLimit,
      offset: query.offset,
      ungrouped: query.ungrouped,
      joinHints: query.joinHints,
      // Only when the client gave one: without it Cube applies its default order.
      ...(query.order ? { order: query.order } : {}),
      contextSymbols: { securityContext: options.securityContext ?? {} },
      useNativeSqlPlanner: false,
    };
    if (options.totalQuery) {
      // As Cube's gateway builds the total query: no order, no limit, no offset.
      Object.assign(queryOptions, { totalQuery: true, limit: null, rowLimit: null, offset: null });
      delete queryOptions.order;
    }
    try {
      const sqlQuery = new DuckDBQuery(this.compilers, queryOptions);
      return this.compilers.compiler.withQuery(sqlQuery, () => {
        const [sql, params] = sqlQuery.buildSqlAndParams() as [string, unknown[]];
        return { sql, params, aliasNameToMember: sqlQuery.aliasNameToMember as Record<string, string> };
      }) as SemanticSql;
    } catch (error) {
      if (isCubeUserError(error)) throw new BadRequestError(error.message, { cause: error });
      throw error;
    }
  }
}

/** Compiles the model in a folder with Cube's compiler; throws Cube's CompileError listing every problem. */
export async function compileSemanticModel(modelDir: string): Promise<SemanticModel> {
  const dir = path.resolve(modelDir);
  const compilers = prepareCompiler(new ModelFileRepository(dir), {
    nativeInstance: createNativeInstance(),
    // The model is YAML; a .js model file must not be able to require arbitrary node modules.
    allowNodeRequire: false,
  });
  await compilers.compiler.compile();
  return new SemanticModel(dir, compilers);
}

const cache = new Map<string, Promise<SemanticModel>>();

/**
 * The compiled model of a folder, compiled once and shared (compiling takes about a second). A
 * failed compile is not cached, so fixing the model and asking again recompiles.
 */
export function loadSemanticModel(modelDir: string): Promise<SemanticModel> {
  const dir = path.resolve(modelDir);
  let model = cache.get(dir);
  if (!model) {
    model = compileSemanticModel(dir);
    cache.set(dir, model);
    model.catch(() => {
      if (cache.get(dir) === model) cache.delete(dir);
    });
  }
  return model;
}

/** Forgets compiled models (one folder, or all) so the next load recompiles, e.g. after the model changed. */
export function forgetSemanticModel(modelDir?: string): void {
  if (modelDir === undefined) cache.clear();
  else cache.delete(path.resolve(modelDir));
}

import path from 'node:path';
import { prepareCompiler, type Compiler } from '@cubejs-backend/schema-compiler';
import { DuckDBDialectQuery } from './duckdb-dialect.ts';
import { BadRequestError, isCubeUserError } from '../shared/errors.ts';
import { ModelFileRepository } from './file-repository.ts';
import { MemberIndex, visibleMeta, type MetaCube, type MetaResponse } from './meta.ts';
import { createNativeInstance } from './native-instance.ts';
import { NO_PRE_AGGREGATION, PRE_AGGREGATIONS_SCHEMA, rollupStructureHash, type MatchedPreAggregation } from './rollup-descriptions.ts';
import type { NormalizedQuery } from './query-types.ts';

/** SQL for one semantic query, straight from Cube's BaseQuery.buildSqlAndParams(). */
export interface SemanticSql {
  sql: string;
  params: unknown[];
  /** Column alias -> member ('orders__ordered_at_month' -> 'orders.ordered_at.month'). */
  aliasNameToMember: Record<string, string>;
  /**
   * The rollups Cube's matching chose for this query (empty when none). The SQL then reads their
   * logical tables (pre_aggregations.<cube>_<name>); pre-aggregations.ts planPreAggregations()
   * swaps in the built partition tables, or the caller rebuilds with disablePreAggregations.
   */
  preAggregations: MatchedPreAggregation[];
  /** The query after access control: the caller's row-level filter appended. */
  securedQuery: NormalizedQuery;
  /** Members masked for the caller by an access policy. */
  maskedMembers: string[];
  /** The order Cube applied: the query's, or Cube's default order (BaseQuery.defaultOrder). */
  order: { id: string; desc: boolean }[];
}

export interface BuildSqlOptions {
  /** Claims of the caller, exposed to the model as SECURITY_CONTEXT (Cube's contextSymbols). */
  securityContext?: Record<string, unknown>;
  /** Members an access policy masks for the caller (secured-sql.ts decides them). */
  maskedMembers?: { member: string }[];
  /** Cube's total query: count(*) over the unlimited query, for `total: true`. */
  totalQuery?: boolean;
  /** SQL over the marts only, even when a rollup matches (Cube's refresh-worker filter with no id). */
  disablePreAggregations?: boolean;
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
  /** Cube's compilers (cubeEvaluator, compiler, ...): access control evaluates policies with them. */
  readonly compilers: Compiler;
  private readonly compiled = new Map<string, SemanticSql>();

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
   * SQL and parameters for a query that access control has already secured (secured-sql.ts does
   * both; call that). All SQL comes from Cube's JavaScript planner (useNativeSqlPlanner: false,
   * since the Rust planner lives in the missing native binding); Cube's UserErrors (unknown
   * granularity, bad filter value, ...) become 400s.
   */
  buildSql(query: NormalizedQuery, options: BuildSqlOptions = {}): SemanticSql {
    const securityContext = options.securityContext ?? {};
    const maskedMembers = options.maskedMembers ?? [];
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
      contextSymbols: { securityContext },
      useNativeSqlPlanner: false,
      preAggregationsSchema: PRE_AGGREGATIONS_SCHEMA,
      ...(maskedMembers.length ? { maskedMembers } : {}),
    };
    // A rollup holds unmasked values: a query with masked members always reads the marts.
    if (options.disablePreAggregations || maskedMembers.length) {
      // preAggregationId is not part of Cube's query-cache key, but the schema is: without a
      // distinct key the cached SQL of the same query with its rollup would come back.
      Object.assign(queryOptions, {
        preAggregationId: NO_PRE_AGGREGATION,
        preAggregationsSchema: `${PRE_AGGREGATIONS_SCHEMA}${NO_PRE_AGGREGATION}`,
      });
    }
    if (options.totalQuery) {
      // As Cube's gateway builds the total query: no order, no limit, no offset.
      Object.assign(queryOptions, { totalQuery: true, limit: null, rowLimit: null, offset: null });
      delete queryOptions.order;
    }
    try {
      const sqlQuery = new DuckDBDialectQuery(this.compilers, queryOptions);
      return this.compilers.compiler.withQuery(sqlQuery, () => {
        const [sql, params] = sqlQuery.buildSqlAndParams() as [string, unknown[]];
        const preAggregations = this.matchedPreAggregations(sqlQuery, query.timezone);
        return {
          sql,
          params,
          aliasNameToMember: sqlQuery.aliasNameToMember as Record<string, string>,
          preAggregations,
          securedQuery: query,
          maskedMembers: maskedMembers.map((m) => m.member),
          order: ((sqlQuery as unknown as { order?: { id: string; desc: boolean }[] }).order ?? []).map(({ id, desc }) => ({ id, desc })),
        };
      }) as SemanticSql;
    } catch (error) {
      if (isCubeUserError(error)) throw new BadRequestError(error.message, { cause: error });
      throw error;
    }
  }

  /**
   * The rollup Cube's matching chose (PreAggregations.findPreAggregationForQuery), with its table
   * name and the query's date range on its time dimension, as preAggregationDescriptionFor() finds
   * them. Rollup joins and lambdas (not used in this model) get no entry: their SQL names tables
   * this module does not build, and the caller then answers from the marts.
   */
  private matchedPreAggregations(sqlQuery: unknown, timezone: string): MatchedPreAggregation[] {
    const query = sqlQuery as QueryInternals;
    const found = query.preAggregations.findPreAggregationForQuery();
    if (!found || found.preAggregation.type !== 'rollup') return [];
    const referenced = found.references.timeDimensions?.[0]?.dimension.split('.').slice(-2).join('.');
    const aliases = referenced ? query.allBackAliasMembers() : {};
    const matched =
      found.preAggregation.partitionGranularity && referenced
        ? query.timeDimensions.find((td) => td.dateRange && (td.dimension === referenced || td.dimension === aliases[referenced]))
        : undefined;
    const preAggregationId = `${found.cube}.${found.preAggregationName}`;
    return [
      {
        preAggregationId,
        tableName: query.preAggregations.preAggregationTableName(found.cube, found.preAggregationName, found.preAggregation),
        timezone,
        ...(matched ? { matchedTimeDimensionDateRange: matched.boundaryDateRangeFormatted() } : {}),
        structureHash: rollupStructureHash(this, preAggregationId, timezone),
      },
    ];
  }
}

interface FoundPreAggregation {
  cube: string;
  preAggregationName: string;
  preAggregation: { type: string; partitionGranularity?: string; sqlAlias?: string };
  references: { timeDimensions?: { dimension: string }[] };
}

interface QueryInternals {
  preAggregations: {
    findPreAggregationForQuery(): FoundPreAggregation | undefined;
    preAggregationTableName(cube: string, name: string, preAggregation: unknown): string;
  };
  timeDimensions: { dimension: string; dateRange?: unknown; boundaryDateRangeFormatted(): [string, string] }[];
  allBackAliasMembers(): Record<string, string>;
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

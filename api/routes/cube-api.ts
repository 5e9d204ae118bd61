import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { tokenFromHeader, verifyToken, type SecurityContext } from '../auth.ts';
import { accessContextFromClaims, accessContextFromToken, accessControlFor } from '../../semantic/access-control.ts';
import { BadRequestError } from '../../shared/errors.ts';
import { checkQueryMembers } from '../../semantic/check-members.ts';
import {
  loadRequest,
  loadTimings,
  planQuery,
  serverTimingHeader,
  type LoadRequestResult,
  type LoadResponse,
} from '../../semantic/load-query.ts';
import { normalizeLoadRequest, parseQueryParam } from '../../semantic/normalize-query.ts';
import { checkJsonTextDepth, checkJsonValueDepth } from '../../semantic/query-limits.ts';
import type { ResponseCache } from '../response-cache.ts';
import type { ResultCache } from '../../semantic/result-cache.ts';
import type { SemanticModel } from '../../semantic/semantic-model.ts';
import type { WarehouseReader } from '../../semantic/warehouse-reader.ts';
import { sendAndStore, serveFromFront, type FrontCache } from './front-cache.ts';
import { buildSecuredSql } from '../../semantic/secured-sql.ts';

/**
 * Cube's REST API (mounted at /cubejs-api/v1): GET /meta, GET and POST /load, /sql and /dry-run. Every route needs a
 * valid JWT; the claims become the query's security context, as in Cube's API gateway.
 */
export interface CubeApiRouteOptions {
  jwtSecret: string;
  defaultTimezone: string;
  warehouse: WarehouseReader;
  /** The compiled model; rejects with a 503 when the model does not compile. */
  model(): Promise<SemanticModel>;
  /** The /load result cache (absent: no caching). */
  cache?: ResultCache<LoadResponse>;
  /** The front cache of whole /load answers as sent (absent: none); only used with `cache`. */
  responseCache?: ResponseCache;
  /** Time limit of each warehouse statement, ms (0 or absent: none). */
  queryTimeoutMs?: number;
  /** Refuse tokens without `exp` (default true). */
  requireTokenExpiry?: boolean;
}

interface LoadParams {
  query?: unknown;
  queryType?: unknown;
}

const securityContexts = new WeakMap<FastifyRequest, SecurityContext>();

/**
 * Cube's gateway answers a client that sends queryType 'multi' (@cubejs-client/core does) with
 * { queryType, results, pivotQuery, slowQuery }, and older clients and curl with the single result;
 * a compareDateRange query needs a 'multi' client, as in Cube.
 */
function shapeLoadResponse(result: LoadRequestResult, queryType: unknown) {
  if (queryType === 'multi') {
    return { queryType: result.queryType, results: result.results, pivotQuery: result.pivotQuery, slowQuery: false };
  }
  if (result.queryType !== 'regularQuery') {
    throw new BadRequestError(`'${result.queryType}' query type is not supported by the client. Please update the client.`);
  }
  return result.results[0]!;
}

/** GET takes ?query= (a JSON string), POST a JSON body { query }; anything else is "Query param is required". */
function paramsOf(request: FastifyRequest): LoadParams {
  const source = request.method === 'GET' ? request.query : request.body;
  return typeof source === 'object' && source !== null && !Array.isArray(source) ? (source as LoadParams) : {};
}

export const cubeApiRoutes: FastifyPluginAsync<CubeApiRouteOptions> = async (app, options) => {
  // Authentication runs before the body is parsed, so a bad token is a 403 whatever the body holds.
  app.addHook('onRequest', async (request) => {
    const header = request.headers['x-cube-authorization'] ?? request.headers.authorization;
    const claims = await verifyToken(tokenFromHeader(header), options.jwtSecret, { requireExpiry: options.requireTokenExpiry ?? true });
    // Roles, brands and regions checked once, the same way as on /api/v1 (a 403 naming the claim).
    securityContexts.set(request, accessContextFromToken(claims) as SecurityContext);
  });
  const securityContextOf = (request: FastifyRequest) => securityContexts.get(request) ?? {};
  // Nesting is checked before anything walks the request (the front cache serialises the body,
  // normalisation recurses into filters): a 10,000-deep array is a 400, not a stack overflow.
  app.addHook('preValidation', async (request) => {
    if (request.body !== undefined) checkJsonValueDepth(request.body, 'the request body');
    const query = (request.query as Record<string, unknown> | undefined)?.query;
    if (typeof query === 'string') checkJsonTextDepth(query);
  });

  const front: FrontCache | undefined =
    options.cache && options.responseCache
      ? { cache: options.responseCache, warehouse: options.warehouse, model: options.model, defaultTimezone: options.defaultTimezone }
      : undefined;

  const load = async (request: FastifyRequest, reply: FastifyReply) => {
    const securityContext = securityContextOf(request);
    // The answer as sent before, when this caller asked exactly this of this data version and model.
    const ticket = front ? await serveFromFront(front, request, reply, securityContext) : undefined;
    if (ticket === true) return reply;
    const params = paramsOf(request);
    const result = await loadRequest(params.query, {
      model: await options.model(),
      warehouse: options.warehouse,
      securityContext,
      defaultTimezone: options.defaultTimezone,
      ...(options.cache ? { cache: options.cache } : {}),
      ...(options.queryTimeoutMs ? { queryTimeoutMs: options.queryTimeoutMs } : {}),
    });
    // Where the answer came from (a rollup or the marts), how long planning and DuckDB took (the
    // first query's), and whether the result cache answered (x-crm-cache: hit only when all did).
    const timings = result.results.map((r) => loadTimings.get(r)).filter((t) => t !== undefined);
    const cacheState = timings.every((t) => t.cache === 'hit') ? 'hit' : timings.some((t) => t.cache === 'off') ? 'off' : 'miss';
    if (timings[0]) reply.header('server-timing', serverTimingHeader(timings[0]));
    if (timings.length) {
      reply.header('x-crm-cache', cacheState);
      reply.header('x-crm-query-ms', Math.max(...timings.map((t) => t.totalMs ?? 0)).toFixed(1));
    }
    const answer = shapeLoadResponse(result, params.queryType);
    if (!front || !ticket || !timings[0]) return answer;
    if (cacheState === 'off') {
      // renewQuery recomputed the results: kept answers of the same queries are older than the result cache now.
      front.cache.clear();
      return answer;
    }
    // What a result-cache hit would send: no planning, no warehouse time.
    const hitHeaders = {
      'server-timing': serverTimingHeader({ planMs: 0, warehouseMs: 0, source: timings[0].source }),
      'x-crm-cache': 'hit',
    };
    return sendAndStore(
      front,
      ticket,
      reply,
      answer,
      result.results.map((r) => r.query.timezone),
      hitHeaders,
    );
  };

  /** Cube's /sql: the SQL its compiler wrote (after access control and rollup routing), per query. */
  const sql = async (request: FastifyRequest) => {
    const params = paramsOf(request);
    const model = await options.model();
    const { queryType, queries } = normalizeLoadRequest(parseQueryParam(params.query), { defaultTimezone: options.defaultTimezone });
    const bodies = await Promise.all(
      queries.map(async (query) => {
        checkQueryMembers(query, model.members);
        const { main } = await planQuery(model, query, securityContextOf(request), options.warehouse);
        return {
          sql: {
            sql: [main.sql, main.params],
            order: main.order,
            aliasNameToMember: main.aliasNameToMember,
            dataSource: 'default',
            external: false,
            // The rollups Cube's matching chose, and the built tables that actually answer (none: the marts).
            preAggregations: main.preAggregations.map((p) => ({ preAggregationId: p.preAggregationId, tableName: p.tableName })),
            usedPreAggregations: main.usedPreAggregations,
            ...(main.preAggregationSkipped ? { preAggregationSkipped: main.preAggregationSkipped } : {}),
            ...(main.maskedMembers.length ? { maskedMembers: main.maskedMembers } : {}),
          },
        };
      }),
    );
    return queryType === 'regularQuery' ? bodies[0] : bodies;
  };

  /** Cube's /dry-run: the normalised queries (after access control), their order and the pivot query; nothing runs. */
  const dryRun = async (request: FastifyRequest) => {
    const params = paramsOf(request);
    const model = await options.model();
    const { queryType, queries } = normalizeLoadRequest(parseQueryParam(params.query), { defaultTimezone: options.defaultTimezone });
    const built = queries.map((query) => {
      checkQueryMembers(query, model.members);
      return buildSecuredSql(model, query, { securityContext: securityContextOf(request) });
    });
    const normalizedQueries = built.map((b) => b.securedQuery);
    const first = normalizedQueries[0]!;
    return {
      queryType,
      normalizedQueries,
      queryOrder: built.map((b) => Object.fromEntries(b.order.map(({ id, desc }) => [id, desc ? 'desc' : 'asc']))),
      pivotQuery: {
        ...first,
        dimensions: queryType === 'compareDateRangeQuery' ? ['compareDateRange', ...first.dimensions] : first.dimensions,
        queryType,
      },
    };
  };

  app.get('/meta', async (request) => {
    const model = await options.model();
    // Cube's patchVisibilityByAccessPolicy: members the caller's access policies hide are left out.
    const meta = accessControlFor(model).metaFor(model.meta, accessContextFromClaims(securityContextOf(request)));
    const onlyViews = (request.query as Record<string, unknown>).onlyViews === 'true';
    return onlyViews ? { cubes: meta.cubes.filter((cube) => cube.type === 'view') } : meta;
  });

  app.get('/load', load);
  app.post('/load', load);
  app.get('/sql', sql);
  app.post('/sql', sql);
  app.get('/dry-run', dryRun);
  app.post('/dry-run', dryRun);
};

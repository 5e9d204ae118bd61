import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { tokenFromHeader, verifyToken, type SecurityContext } from '../auth.ts';
import { loadQuery, type LoadResponse } from '../semantic/load-query.ts';
import type { SemanticModel } from '../semantic/semantic-model.ts';
import type { WarehouseReader } from '../warehouse/warehouse-reader.ts';

/**
 * Cube's REST API (mounted at /cubejs-api/v1): GET /meta, GET and POST /load. Every route needs a
 * valid JWT; the claims become the query's security context, as in Cube's API gateway.
 */
export interface CubeApiRouteOptions {
  jwtSecret: string;
  defaultTimezone: string;
  warehouse: WarehouseReader;
  /** The compiled model; rejects with a 503 when the model does not compile. */
  model(): Promise<SemanticModel>;
}

interface LoadParams {
  query?: unknown;
  queryType?: unknown;
}

const securityContexts = new WeakMap<FastifyRequest, SecurityContext>();

/**
 * @cubejs-client/core sends queryType 'multi' and reads `results`; older clients and curl get the
 * single result object (Cube's gateway answers both ways).
 */
function shapeLoadResponse(result: LoadResponse, queryType: unknown) {
  if (queryType !== 'multi') return result;
  return {
    queryType: 'regularQuery',
    results: [result],
    pivotQuery: { ...result.query, queryType: 'regularQuery' },
    slowQuery: false,
  };
}

export const cubeApiRoutes: FastifyPluginAsync<CubeApiRouteOptions> = async (app, options) => {
  // Authentication runs before the body is parsed, so a bad token is a 403 whatever the body holds.
  app.addHook('onRequest', async (request) => {
    const header = request.headers['x-cube-authorization'] ?? request.headers.authorization;
    securityContexts.set(request, await verifyToken(tokenFromHeader(header), options.jwtSecret));
  });

  const load = async (request: FastifyRequest, params: LoadParams) => {
    const result = await loadQuery(params.query, {
      model: await options.model(),
      warehouse: options.warehouse,
      securityContext: securityContexts.get(request) ?? {},
      defaultTimezone: options.defaultTimezone,
    });
    return shapeLoadResponse(result, params.queryType);
  };

  app.get('/meta', async (request) => {
    const { meta } = await options.model();
    const onlyViews = (request.query as Record<string, unknown>).onlyViews === 'true';
    return onlyViews ? { cubes: meta.cubes.filter((cube) => cube.type === 'view') } : meta;
  });

  app.get('/load', async (request) => load(request, request.query as LoadParams));

  app.post('/load', async (request) => {
    const body = request.body;
    const params = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as LoadParams) : {};
    return load(request, params);
  });
};

import type { FastifyPluginAsync } from 'fastify';
import { errorMessage } from '../../shared/errors.ts';
import type { SemanticModel } from '../../semantic/semantic-model.ts';
import type { WarehouseReader } from '../../semantic/warehouse-reader.ts';

export interface HealthRouteOptions {
  warehouse: WarehouseReader;
  cubeModelDir: string;
  model(): Promise<SemanticModel>;
}

/**
 * GET /health, unauthenticated (like Cube's /readyz): 200 when the warehouse file opens read-only and
 * the Cube model compiles, 503 naming what is wrong otherwise, so a scheduler or load balancer can
 * tell "up" from "up but unable to answer".
 */
export const healthRoutes: FastifyPluginAsync<HealthRouteOptions> = async (app, options) => {
  app.get('/health', async (_request, reply) => {
    const body: Record<string, unknown> = { status: 'ok', warehouse: options.warehouse.filePath, cubeModelDir: options.cubeModelDir };
    const problems: string[] = [];
    try {
      await options.warehouse.check();
    } catch (error) {
      problems.push(errorMessage(error));
    }
    try {
      body.cubes = (await options.model()).cubeNames;
    } catch (error) {
      problems.push(errorMessage(error));
    }
    if (problems.length === 0) return body;
    return reply.code(503).send({ ...body, status: 'unavailable', error: problems.join('; ') });
  });
};

import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * An internal failure (a bug, DuckDB or Cube failing on a query the checks let through): the
 * details go to the log under the request id, the caller gets only the id, never DuckDB's or
 * Cube's text (it names tables, columns and SQL).
 */
export function internalError(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
  request.log.error({ err: error, requestId: request.id }, 'internal error');
  return reply
    .code(500)
    .header('x-request-id', request.id)
    .send({ error: `Internal error (request id ${request.id}); the details are in the server log`, requestId: request.id });
}

import type { FastifyReply, FastifyRequest } from 'fastify';
import { claimsKey } from '../../semantic/claims-key.ts';
import { endOfLocalDay } from '../../semantic/day-end.ts';
import type { ResponseCache } from '../response-cache.ts';
import type { SemanticModel } from '../../semantic/semantic-model.ts';
import type { WarehouseReader } from '../../semantic/warehouse-reader.ts';

/**
 * The routes' side of the front cache (semantic/response-cache.ts): the key of a request, serving
 * an entry's bytes, and storing a freshly computed answer. Runs inside the handler, so the
 * authentication hook and the rate limit have already passed the request.
 */
export interface FrontCache {
  cache: ResponseCache;
  warehouse: WarehouseReader;
  model(): Promise<SemanticModel>;
  defaultTimezone: string;
}

/** What a stored answer is checked against: the data version and model it was computed on. */
export interface FrontTicket {
  key: string;
  dataVersion: string | undefined;
  model: SemanticModel;
}

export const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Method, URL (route and raw query string), the body as parsed JSON for POST, the verified claims
 * and the default time zone: everything in the request that can change the answer.
 */
export function frontKey(request: FastifyRequest, claims: Record<string, unknown>, defaultTimezone: string): string {
  const body = request.method === 'GET' || request.body === undefined ? '' : JSON.stringify(request.body);
  return `${request.method} ${request.url}\n${defaultTimezone}\n${claimsKey(claims)}\n${body}`;
}

/** Sends the cached answer when there is a valid one (true), else returns the ticket to store the answer under. */
export async function serveFromFront(
  front: FrontCache,
  request: FastifyRequest,
  reply: FastifyReply,
  claims: Record<string, unknown>,
): Promise<FrontTicket | true> {
  const started = performance.now();
  const key = frontKey(request, claims, front.defaultTimezone);
  const model = await front.model();
  const dataVersion = front.warehouse.dataVersion();
  const entry = front.cache.get(key, dataVersion, model);
  if (!entry) return { key, dataVersion, model };
  reply.headers(entry.headers);
  if ('x-crm-cache' in entry.headers) reply.header('x-crm-query-ms', (performance.now() - started).toFixed(1));
  reply.type(JSON_TYPE).send(entry.body);
  return true;
}

/**
 * Serialises the answer as Fastify would (JSON.stringify), sends it and keeps the bytes, unless
 * a new version was published meanwhile. `hitHeaders` are what a hit sends (x-crm-cache: hit, ...);
 * the entry expires after the cache's TTL or at the end of the day in any of `timezones`.
 */
export function sendAndStore(
  front: FrontCache,
  ticket: FrontTicket,
  reply: FastifyReply,
  answer: unknown,
  timezones: readonly string[],
  hitHeaders: Record<string, string>,
): FastifyReply {
  return sendAndStoreJson(front, ticket, reply, JSON.stringify(answer), timezones, hitHeaders);
}

/** sendAndStore() of an answer already serialised (JSON text). */
export function sendAndStoreJson(
  front: FrontCache,
  ticket: FrontTicket,
  reply: FastifyReply,
  json: string,
  timezones: readonly string[],
  hitHeaders: Record<string, string>,
): FastifyReply {
  const body = Buffer.from(json);
  const now = front.cache.now();
  if (ticket.dataVersion !== undefined && front.warehouse.dataVersion() === ticket.dataVersion) {
    let expiresAt = now + front.cache.ttlMs;
    try {
      for (const zone of new Set(timezones)) expiresAt = Math.min(expiresAt, endOfLocalDay(now, zone));
      front.cache.set(ticket.key, { body, headers: hitHeaders, dataVersion: ticket.dataVersion, model: ticket.model, expiresAt });
    } catch {
      // not a zone Intl knows: the answer is sent, not kept
    }
  }
  return reply.type(JSON_TYPE).send(body);
}

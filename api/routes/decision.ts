import rateLimit from '@fastify/rate-limit';
import type { FastifyError, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { ApiError } from '../../shared/errors.ts';
import { internalError } from '../internal-error.ts';
import { authenticate, requireRole, type Caller, type Role } from '../decision/caller.ts';
import { exportList, listPage, segmentList, triggerList } from '../decision/campaign-lists.ts';
import { customer360, type LookupReads } from '../decision/customer-360.ts';
import { CustomerStore } from '../decision/customer-store.ts';
import { kpiScorecard } from '../decision/kpi-scorecard.ts';
import { openApiDocument, type RouteDoc } from '../decision/openapi.ts';
import { pipelineStatus } from '../decision/pipeline-status.ts';
import {
  CustomerLookupQuery,
  CustomerLookupResponse,
  ListPageResponse,
  PipelineStatusQuery,
  PipelineStatusResponse,
  ScorecardQuery,
  ScorecardResponse,
  SegmentExportQuery,
  SegmentListQuery,
  TriggerExportQuery,
  TriggerListQuery,
  ValidationError,
  parseInput,
} from '../decision/schemas.ts';
import { cachedReadScope, type ReadScope } from '../decision/read-scope.ts';
import { warehouseDb } from '../decision/warehouse-db.ts';
import type { LoadResponse } from '../../semantic/load-query.ts';
import type { ResponseCache } from '../response-cache.ts';
import type { ResultCache } from '../../semantic/result-cache.ts';
import type { SemanticModel } from '../../semantic/semantic-model.ts';
import type { WarehouseReader } from '../../semantic/warehouse-reader.ts';
import { JSON_TYPE, sendAndStore, sendAndStoreJson, serveFromFront, type FrontCache } from './front-cache.ts';
import { envValue } from '../../shared/env.ts';

/**
 * The decision-support API (mounted at /api/v1): customer 360, campaign lists with streamed
 * exports, the KPI scorecard (through the semantic layer) and pipeline status; its OpenAPI
 * document at /api/v1/openapi.json. JWT roles decide who may call what (401 without a valid
 * token, 403 for a role that may not); each caller has a request limit per minute.
 */
export interface DecisionRouteOptions {
  jwtSecret: string;
  defaultTimezone: string;
  warehouse: WarehouseReader;
  model(): Promise<SemanticModel>;
  cache?: ResultCache<LoadResponse>;
  /** The front cache of whole scorecard answers as sent (absent: none); only used with `cache`. */
  responseCache?: ResponseCache;
  queryTimeoutMs?: number;
  /** Requests per caller per minute; default CRM_API_RATE_LIMIT or 600. */
  rateLimitPerMinute?: number;
  /** Refuse tokens without `exp` (default true). */
  requireTokenExpiry?: boolean;
  /** Read customer lookups from the customer store once built (default: CRM_API_CUSTOMER_STORE, on). */
  customerStore?: boolean;
}

const READERS: Record<string, readonly Role[]> = {
  status: ['engineer', 'analyst', 'executive'],
  customer: ['service_agent', 'marketing', 'analyst'],
  lists: ['marketing', 'service_agent', 'analyst'],
  kpis: ['executive', 'analyst', 'marketing', 'engineer'],
};

export const ROUTES: readonly RouteDoc[] = [
  { method: 'get', path: '/openapi.json', summary: 'This document', roles: 'public' },
  {
    method: 'get',
    path: '/pipeline/status',
    summary: 'Last pipeline runs and the freshness of each source and mart',
    roles: READERS.status!,
    query: PipelineStatusQuery,
    response: PipelineStatusResponse,
  },
  {
    method: 'get',
    path: '/customers/lookup',
    summary:
      'Customer 360 by customer key, e-mail, phone, WeChat or QQ id (normalised); contact points masked unless the role may see them',
    roles: READERS.customer!,
    query: CustomerLookupQuery,
    response: CustomerLookupResponse,
  },
  {
    method: 'get',
    path: '/lists/triggers',
    summary: 'Campaign triggers (retain, follow up, cross-sell, service recovery), contactable customers only, each with its reason',
    roles: READERS.lists!,
    query: TriggerListQuery,
    response: ListPageResponse,
  },
  {
    method: 'get',
    path: '/lists/triggers/export',
    summary: 'The whole trigger list, streamed as CSV or NDJSON',
    roles: READERS.lists!,
    query: TriggerExportQuery,
    produces: ['text/csv', 'application/x-ndjson'],
  },
  {
    method: 'get',
    path: '/lists/segments',
    summary: 'Customers of an RFM segment, contactable only, each with its reason',
    roles: READERS.lists!,
    query: SegmentListQuery,
    response: ListPageResponse,
  },
  {
    method: 'get',
    path: '/lists/segments/export',
    summary: 'The whole segment list, streamed as CSV or NDJSON',
    roles: READERS.lists!,
    query: SegmentExportQuery,
    produces: ['text/csv', 'application/x-ndjson'],
  },
  {
    method: 'get',
    path: '/kpis/scorecard',
    summary: 'KPIs for a period with the previous period and the change, from the semantic layer',
    roles: READERS.kpis!,
    query: ScorecardQuery,
    response: ScorecardResponse,
  },
];

const callers = new WeakMap<FastifyRequest, Caller>();

export const decisionRoutes: FastifyPluginAsync<DecisionRouteOptions> = async (app, options) => {
  const db = warehouseDb(options.warehouse, options.queryTimeoutMs ?? 0);
  const customers =
    (options.customerStore ?? envValue('CRM_API_CUSTOMER_STORE') !== 'off')
      ? new CustomerStore(options.warehouse, db, options.model, {
          log: (level, message, detail) => app.log[level](detail ?? {}, message),
        })
      : undefined;
  if (customers) app.addHook('onClose', async () => customers.close());
  const perMinute = options.rateLimitPerMinute ?? Number(envValue('CRM_API_RATE_LIMIT') ?? 600);
  const document = openApiDocument(ROUTES, app.prefix);

  app.setErrorHandler((error: FastifyError | ValidationError | ApiError, request, reply) => {
    if (error instanceof ValidationError) return reply.code(400).send({ error: error.message, issues: error.issues });
    const status = (error as { statusCode?: number }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) return reply.code(status).send({ error: error.message });
    if (error instanceof ApiError && error.statusCode !== 500) return reply.code(error.statusCode).send({ error: error.message });
    return internalError(request, reply, error);
  });

  // Who is calling, before the limit counts them (the limit is per caller, not per address).
  app.addHook('onRequest', async (request) => {
    if (request.url.split('?')[0] === `${app.prefix}/openapi.json`) return;
    callers.set(request, await authenticate(request, options.jwtSecret, { requireExpiry: options.requireTokenExpiry ?? true }));
  });
  await app.register(rateLimit, {
    max: perMinute,
    timeWindow: 60_000,
    hook: 'preHandler',
    keyGenerator: (request) => callers.get(request)?.id ?? request.ip,
    // What this returns is thrown, so the plugin's error handler answers it like every other error.
    errorResponseBuilder: (_request, context) =>
      new ApiError(
        429,
        `Too many requests: the limit is ${context.max} per caller per minute; retry in ${Math.ceil(context.ttl / 1000)} s`,
      ) as unknown as object,
  });
  const callerOf = (request: FastifyRequest, roles: readonly Role[], what: string) => {
    const caller = callers.get(request)!;
    requireRole(caller, roles, what);
    return caller;
  };
  /** What this caller may read of each table: the semantic model's access policies, on every endpoint. */
  const scopeOf = async (caller: Caller): Promise<ReadScope> => cachedReadScope(await options.model(), caller.access);

  app.get('/openapi.json', { config: { rateLimit: false } }, async () => document);

  app.get('/pipeline/status', async (request) => {
    const caller = callerOf(request, READERS.status!, 'Pipeline status');
    const query = parseInput(PipelineStatusQuery, request.query);
    return PipelineStatusResponse.parse(await pipelineStatus(db, query.limit, await scopeOf(caller)));
  });

  const front: FrontCache | undefined =
    options.cache && options.responseCache
      ? { cache: options.responseCache, warehouse: options.warehouse, model: options.model, defaultTimezone: options.defaultTimezone }
      : undefined;

  app.get('/customers/lookup', async (request, reply) => {
    const caller = callerOf(request, READERS.customer!, 'Customer lookup');
    // A published file never changes, so a customer's answer holds until the next publish (or the
    // TTL): an agent's repeated lookups of the customer on the line are served from the front.
    const ticket = front ? await serveFromFront(front, request, reply, caller.access) : undefined;
    if (ticket === true) return reply;
    const query = parseInput(CustomerLookupQuery, request.query);
    const reads: LookupReads = { store: 0, warehouse: 0 };
    // customer360 gives the answer as JSON text, assembled from the rows' stored JSON: sent as is,
    // neither parsed nor serialised again (every field of the contract is one it must write, checked
    // when compiling; the tests parse the answers of both read paths with the schema).
    const answer = await customer360(db, query, await scopeOf(caller), customers?.current(), reads);
    // Where the parts came from: "store" when every part was read from the customer store.
    reply.header('x-crm-read', reads.warehouse === 0 && reads.store > 0 ? 'store' : 'warehouse');
    if (!front || !ticket) return reply.type(JSON_TYPE).send(answer);
    reply.header('x-crm-cache', 'miss');
    return sendAndStoreJson(front, ticket, reply, answer, [], { 'x-crm-cache': 'hit' });
  });

  const lists = [
    { path: '/lists/triggers', schema: TriggerListQuery, exportSchema: TriggerExportQuery, build: triggerList, what: 'The trigger list' },
    { path: '/lists/segments', schema: SegmentListQuery, exportSchema: SegmentExportQuery, build: segmentList, what: 'The segment list' },
  ] as const;
  type AnyFilter = Parameters<typeof triggerList>[1] & Parameters<typeof segmentList>[1];
  for (const list of lists) {
    app.get(list.path, async (request) => {
      const caller = callerOf(request, READERS.lists!, list.what);
      const { limit, offset, ...filter } = parseInput(list.schema, request.query);
      return ListPageResponse.parse(await listPage(await list.build(db, filter as AnyFilter, await scopeOf(caller)), limit, offset));
    });
    app.get(`${list.path}/export`, async (request, reply) => {
      const caller = callerOf(request, READERS.lists!, list.what);
      const { format, ...filter } = parseInput(list.exportSchema, request.query);
      const built = await list.build(db, filter as AnyFilter, await scopeOf(caller));
      const name = list.path.split('/').pop();
      // A stream has no body field to say so: withheld columns are named in a header.
      if (built.withheld.length) reply.header('x-withheld-columns', built.withheld.map((w) => w.columns.join(' ')).join(' '));
      reply
        .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}.${format === 'csv' ? 'csv' : 'ndjson'}"`);
      return reply.send(exportList(built, format));
    });
  }

  app.get('/kpis/scorecard', async (request, reply) => {
    const caller = callerOf(request, READERS.kpis!, 'The KPI scorecard');
    // After the role check and the rate limit: the answer as sent before to these claims, if still valid.
    const ticket = front ? await serveFromFront(front, request, reply, caller.access) : undefined;
    if (ticket === true) return reply;
    const asked = parseInput(ScorecardQuery, request.query);
    const query = { ...asked, timezone: asked.timezone ?? options.defaultTimezone };
    const answer = ScorecardResponse.parse(
      await kpiScorecard(query, {
        model: await options.model(),
        warehouse: options.warehouse,
        securityContext: caller.access,
        defaultTimezone: options.defaultTimezone,
        ...(options.cache ? { cache: options.cache } : {}),
        ...(options.queryTimeoutMs ? { queryTimeoutMs: options.queryTimeoutMs } : {}),
      }),
    );
    return front && ticket ? sendAndStore(front, ticket, reply, answer, [query.timezone], {}) : answer;
  });
};
